/**
 * `adstack simulate-pacing`: replays N simulated days of synthetic traffic through several
 * in-process BudgetManagers sharing memory budget counters (src/exchange/pacing-sim.ts, whose
 * notes list what the model leaves out) and prints, per campaign and day: budget, spend,
 * overspend, delivery %, max and p95 |delivery − target curve| over the hour ends (against the
 * pacer's curve and against the day's actual traffic), the hour by which
 * half the budget was spent, and the budget stranded in leases / never leased at midnight.
 * `--json` prints the whole result as JSON instead of the table. Deterministic for `--seed`.
 * Exit status: 0 done, 2 bad option, 3 a CPM campaign overspent (a broken invariant).
 */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import {
  defaultSimCampaigns,
  DIURNAL_SHAPE,
  type PacingSimResult,
} from '../exchange/pacing-sim.js';
import { simulatePacingInMemory } from '../wiring/pacing-sim.js';

class UsageError extends Error {}

interface RawOpts {
  seed: string;
  days: string;
  requests: string;
  campaigns: string;
  processes: string;
  delayMs: string;
  lossRate: string;
  duplicateRate: string;
  tickMs: string;
  trackingTtlMs: string;
  crashAt: string;
  noise: string;
  flat?: boolean;
  json?: boolean;
  progress: boolean;
}

function int(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${v}"`);
  return n;
}

function frac(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new UsageError(`--${name} must be a number from 0 to 1, got "${v}"`);
  return n;
}

const usd = (micros: number): string => (micros / 1_000_000).toFixed(2);

export function formatReport(r: PacingSimResult): string {
  const lines: string[] = [];
  const head = [
    'campaign',
    'pacing',
    'day',
    'budget',
    'spent',
    'overspend',
    'delivery%',
    'maxdev%',
    'p95dev%',
    'p95vsTraffic%',
    'learned',
    'half@h',
    'leased@24h',
    'unleased@24h',
  ];
  const rows = r.days.map((d) => [
    d.campaignId,
    d.pacing,
    d.day,
    usd(d.budgetMicros),
    usd(d.spentMicros),
    String(d.overspendMicros),
    d.deliveryPct.toFixed(2),
    d.maxAbsDeviationPct === null ? '-' : d.maxAbsDeviationPct.toFixed(2),
    d.p95AbsDeviationPct === null ? '-' : d.p95AbsDeviationPct.toFixed(2),
    d.p95AbsDeviationVsTrafficPct === null ? '-' : d.p95AbsDeviationVsTrafficPct.toFixed(2),
    `${d.learnedForecastProcesses}/${d.liveProcesses}`,
    d.halfSpentByHour === null ? '-' : String(d.halfSpentByHour),
    usd(d.leasedAtEndMicros),
    usd(d.remainingAtEndMicros),
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const fmt = (row: string[]): string =>
    row.map((c, i) => (i < 3 ? c.padEnd(width[i] ?? 0) : c.padStart(width[i] ?? 0))).join('  ');
  lines.push(fmt(head));
  for (const row of rows) lines.push(fmt(row));
  lines.push('');
  lines.push(
    `requests ${r.requests}, served ${r.served}, impressions recorded ${r.impressionsRecorded}, ` +
      `lost ${r.impressionsLost}, expired ${r.impressionsExpired}, duplicates ignored ${r.duplicatesIgnored}`,
  );
  lines.push(
    `late spend ${r.lateSpend}, refused spend ${r.refusedSpend}, ledger-vs-counters difference ` +
      `${r.ledgerCounterDiffMicros} micros, crashed process's open leases ${usd(r.crashedLeaseMicros)} USD`,
  );
  lines.push(
    'Amounts in USD; overspend in micros. maxdev%: largest |cumulative spend − target| at the 24 hour ends, ' +
      '% of budget, against the target curve the pacer used that day (its forecast; asap: no curve); ' +
      'p95dev%: their 95th percentile (nearest rank, 23rd of 24); p95vsTraffic%: the same against the curve of ' +
      "that day's actual traffic (forecast error included); learned: processes whose forecast was learned from " +
      'a whole past day (others pace on a flat forecast; day 1 is always flat). ' +
      'leased@24h: budget held in leases at midnight (stranded); unleased@24h: never taken.',
  );
  return lines.join('\n');
}

async function run(o: RawOpts): Promise<void> {
  const seed = int('seed', o.seed, 0, 2 ** 31);
  const days = int('days', o.days, 1, 31);
  const requestsPerDay = int('requests', o.requests, 1, 10_000_000);
  const n = int('campaigns', o.campaigns, 1, 1000);
  const processes = int('processes', o.processes, 1, 64);
  const impressionDelayMs = int('delay-ms', o.delayMs, 0, 3_600_000);
  const lossRate = frac('loss-rate', o.lossRate);
  const duplicateRate = frac('duplicate-rate', o.duplicateRate);
  const tickMs = int('tick-ms', o.tickMs, 100, 3_600_000);
  const trackingTtlMs = int('tracking-ttl-ms', o.trackingTtlMs, 1_000, 86_400_000);
  const crashAt = o.crashAt === 'none' ? null : frac('crash-at', o.crashAt);
  const dailyNoise = frac('noise', o.noise);
  const bar = o.progress
    ? new cliProgress.SingleBar(
        { format: 'simulating [{bar}] {value}/{total} hours', stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(days * 24, 0);
  const r = await simulatePacingInMemory({
    campaigns: defaultSimCampaigns(n, seed, requestsPerDay),
    seed,
    days,
    requestsPerDay,
    hourlyShape: o.flat === true ? Array.from({ length: 24 }, () => 1) : DIURNAL_SHAPE,
    dailyNoise,
    processes,
    impressionDelayMs,
    lossRate,
    duplicateRate,
    tickMs,
    trackingTtlMs,
    crash: crashAt === null ? null : { process: 0, atDayFraction: crashAt, restartAfterMs: 60_000 },
    onProgress: (ms) => bar?.update(Math.round(ms / 3_600_000)),
  });
  bar?.stop();
  process.stdout.write(`${o.json === true ? JSON.stringify(r) : formatReport(r)}\n`);
  if (r.days.some((d) => d.overspendMicros > 0)) {
    process.stderr.write('adstack simulate-pacing: a campaign overspent its daily budget\n');
    process.exit(3);
  }
}

export function registerSimulatePacingCommand(program: Command): void {
  program
    .command('simulate-pacing')
    .description(
      'Replay simulated days of traffic through budget leases and pacing (in-process, memory counters) and report delivery per campaign',
    )
    .option('--seed <n>', 'random seed', '1')
    .option('--days <n>', 'simulated days (day 1 learns the traffic forecast)', '3')
    .option(
      '--requests <n>',
      'requests per day (each one is an opportunity for every campaign)',
      '50000',
    )
    .option('--campaigns <n>', 'campaigns, cycling even / frontloaded / asap', '6')
    .option('--processes <n>', 'simulated ad-server processes sharing the counters', '4')
    .option('--delay-ms <n>', 'mean impression delay after the decision (exponential)', '2000')
    .option('--loss-rate <x>', 'share of impressions that never arrive', '0.01')
    .option('--duplicate-rate <x>', 'share of impressions delivered twice', '0.05')
    .option('--tick-ms <n>', 'budget monitor interval of every process', '10000')
    .option(
      '--tracking-ttl-ms <n>',
      'impression token lifetime (a lease expires this long after its serve window; the server default is 24 h)',
      '600000',
    )
    .option('--crash-at <x>', "fraction of day 1 at which process 0 is killed, or 'none'", '0.5')
    .option('--flat', 'flat hourly traffic instead of the diurnal shape')
    .option(
      '--noise <x>',
      'day-to-day traffic noise: sd of the log-normal factor of each hour of each day',
      '0.1',
    )
    .option('--json', 'print the full result as JSON')
    .option('--no-progress', 'no progress bar on stderr')
    .action(async (o: RawOpts) => {
      try {
        await run(o);
      } catch (e) {
        process.stderr.write(`adstack: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(e instanceof UsageError ? 2 : 1);
      }
    });
}
