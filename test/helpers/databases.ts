/**
 * Fresh, migrated databases for tests: an in-memory PGlite, or a throw-away schema on the real
 * PostgreSQL server (dropped again by `close`).
 */
import { randomBytes } from 'node:crypto';
import {
  createPgDriver,
  createPgliteDriver,
  type SqlDriver,
} from '../../src/adapters/postgres/driver.js';
import { migrate } from '../../src/adapters/postgres/migrate.js';
import { SERVICE_URLS } from './services.js';

export interface TestDb {
  driver: SqlDriver;
  close(): Promise<void>;
}

export async function freshPglite(): Promise<TestDb> {
  const driver = await createPgliteDriver({});
  await migrate(driver);
  return { driver, close: () => driver.close() };
}

export async function freshPostgresSchema(): Promise<TestDb & { schema: string }> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = createPgDriver({ connectionString: SERVICE_URLS.postgres, maxConnections: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  const driver = createPgDriver({ connectionString: SERVICE_URLS.postgres, schema });
  await migrate(driver);
  return {
    driver,
    schema,
    async close() {
      await driver.close();
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
}
