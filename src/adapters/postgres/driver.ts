/**
 * Two SQL drivers behind one tiny interface, so every SQL file and query in this folder runs
 * unchanged on PostgreSQL (`pg`) and on PGlite (embedded PostgreSQL compiled to WASM).
 *
 * PGlite notes, measured here: 5–7 s to start on a new data folder and under 1 s on an existing
 * one; memory grows with data and is not given back; single-row inserts ~2.7k/s vs ~45k/s for
 * multi-row inserts. Hence the ledger's group commit (ledger.ts) and the volume limits in
 * docs/operations.md. PGlite serves one query at a time; `pg` uses a pool.
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

export interface SqlDriver {
  readonly kind: 'pg' | 'pglite';
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** Runs a script of several statements (no parameters). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

export interface PgDriverOptions {
  connectionString: string;
  maxConnections?: number;
  /** Schema to use instead of `public` (tests isolate themselves this way). */
  schema?: string;
}

export function createPgDriver(opts: PgDriverOptions): SqlDriver {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.maxConnections ?? 10,
    ...(opts.schema !== undefined ? { options: `-c search_path=${opts.schema}` } : {}),
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener
  // that would crash the process. The next query gets a fresh connection.
  pool.on('error', () => undefined);
  return {
    kind: 'pg',
    async query<R>(text: string, params?: unknown[]) {
      const res = await pool.query(text, params);
      return res.rows as R[];
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async close() {
      await pool.end();
    },
  };
}

export interface PgliteDriverOptions {
  /** Folder for the database files; omitted = in memory (tests). */
  dataDir?: string;
}

export async function createPgliteDriver(opts: PgliteDriverOptions): Promise<SqlDriver> {
  const db = opts.dataDir !== undefined ? new PGlite(opts.dataDir) : new PGlite();
  await db.waitReady;
  return {
    kind: 'pglite',
    async query<R>(text: string, params?: unknown[]) {
      const res = await db.query<R>(text, params);
      return res.rows;
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
    async close() {
      await db.close();
    },
  };
}

/** SQLSTATE of a driver error, if any (both drivers expose `code`). */
export function sqlState(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const code = (e as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** int8 columns come back as strings from `pg` and numbers from PGlite. */
export function toSafeInt(v: unknown): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`integer column out of safe range: ${String(v)}`);
  return n;
}
