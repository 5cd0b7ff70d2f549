/**
 * budget: what budget leases and pacing (src/exchange/budget.ts, issue 6) cost one decision, in
 * process (no HTTP), against the same DecisionService without a BudgetManager, in the same run.
 *
 *   off  decide(req) on a service without budgets (budgets not enforced)
 *   on   decide(req) on a service with a BudgetManager on in-memory BudgetCounters: per
 *        candidate a synchronous `check` (lease available? pacing throttle), a `reserve` of the
 *        winner's charge from the local lease, and refills in the background when a lease runs
 *        low (one memory-counter call; Redis would add a round trip there, off the hot path)
 *
 * Data: the demo data set on in-memory PGlite, every demo campaign switched to `asap` pacing
 * with a daily budget far above what the run can spend, so both services serve the same winner
 * all the time (the bench measures the bookkeeping, not a budget running out or throttling;
 * the throttle's arithmetic still runs for nothing in `asap`). Impressions are not recorded:
 * reservations accumulate in the leases, as between a decision and its impression.
 * Method: ROUNDS rounds; each round runs one batch of each variant back to back (order
 * rotated), BATCH decisions each. Reported: median µs per decision over rounds and the median of
 * the per-round ratios on/off. Runs in well under 60 s. Needs `npm run build` (the runner does
 * it).
 *
 * Env: BENCH_BUDGET_ROUNDS (21), BENCH_BUDGET_BATCH (1000).
 */
import { demoDecisionSetup, loadDist } from './lib/demo-decisions.mjs';
import { envNumber, median, round } from './lib/util.mjs';

export const name = 'budget';
export const description =
  'decide() with budget leases and pacing on vs off (no BudgetManager), same run, in process';
export const timeoutMs = 3 * 60_000;

const ROUNDS = envNumber('BENCH_BUDGET_ROUNDS', 21, { integer: true });
const BATCH = envNumber('BENCH_BUDGET_BATCH', 1000, { integer: true });
// 1e12 micros = 1 million USD a day: never reached by ROUNDS × BATCH decisions.
const HUGE_BUDGET = 1_000_000_000_000;

export async function run({ signal, log }) {
  const { BudgetManager } = await loadDist('exchange/budget.js');
  const { createMemoryBudgetCounters } = await loadDist('adapters/memory/budget-counters.js');

  const { storage, deps, DecisionService, DEMO_REQUEST, systemClock } = await demoDecisionSetup({
    prepare: async (store) => {
      for (const c of await store.list('campaigns', { limit: 100 })) {
        await store.update('campaigns', c.id, {
          pacing: 'asap',
          daily_budget_micros: HUGE_BUDGET,
          lifetime_budget_micros: null,
        });
      }
    },
  });
  try {
    const { index } = deps;
    const trackingTtlMs = deps.config.trackingTtlMs;
    const budgets = new BudgetManager({
      counters: createMemoryBudgetCounters(),
      clock: systemClock,
      serverId: 'bench',
      trackingTtlMs,
    });
    await budgets.sync(index.current().campaigns);
    const off = new DecisionService(deps);
    const on = new DecisionService({ ...deps, budgets });
    const req = { ...DEMO_REQUEST, user: { id: 'bench-user' } };
    const a = await off.decide(req);
    const b = await on.decide(req);
    if (a.kind !== 'fill' || b.kind !== 'fill') {
      throw new Error(
        `the demo request should fill with and without budgets: ${a.kind} / ${b.kind}`,
      );
    }
    if (a.fill.campaign_id !== b.fill.campaign_id) {
      throw new Error(`different winners: ${a.fill.campaign_id} / ${b.fill.campaign_id}`);
    }

    const variants = { off: () => off.decide(req), on: () => on.decide(req) };
    const names = Object.keys(variants);
    let unfilled = 0;
    const batch = async (fn) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < BATCH; i++) {
        const d = await fn();
        if (d.kind !== 'fill') unfilled++;
      }
      return Number(process.hrtime.bigint() - t0) / 1000 / BATCH; // µs per decision
    };
    for (const n of names) await batch(variants[n]); // warm-up
    const us = Object.fromEntries(names.map((n) => [n, []]));
    const ratios = [];
    for (let r = 0; r < ROUNDS && !signal.aborted; r++) {
      const order = names.map((_, i) => names[(i + r) % names.length]);
      const got = {};
      for (const n of order) got[n] = await batch(variants[n]);
      for (const n of names) us[n].push(got[n]);
      ratios.push(got.on / got.off);
      log(`round ${r + 1}/${ROUNDS}: off ${round(got.off)} µs, on ${round(got.on)} µs`);
      await budgets.tick(); // the timeout monitor, between rounds as its interval would
    }
    await budgets.idle();
    return {
      rounds: us.off.length,
      batch: BATCH,
      off_us: round(median(us.off)),
      on_us: round(median(us.on)),
      on_ratio: round(median(ratios), 3),
      off_decisions_per_s: Math.round(1e6 / median(us.off)),
      on_decisions_per_s: Math.round(1e6 / median(us.on)),
      unfilled,
      leases_granted: budgets.leasesGranted,
    };
  } finally {
    await storage.driver.close();
  }
}

export function table(r) {
  return {
    rows: [
      {
        variant: 'budgets off (no BudgetManager)',
        'µs / decision (median)': r.off_us,
        'decisions / s': r.off_decisions_per_s,
        'vs off': 1,
      },
      {
        variant: 'budgets on (leases + pacing check + reserve)',
        'µs / decision (median)': r.on_us,
        'decisions / s': r.on_decisions_per_s,
        'vs off': r.on_ratio,
      },
    ],
    notes: [
      `${r.rounds} rounds × ${r.batch} decisions per variant, in process, demo data (asap, huge budgets), one user; ` +
        `${r.unfilled} unfilled decisions, ${r.leases_granted} leases granted`,
    ],
  };
}
