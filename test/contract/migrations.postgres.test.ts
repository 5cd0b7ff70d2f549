import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createPgDriver } from '../../src/adapters/postgres/driver.js';
import { migrate } from '../../src/adapters/postgres/migrate.js';
import { freshPglite, freshPostgresSchema } from '../helpers/databases.js';
import { requireService, SERVICE_URLS } from '../helpers/services.js';

const available = await requireService('postgres');

/** Every migration in the folder, in order (so adding one does not need this test changed). */
const ALL = readdirSync(new URL('../../src/adapters/postgres/migrations/', import.meta.url))
  .filter((f) => /^\d+_[\w-]+\.sql$/.test(f))
  .map((f) => f.replace(/\.sql$/, ''))
  .sort();

describe('migrations', () => {
  it('re-running on PGlite applies nothing', async () => {
    const db = await freshPglite();
    const again = await migrate(db.driver);
    expect(again.applied).toEqual([]);
    expect(again.skipped).toEqual(ALL);
    expect(ALL.slice(0, 2)).toEqual(['001_domain', '002_ledger']);
    await db.close();
  });

  it.skipIf(!available)(
    'two processes migrating one PostgreSQL schema at once both succeed, once',
    async () => {
      const db = await freshPostgresSchema(); // already migrated: drop back to empty first
      await db.driver.exec(`DROP SCHEMA ${db.schema} CASCADE; CREATE SCHEMA ${db.schema}`);
      const other = createPgDriver({ connectionString: SERVICE_URLS.postgres, schema: db.schema });
      const [a, b] = await Promise.all([migrate(db.driver), migrate(other)]);
      expect([...a.applied, ...b.applied].sort()).toEqual(ALL);
      const rows = await db.driver.query<{ version: string }>(
        'SELECT version FROM schema_migrations ORDER BY 1',
      );
      expect(rows.map((r) => r.version)).toEqual(ALL);
      await other.close();
      await db.close();
    },
  );
});
