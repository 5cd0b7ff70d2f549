/**
 * One ad-server process of the `pacing` benchmark (bench/pacing.bench.mjs), started with
 * child_process.fork and killed with SIGKILL by it. It runs the real BudgetManager on Redis
 * budget counters (the benchmark's private redis-server) with the lease log, rebuild source and
 * ledger in PostgreSQL (a private schema), and the real EventService for impressions, exactly
 * as src/wiring/runtime.ts wires them; only the HTTP layer and the rest of the decision
 * (targeting, auction) are left out: every opportunity the parent sends is one eligible
 * auction of one campaign, won at the campaign's CPM bid if budgets and pacing allow.
 *
 * Clock: simulated and shared by every process — simStart + (now − realStart) × speed — so a
 * day passes in the benchmark's run time (BudgetManager, tokens and the ledger all read it).
 *
 * Messages (IPC): in `{t:'opps', id, list:[campaign index…]}` → out `{t:'served', id,
 * served:[[index, decision id, token]…]}`; in `{t:'imp', id, token}` → out `{t:'ack', id, ok,
 * inserted?, code?}`; in `{t:'close'}` → leases returned, `{t:'closed', stats}`, exit.
 * Config: JSON in PACING_WORKER_CONFIG (see the benchmark).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const cfg = JSON.parse(process.env.PACING_WORKER_CONFIG ?? '{}');
const load = (p) => import(pathToFileURL(path.join(cfg.root, 'dist', p)).href);

const { Redis } = await import('ioredis');
const { createRedisBudgetCounters } = await load('adapters/redis/budget-counters.js');
const { createPgDriver } = await load('adapters/postgres/driver.js');
const { createPgLedger } = await load('adapters/postgres/ledger.js');
const { createPgBudgetLedger } = await load('adapters/postgres/budget-ledger.js');
const { createMemoryFrequencyCounters } = await load('adapters/memory/frequency-counters.js');
const { BudgetManager } = await load('exchange/budget.js');
const { applyBudgets } = await load('exchange/decision.js');
const { EventService } = await load('exchange/events.js');
const { TrackingSigner } = await load('exchange/tracking.js');
const { ledgerRebuildSource } = await load('wiring/budget.js');

const simNow = () => cfg.simStartMs + Math.max(0, Date.now() - cfg.realStartMs) * cfg.speed;
const clock = { nowMs: simNow, monotonicMs: simNow };
const campaigns = JSON.parse(readFileSync(cfg.campaignsFile, 'utf8'));
const serverId = `w${cfg.index}:${process.pid}`;

// Fail fast while Redis is down (no offline queue): the caller fails closed / answers 503.
const redis = new Redis({
  host: '127.0.0.1',
  port: cfg.redisPort,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  enableAutoPipelining: true,
  retryStrategy: () => 50,
});
redis.on('error', () => undefined);
const redisCounters = createRedisBudgetCounters(redis, { keyPrefix: cfg.keyPrefix });
// The real counters; restores are reported to the benchmark (what a Redis restart holds back).
const counters = Object.assign(Object.create(redisCounters), {
  restore: async (req) => {
    const r = await redisCounters.restore(req);
    if (r === 'restored') {
      const open = (req.openLeases ?? []).reduce((a, l) => a + l.micros, 0);
      process.send({
        t: 'restored',
        heldMicros: req.heldMicros + open,
        spentMicros: req.spentMicros,
      });
    }
    return r;
  },
});
const driver = createPgDriver({
  connectionString: cfg.pgUrl,
  schema: cfg.schema,
  maxConnections: 4,
});
const ledger = createPgLedger(driver);
const budgetLedger = createPgBudgetLedger(driver);
const signer = new TrackingSigner(cfg.secret);

const stats = { errors: {}, messages: {}, reasons: {}, decisions: 0, served: 0 };
const leaseWrites = new Set();
const budgets = new BudgetManager({
  counters,
  clock,
  serverId,
  trackingTtlMs: cfg.trackingTtlMs,
  servers: cfg.servers,
  leaseServeWindowMs: cfg.serveWindowMs,
  rebuild: ledgerRebuildSource(budgetLedger, clock),
  onError: (e, what) => {
    stats.errors[what] = (stats.errors[what] ?? 0) + 1;
    stats.messages[what] ??= String(e?.message ?? e).slice(0, 200);
  },
  // As in src/wiring/runtime.ts: a grant serves once its lease-log row is written.
  onLease: (e) => {
    const write = budgetLedger.recordLease({
      ...e,
      expiresAtMs: e.kind === 'grant' ? e.expiresAtMs : null,
    });
    const w = write
      .catch(() => {
        stats.errors['lease log'] = (stats.errors['lease log'] ?? 0) + 1;
      })
      .finally(() => leaseWrites.delete(w));
    leaseWrites.add(w);
    return e.kind === 'grant' ? write : undefined;
  },
});
const events = new EventService({
  ledger,
  signer,
  clock,
  frequency: createMemoryFrequencyCounters(),
  budgets: { counters, manager: budgets },
});

await budgets.sync(campaigns).catch(() => undefined);
let ticking = false;
const monitor = setInterval(() => {
  if (ticking) return;
  ticking = true;
  void budgets.tick().finally(() => {
    ticking = false;
  });
}, cfg.tickRealMs);

let seq = 0;
/** The decision's budget step (applyBudgets, as in decision.ts) and winner reservation. */
async function decide(list) {
  const served = [];
  for (const ci of list) {
    const c = campaigns[ci];
    const now = clock.nowMs();
    // One simulated day: a request still queued here after midnight is not served (it would
    // be served from the next day's budget, which the benchmark does not measure).
    if (now >= cfg.simStartMs + 86_400_000) {
      stats.reasons.after_day = (stats.reasons.after_day ?? 0) + 1;
      continue;
    }
    stats.decisions++;
    const passed = await applyBudgets(budgets, [{ campaign: c }], now, stats.reasons, null);
    if (passed.length === 0) continue;
    const d = `${serverId}:${seq++}`;
    const exp = now + cfg.trackingTtlMs;
    const r = budgets.reserve(c, d, Math.round(c.bid_micros / 1000), exp);
    if (r === null) {
      stats.reasons.reserve_failed = (stats.reasons.reserve_failed ?? 0) + 1;
      continue;
    }
    const token = signer.sign({
      v: 1,
      k: 'imp',
      d,
      a: c.advertiser_id,
      c: c.id,
      cr: 'cr_pacing_bench',
      p: 'pl_pacing_bench',
      m: 'cpm',
      pr: c.bid_micros,
      exp,
      bl: r.leases,
    });
    served.push([ci, d, token]);
    stats.served++;
  }
  return served;
}

let decisions = Promise.resolve();
process.on('message', (m) => {
  if (m.t === 'opps') {
    // One batch at a time, in order (a batch may wait for a campaign's lease setup).
    decisions = decisions.then(async () => {
      process.send({ t: 'served', id: m.id, served: await decide(m.list) });
    });
  } else if (m.t === 'imp') {
    events.impression(m.token).then(
      (r) => process.send({ t: 'ack', id: m.id, ok: true, inserted: r.inserted }),
      (e) => process.send({ t: 'ack', id: m.id, ok: false, code: e?.code ?? 'ERROR' }),
    );
  } else if (m.t === 'close') {
    clearInterval(monitor);
    void (async () => {
      await budgets.close().catch(() => undefined);
      while (leaseWrites.size > 0) await Promise.allSettled([...leaseWrites]);
      await ledger.close().catch(() => undefined);
      await driver.close().catch(() => undefined);
      redis.disconnect();
      stats.exposureOverrunMicros = budgets.exposureOverrunMicros;
      process.send({ t: 'closed', stats }, () => process.exit(0));
    })();
  }
});
process.send({ t: 'ready' });
