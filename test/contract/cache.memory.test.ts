import { createMemoryRemoteCache } from '../../src/adapters/memory/remote-cache.js';
import { remoteCacheContract } from './cache.contract.js';

remoteCacheContract('in-process (memory)', async () => ({
  cache: createMemoryRemoteCache(),
  close: async () => undefined,
}));
