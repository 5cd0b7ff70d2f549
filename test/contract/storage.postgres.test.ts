import { describe } from 'vitest';
import { PgCampaignStore } from '../../src/adapters/postgres/campaign-store.js';
import { PgLedger } from '../../src/adapters/postgres/ledger.js';
import { freshPostgresSchema } from '../helpers/databases.js';
import { requireService } from '../helpers/services.js';
import { campaignStoreContract } from './campaign-store.contract.js';
import { ledgerContract } from './ledger.contract.js';

const available = await requireService('postgres');

describe.skipIf(!available)('PostgreSQL adapters', () => {
  campaignStoreContract('PostgreSQL (pg)', async () => {
    const db = await freshPostgresSchema();
    return { store: new PgCampaignStore(db.driver), close: () => db.close() };
  });

  ledgerContract('PostgreSQL (pg)', async () => {
    const db = await freshPostgresSchema();
    const ledger = new PgLedger(db.driver);
    return {
      ledger,
      another: () => new PgLedger(db.driver),
      exec: (sql) => db.driver.exec(sql),
      close: async () => {
        await ledger.close();
        await db.close();
      },
    };
  });
});
