import { PgCampaignStore } from '../../src/adapters/postgres/campaign-store.js';
import { PgLedger } from '../../src/adapters/postgres/ledger.js';
import { freshPglite } from '../helpers/databases.js';
import { campaignStoreContract } from './campaign-store.contract.js';
import { ledgerContract } from './ledger.contract.js';

campaignStoreContract('PGlite (embedded)', async () => {
  const db = await freshPglite();
  return { store: new PgCampaignStore(db.driver), close: () => db.close() };
});

ledgerContract('PGlite (embedded)', async () => {
  const db = await freshPglite();
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
