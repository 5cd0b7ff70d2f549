import { createMemoryProfileStore } from '../../src/adapters/memory/profile-store.js';
import { profileStoreContract } from './profile-store.contract.js';

profileStoreContract('memory', async () => ({
  store: createMemoryProfileStore(),
  close: async () => undefined,
}));
