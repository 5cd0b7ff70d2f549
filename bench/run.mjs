#!/usr/bin/env node
/**
 * Benchmark runner: `npm run bench` runs every bench/*.bench.mjs, `npm run bench -- NAME` one.
 *
 * A benchmark module exports `name`, `description` and `async run({ signal, log })` returning a
 * plain result object; optionally `timeoutMs` (its overall time bound) and `table(result)`
 * (rows for the human summary).
 *
 * Output contract: stdout carries exactly one JSON line per benchmark and nothing else, so
 * `npm run --silent bench > runs.jsonl` is machine-readable; progress and the human table go to
 * stderr. Each run is also saved under bench/results/ (gitignored) and never into tracked files.
 */
import { appendFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = path.join(benchDir, 'results');
const DEFAULT_TIMEOUT_MS = 10 * 60_000;
// After a timeout, how long a benchmark gets to stop its load and kill its servers.
const CLEANUP_GRACE_MS = 20_000;

const log = (msg) => process.stderr.write(`${msg}\n`);

async function discover() {
  const files = (await readdir(benchDir)).filter((f) => f.endsWith('.bench.mjs')).sort();
  const benches = [];
  for (const file of files) {
    const mod = await import(pathToFileURL(path.join(benchDir, file)).href);
    for (const key of ['name', 'description']) {
      if (typeof mod[key] !== 'string') throw new Error(`${file}: missing string export '${key}'`);
    }
    if (typeof mod.run !== 'function') throw new Error(`${file}: missing export 'run()'`);
    benches.push({ file, stem: file.slice(0, -'.bench.mjs'.length), mod });
  }
  return benches;
}

function machine() {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    nproc: os.availableParallelism(),
    cpu: cpus[0]?.model ?? 'unknown',
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    // The machine is shared: the load average at start tells a reader how quiet it was.
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** Runs one benchmark under its time bound; never throws. */
async function runOne(bench, state) {
  const { mod } = bench;
  const envTimeout = Number(process.env.BENCH_TIMEOUT_S);
  const timeoutMs =
    Number.isFinite(envTimeout) && envTimeout > 0
      ? envTimeout * 1000
      : typeof mod.timeoutMs === 'number'
        ? mod.timeoutMs
        : DEFAULT_TIMEOUT_MS;
  const controller = new AbortController();
  state.current = controller;
  const startedAt = new Date();
  const env = machine();
  log(`\n▶ ${mod.name}: ${mod.description}`);

  const timer = setTimeout(
    () => controller.abort(new Error(`timed out after ${timeoutMs / 1000} s`)),
    timeoutMs,
  );
  let result = null;
  let error = null;
  try {
    const running = mod.run({ signal: controller.signal, log: (m) => log(`  ${m}`) });
    // The benchmark is expected to honour the signal; if it does not, stop waiting for it after a
    // grace period so the runner itself stays bounded in time.
    const gaveUp = new Promise((_, reject) => {
      controller.signal.addEventListener('abort', () => {
        sleep(CLEANUP_GRACE_MS, undefined, { ref: false }).then(() =>
          reject(new Error(`${controller.signal.reason?.message ?? 'aborted'}; cleanup hung`)),
        );
      });
    });
    result = await Promise.race([running, gaveUp]);
    if (controller.signal.aborted) throw controller.signal.reason;
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  } finally {
    clearTimeout(timer);
    state.current = null;
  }

  const record = {
    benchmark: mod.name,
    description: mod.description,
    ok: error === null,
    startedAt: startedAt.toISOString(),
    elapsedS: Math.round((Date.now() - startedAt.getTime()) / 100) / 10,
    machine: env,
    ...(error === null ? { result } : { error }),
  };
  process.stdout.write(`${JSON.stringify(record)}\n`);
  await save(record);
  printTable(bench, record);
  return record;
}

async function save(record) {
  try {
    await mkdir(resultsDir, { recursive: true });
    const stamp = record.startedAt.replace(/[:.]/g, '-');
    const file = path.join(resultsDir, `${stamp}-${record.benchmark}.json`);
    await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
    // One line per run, so a history can be compared without opening each file.
    await appendFile(path.join(resultsDir, 'history.jsonl'), `${JSON.stringify(record)}\n`);
    log(`  saved ${path.relative(process.cwd(), file)}`);
  } catch (e) {
    log(`  could not save results: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function printTable(bench, record) {
  if (!record.ok) {
    log(`✗ ${record.benchmark} failed: ${record.error}`);
    return;
  }
  let rows;
  let notes = [];
  if (typeof bench.mod.table === 'function') {
    // table() may return the rows alone or { rows, notes } for lines that do not fit columns.
    const t = bench.mod.table(record.result);
    rows = Array.isArray(t) ? t : t.rows;
    notes = Array.isArray(t) ? [] : (t.notes ?? []);
  } else {
    // No custom summary: show the top-level scalar fields of the result.
    rows = Object.entries(record.result ?? {})
      .filter(([, v]) => v === null || typeof v !== 'object')
      .map(([key, value]) => ({ key, value }));
  }
  log(
    `✓ ${record.benchmark} (${record.elapsedS} s, ${record.machine.node}, ` +
      `${record.machine.nproc} × ${record.machine.cpu}, load ${record.machine.loadavg.join(' ')})`,
  );
  log(formatTable(rows));
  for (const n of notes) log(`  ${n}`);
}

/** Fixed-width table: text left-aligned, numbers right-aligned. */
function formatTable(rows) {
  if (!Array.isArray(rows) || rows.length === 0) return '  (no rows)';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v) => (v === null || v === undefined ? '–' : String(v));
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals, numeric) =>
    '  ' +
    vals
      .map((v, i) => (numeric[i] ? v.padStart(width[i]) : v.padEnd(width[i])))
      .join('  ')
      .trimEnd();
  const numericCol = cols.map((c) => rows.every((r) => r[c] == null || typeof r[c] === 'number'));
  return [
    line(cols, numericCol),
    line(
      width.map((w) => '-'.repeat(w)),
      numericCol,
    ),
    ...rows.map((r) =>
      line(
        cols.map((c) => cell(r[c])),
        numericCol,
      ),
    ),
  ].join('\n');
}

async function main() {
  const args = process.argv.slice(2);
  const benches = await discover();
  if (args.includes('--list') || args.includes('-l')) {
    for (const b of benches) log(`${b.mod.name.padEnd(20)} ${b.mod.description}`);
    return 0;
  }
  const wanted = args.filter((a) => !a.startsWith('-'));
  const selected =
    wanted.length === 0
      ? benches
      : benches.filter((b) => wanted.includes(b.mod.name) || wanted.includes(b.stem));
  const unknown = wanted.filter((w) => !benches.some((b) => b.mod.name === w || b.stem === w));
  if (unknown.length > 0 || selected.length === 0) {
    log(`unknown benchmark: ${unknown.join(', ') || '(none found)'}`);
    log(`available: ${benches.map((b) => b.mod.name).join(', ') || '(none)'}`);
    return 2;
  }

  // Ctrl-C aborts the running benchmark so it can stop its servers; a second one exits at once
  // (children are then SIGKILLed by the exit hook in lib/util.mjs).
  const state = { current: null };
  let interrupts = 0;
  const onSignal = (sig) => {
    interrupts++;
    if (interrupts > 1 || state.current === null) process.exit(130);
    log(`\n${sig}: stopping the benchmark and its servers… (again to force)`);
    state.current.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  let failed = 0;
  for (const bench of selected) {
    const record = await runOne(bench, state);
    if (!record.ok) failed++;
    if (interrupts > 0) break;
  }
  return failed === 0 && interrupts === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    log(`bench: ${e instanceof Error ? e.stack : String(e)}`);
    process.exit(1);
  },
);
