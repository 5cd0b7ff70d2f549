/** Small helpers shared by the benchmarks: child processes, ports, readiness, statistics. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Asks the kernel for a free loopback port. The port is released before the server binds it,
 * so another process could grab it in between; on a benchmark machine that race is acceptable
 * and it lets us pass the port through the server's own ADSTACK_PORT setting.
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Every child we start, so that an exiting parent (error, timeout, Ctrl-C) never leaves a server
// holding a port or a PGlite directory.
const live = new Set();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Spawns a Node child with piped output. Output is kept in memory (bounded) because a server's
 * warnings under load are part of what a benchmark should report.
 */
export function startNode(label, args, { env, cwd }) {
  const child = spawn(process.execPath, args, {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const output = { lines: [], dropped: 0 };
  const keep = (stream, chunk) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      if (output.lines.length < 2000) output.lines.push({ stream, line, at: Date.now() });
      else output.dropped++;
    }
  };
  child.stdout.on('data', (c) => keep('stdout', c));
  child.stderr.on('data', (c) => keep('stderr', c));
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  return { label, child, output, exited };
}

/**
 * SIGTERM first so the server can close cleanly (PGlite), SIGKILL if it takes too long.
 * Returns how the process ended, since a server that cannot shut down is worth reporting.
 */
export async function stopNode(proc, graceMs = 5000) {
  if (proc === null || proc === undefined) return null;
  const { child, exited } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return await exited;
  const started = performance.now();
  child.kill('SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) child.kill('SIGKILL');
  const { code, signal } = await exited;
  return { code, signal, forced: !done, seconds: (performance.now() - started) / 1000 };
}

/**
 * Polls `url` until it answers `status`, the child dies, the deadline passes or `signal` aborts.
 * Returns the seconds waited.
 */
export async function waitForHttp(url, { proc, timeoutMs, signal, status = 200 }) {
  const started = performance.now();
  let last = 'no answer yet';
  while (performance.now() - started < timeoutMs) {
    signal?.throwIfAborted();
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${proc.label} exited before it was ready:\n${tail(proc.output)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === status) return (performance.now() - started) / 1000;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await sleep(200);
  }
  throw new Error(
    `${proc.label} not ready at ${url} after ${timeoutMs / 1000} s (${last}):\n${tail(proc.output)}`,
  );
}

export function tail(output, n = 15) {
  return output.lines
    .slice(-n)
    .map((l) => `  [${l.stream}] ${l.line}`)
    .join('\n');
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc. Linux only; null elsewhere.
 * Used to show how the two cores were shared between the load generator and the server.
 */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces, so fields are counted from after its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    // USER_HZ is 100 on every Linux build Node supports.
    return (utime + stime) / 100;
  } catch {
    return null;
  }
}

/** Resident memory of a process in MiB, from /proc (Linux only; null elsewhere). */
export function rssMiB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]) / 1024;
  } catch {
    return null;
  }
}

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Nearest-rank percentile of an already sorted numeric array; q in (0, 1]. */
export function percentileSorted(sorted, q) {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

export function round(x, digits = 2) {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Reads a positive number from the environment, failing loudly on nonsense values. */
export function envNumber(name, fallback, { integer = false } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}, got '${raw}'`);
  }
  return n;
}
