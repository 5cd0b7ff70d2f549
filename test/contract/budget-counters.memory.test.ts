import { createMemoryBudgetCounters } from '../../src/adapters/memory/budget-counters.js';
import { budgetCountersContract } from './budget-counters.contract.js';

budgetCountersContract('in-process (memory)', async () => {
  const counters = createMemoryBudgetCounters();
  return { counters, other: counters, close: async () => undefined };
});
