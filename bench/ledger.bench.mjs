/**
 * ledger: what the hourly report rollup trigger (migration 004, docs/decisions/0010) costs the
 * ledger's inserts. Same run, same PostgreSQL server, two throw-away schemas migrated alike;
 * in the baseline schema the trigger `ledger_events_report_rollup` is dropped. Each round
 * records ROWS events through PgLedger (its group commit turns concurrent calls into multi-row
 * INSERTs, as the ledger writer does) into both schemas, alternating which goes first; rows/s
 * is the median over ROUNDS. Events spread over 20 campaigns × 3 creatives × 4 hours.
 *
 * Env: BENCH_LEDGER_DATABASE_URL (postgres://postgres@127.0.0.1:5432/test),
 * BENCH_LEDGER_ROWS (20,000), BENCH_LEDGER_ROUNDS (3). Needs `npm run build` (reads dist/).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { envNumber, median, round } from './lib/util.mjs';

export const name = 'ledger';
export const description =
  'Ledger inserts (PgLedger group commit) with and without the report rollup trigger';
export const timeoutMs = 3 * 60_000;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const URL_ = process.env.BENCH_LEDGER_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROWS = envNumber('BENCH_LEDGER_ROWS', 20_000, { integer: true });
const ROUNDS = envNumber('BENCH_LEDGER_ROUNDS', 3, { integer: true });

async function load(rel) {
  const file = path.join(root, 'dist', rel);
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build first`);
  return import(pathToFileURL(file).href);
}

function events(round, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const click = i % 50 === 0;
    out.push({
      event_key: `${click ? 'click' : 'impression'}:b${round}-${i}`,
      kind: click ? 'click' : 'impression',
      decision_id: `b${round}-${i}`,
      advertiser_id: `adv_${i % 5}`,
      campaign_id: `cmp_${i % 20}`,
      creative_id: `cre_${i % 3}`,
      placement_id: 'plc_1',
      spend_micros: click ? 0 : 1500,
      occurred_at: new Date(Date.UTC(2026, 5, 1, 10 + (i % 4), i % 60)).toISOString(),
    });
  }
  return out;
}

export async function run({ signal, log }) {
  const { createPgDriver } = await load('adapters/postgres/driver.js');
  const { migrate } = await load('adapters/postgres/migrate.js');
  const { createPgLedger } = await load('adapters/postgres/ledger.js');
  const admin = createPgDriver({ connectionString: URL_, maxConnections: 1 });
  const schemas = {
    with_trigger: `bench_${randomBytes(5).toString('hex')}`,
    baseline: `bench_${randomBytes(5).toString('hex')}`,
  };
  const drivers = {};
  try {
    for (const [k, schema] of Object.entries(schemas)) {
      await admin.exec(`CREATE SCHEMA ${schema}`);
      drivers[k] = createPgDriver({ connectionString: URL_, schema });
      await migrate(drivers[k]);
    }
    await drivers.baseline.exec('DROP TRIGGER ledger_events_report_rollup ON ledger_events');
    const rates = { with_trigger: [], baseline: [] };
    for (let r = 0; r < ROUNDS && !signal.aborted; r++) {
      const order = r % 2 === 0 ? ['baseline', 'with_trigger'] : ['with_trigger', 'baseline'];
      for (const k of order) {
        const ledger = createPgLedger(drivers[k]);
        const evs = events(r, ROWS);
        const t0 = performance.now();
        await Promise.all(evs.map((e) => ledger.record(e)));
        const s = (performance.now() - t0) / 1000;
        await ledger.close();
        rates[k].push(ROWS / s);
        log(`round ${r + 1} ${k}: ${round(ROWS / s, 0)} rows/s`);
      }
    }
    const [check] = await drivers.with_trigger.query(
      'SELECT sum(impressions + clicks)::int AS n FROM report_hourly',
    );
    const withTrigger = median(rates.with_trigger);
    const baseline = median(rates.baseline);
    return {
      rows_per_round: ROWS,
      rounds: ROUNDS,
      baseline_rows_per_s: round(baseline, 0),
      with_trigger_rows_per_s: round(withTrigger, 0),
      ratio: round(withTrigger / baseline, 3),
      report_rows_counted: check?.n ?? 0,
      ledger_rows_written: ROWS * rates.with_trigger.length,
    };
  } finally {
    for (const d of Object.values(drivers)) await d.close().catch(() => undefined);
    for (const schema of Object.values(schemas)) {
      await admin.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    }
    await admin.close();
  }
}

export function table(r) {
  return {
    rows: [
      ['baseline (no trigger) rows/s', r.baseline_rows_per_s],
      ['with rollup trigger rows/s', r.with_trigger_rows_per_s],
      ['ratio', r.ratio],
      ['rows counted in report / written', `${r.report_rows_counted} / ${r.ledger_rows_written}`],
    ],
  };
}
