import { createMemoryEventLog } from '../../src/adapters/memory/event-log.js';
import { eventLogContract } from './event-log.contract.js';

eventLogContract('in-process (memory)', async () => {
  const log = createMemoryEventLog();
  return {
    log,
    // One process holds the in-process log: "another client" is the same log.
    another: async () => log,
    close: () => log.close(),
  };
});
