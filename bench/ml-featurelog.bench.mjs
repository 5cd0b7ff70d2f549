/**
 * ml-featurelog: what logging each fill's model input (the decision feature log, issue 5:
 * training from the ledger without skew) costs one decision, in process (no HTTP), against the
 * same DecisionService without the log, in the same run.
 *
 *   off  decide(req) without a feature log
 *   queue    decide(req) with a log that queues like the real one and, at flush, serializes
 *            every queued input (the adapter's JSON work) and discards it: the cost this
 *            thread pays without any database work
 *   pglite   decide(req) with the feature log (`createPgDecisionFeatureLog`) on in-memory
 *            PGlite: per fill one `candidateInput` for the winner and a push onto the queue; the
 *            queue is written in batches of 500 (JSON and the embedded database's inserts run
 *            on this thread, between decisions, and are included in the time)
 *   postgres the same log on PostgreSQL (BENCH_FLOG_PG_URL, default the local test server;
 *            a throw-away schema, dropped at the end): the inserts run in the server process,
 *            this thread pays the queue, the JSON and the driver; skipped if unreachable
 *
 * Data: the demo data set and `DEMO_REQUEST` (one winner, priors, no model).
 * Method: ROUNDS rounds; each round runs one batch of each variant back to back (order rotated),
 * BATCH decisions each; after an "on" batch the log is flushed inside the timed section, so the
 * writes are paid for. Reported: median µs per decision over rounds, and the median of the
 * per-round ratios on/off. Needs `npm run build` (the runner does it).
 *
 * Env: BENCH_FLOG_ROUNDS (15), BENCH_FLOG_BATCH (2000), BENCH_FLOG_PG_URL
 * (postgres://postgres@127.0.0.1:5432/test).
 */
import { demoDecisionSetup, loadDist } from './lib/demo-decisions.mjs';
import { envNumber, median, round } from './lib/util.mjs';

export const name = 'ml-featurelog';
export const description =
  'decide() with the decision feature log on vs off, same run, in process (PGlite)';
export const timeoutMs = 3 * 60_000;

const ROUNDS = envNumber('BENCH_FLOG_ROUNDS', 15, { integer: true });
const BATCH = envNumber('BENCH_FLOG_BATCH', 2000, { integer: true });
const PG_URL = process.env.BENCH_FLOG_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function run({ signal, log }) {
  const { createPgDecisionFeatureLog } = await loadDist('adapters/postgres/decision-features.js');
  const { createPgDriver } = await loadDist('adapters/postgres/driver.js');
  const { migrate } = await loadDist('adapters/postgres/migrate.js');
  const { encodeCtrInput } = await loadDist('core/features/logged.js');

  const { storage, deps, DecisionService, DEMO_REQUEST } = await demoDecisionSetup();
  const schema = `bench_flog_${process.pid}`;
  let pg = null;
  try {
    const admin = createPgDriver({ connectionString: PG_URL, maxConnections: 1 });
    try {
      await admin.exec(`CREATE SCHEMA ${schema}`);
      pg = createPgDriver({ connectionString: PG_URL, schema, maxConnections: 2 });
      await migrate(pg);
    } catch (e) {
      log(`PostgreSQL at ${PG_URL} not usable (${e.message}): the postgres variant is skipped`);
      pg = null;
    } finally {
      await admin.close();
    }
    const logs = {
      queue: jsonOnlyLog(encodeCtrInput),
      pglite: createPgDecisionFeatureLog(storage.driver, { maxPending: 1_000_000 }),
    };
    if (pg !== null) logs.postgres = createPgDecisionFeatureLog(pg, { maxPending: 1_000_000 });
    const req = DEMO_REQUEST;
    const batch = async (svc, featureLog) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < BATCH; i++) {
        const d = await svc.decide(req);
        if (d.kind !== 'fill') throw new Error(`the demo request should fill: ${d.kind}`);
      }
      if (featureLog !== null) await featureLog.flush();
      return Number(process.hrtime.bigint() - t0) / 1000 / BATCH; // µs per decision
    };
    const off = new DecisionService(deps);
    const variants = { off: () => batch(off, null) };
    for (const [k, featureLog] of Object.entries(logs)) {
      const svc = new DecisionService({ ...deps, featureLog });
      variants[k] = () => batch(svc, featureLog);
    }
    const names = Object.keys(variants);
    for (const n of names) await variants[n](); // warm-up
    const us = Object.fromEntries(names.map((n) => [n, []]));
    const ratios = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < ROUNDS && !signal.aborted; r++) {
      const order = names.map((_, i) => names[(i + r) % names.length]);
      const got = {};
      for (const n of order) got[n] = await variants[n]();
      for (const n of names) us[n].push(got[n]);
      for (const n of names) ratios[n].push(got[n] / got.off);
      log(`round ${r + 1}/${ROUNDS}: ${names.map((n) => `${n} ${round(got[n])} µs`).join(', ')}`);
    }
    const out = { rounds: us.off.length, batch: BATCH, variants: {} };
    for (const n of names) {
      const featureLog = logs[n];
      if (featureLog !== undefined) await featureLog.close();
      out.variants[n] = {
        us: round(median(us[n])),
        ratio: round(median(ratios[n]), 3),
        ...(featureLog !== undefined
          ? { written: featureLog.written, dropped: featureLog.dropped }
          : {}),
      };
    }
    return out;
  } finally {
    await storage.driver.close();
    if (pg !== null) {
      await pg.close();
      const admin = createPgDriver({ connectionString: PG_URL, maxConnections: 1 });
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
      await admin.close();
    }
  }
}

/** A feature log that queues, serializes at flush like the adapter, and writes nothing. */
function jsonOnlyLog(encode) {
  let pending = [];
  let written = 0;
  let bytes = 0;
  const flush = async () => {
    for (const r of pending) bytes += encode(r.input).length;
    written += pending.length;
    pending = [];
  };
  return {
    record: (r) => void pending.push(r),
    flush,
    close: flush,
    get written() {
      return written;
    },
    get dropped() {
      return bytes < 0 ? 1 : 0; // keeps the JSON work observable
    },
  };
}

const LABELS = {
  off: 'feature log off',
  queue: 'queue + JSON only (no database)',
  pglite: 'feature log on, PGlite (inserts on this thread)',
  postgres: 'feature log on, PostgreSQL (inserts in the server)',
};

export function table(r) {
  return {
    rows: Object.entries(r.variants).map(([n, v]) => ({
      variant: LABELS[n] ?? n,
      'µs / decision (median)': v.us,
      'vs off (median of round ratios)': v.ratio,
      'written / dropped': v.written === undefined ? '' : `${v.written} / ${v.dropped}`,
    })),
    notes: [`${r.rounds} rounds × ${r.batch} decisions per variant, in process, demo request`],
  };
}
