import { createMemoryFrequencyCounters } from '../../src/adapters/memory/frequency-counters.js';
import { frequencyCountersContract } from './frequency-counters.contract.js';

frequencyCountersContract('in-process (memory)', async () => ({
  counters: createMemoryFrequencyCounters(),
  close: async () => undefined,
}));
