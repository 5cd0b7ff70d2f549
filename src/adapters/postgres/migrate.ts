/**
 * Forward-only SQL migrations from ./migrations/NNN_name.sql, applied in file-name order.
 *
 * Each migration runs as ONE multi-statement simple query with no explicit BEGIN/COMMIT, which
 * PostgreSQL executes as a single implicit transaction: either all of it and its row in
 * schema_migrations commit, or nothing does. The row is inserted first, so when two processes
 * migrate at once the second blocks on the primary key, then fails with a unique violation,
 * which means "already applied".
 */
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { sqlState, type SqlDriver } from './driver.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface MigrationResult {
  applied: string[];
  skipped: string[];
}

export async function migrate(db: SqlDriver): Promise<MigrationResult> {
  try {
    await db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
  } catch (e) {
    // A concurrent CREATE TABLE IF NOT EXISTS can still collide on the catalog; the table exists.
    if (sqlState(e) !== '23505' && sqlState(e) !== '42P07') throw e;
  }
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d+_[\w-]+\.sql$/.test(f)).sort();
  const done = new Set(
    (await db.query<{ version: string }>('SELECT version FROM schema_migrations')).map(
      (r) => r.version,
    ),
  );
  const result: MigrationResult = { applied: [], skipped: [] };
  for (const file of files) {
    const version = file.replace(/\.sql$/, '');
    if (done.has(version)) {
      result.skipped.push(version);
      continue;
    }
    const sql = await readFile(MIGRATIONS_DIR + file, 'utf8');
    try {
      await db.exec(`INSERT INTO schema_migrations (version) VALUES ('${version}');\n${sql}`);
      result.applied.push(version);
    } catch (e) {
      if (sqlState(e) === '23505') result.skipped.push(version);
      else throw new Error(`migration ${file} failed: ${(e as Error).message}`, { cause: e });
    }
  }
  return result;
}
