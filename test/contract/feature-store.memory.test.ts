import { createMemoryFeatureStore } from '../../src/adapters/memory/feature-store.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { featureStoreContract } from './feature-store.contract.js';

featureStoreContract('memory', async () => {
  const clock = new FakeClock();
  return {
    store: createMemoryFeatureStore({ clock }),
    elapse: async (ms) => clock.advance(ms),
    close: async () => undefined,
  };
});
