import { describe } from 'vitest';
import { createPgProfileStore } from '../../src/adapters/postgres/profile-store.js';
import { freshPostgresSchema } from '../helpers/databases.js';
import { requireService } from '../helpers/services.js';
import { profileStoreContract } from './profile-store.contract.js';

const available = await requireService('postgres');

describe.skipIf(!available)('PostgreSQL profile store', () => {
  profileStoreContract('PostgreSQL', async () => {
    const db = await freshPostgresSchema();
    return { store: createPgProfileStore(db.driver), close: () => db.close() };
  });
});
