import { createPgProfileStore } from '../../src/adapters/postgres/profile-store.js';
import { freshPglite } from '../helpers/databases.js';
import { profileStoreContract } from './profile-store.contract.js';

profileStoreContract('PGlite', async () => {
  const db = await freshPglite();
  return { store: createPgProfileStore(db.driver), close: () => db.close() };
});
