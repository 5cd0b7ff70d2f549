import { describe, expect, it } from 'vitest';
import { createPgDriver } from '../../src/adapters/postgres/driver.js';
import { migrate } from '../../src/adapters/postgres/migrate.js';
import { freshPglite, freshPostgresSchema } from '../helpers/databases.js';
import { requireService, SERVICE_URLS } from '../helpers/services.js';

const available = await requireService('postgres');

describe('migrations', () => {
  it('re-running on PGlite applies nothing', async () => {
    const db = await freshPglite();
    const again = await migrate(db.driver);
    expect(again.applied).toEqual([]);
    expect(again.skipped).toEqual(['001_domain', '002_ledger', '003_budget_leases']);
    await db.close();
  });

  it.skipIf(!available)(
    'two processes migrating one PostgreSQL schema at once both succeed, once',
    async () => {
      const db = await freshPostgresSchema(); // already migrated: drop back to empty first
      await db.driver.exec(
        'DROP TABLE budget_lease_events, ledger_events, api_keys, creatives, campaigns, placements, advertisers, schema_migrations CASCADE; DROP FUNCTION ledger_events_append_only, budget_lease_events_append_only',
      );
      const other = createPgDriver({ connectionString: SERVICE_URLS.postgres, schema: db.schema });
      const [a, b] = await Promise.all([migrate(db.driver), migrate(other)]);
      expect([...a.applied, ...b.applied].sort()).toEqual([
        '001_domain',
        '002_ledger',
        '003_budget_leases',
      ]);
      const rows = await db.driver.query<{ version: string }>(
        'SELECT version FROM schema_migrations ORDER BY 1',
      );
      expect(rows.map((r) => r.version)).toEqual(['001_domain', '002_ledger', '003_budget_leases']);
      await other.close();
      await db.close();
    },
  );
});
