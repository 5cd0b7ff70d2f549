/**
 * A private Redis Cluster for tests (3 masters, no replicas) made of redis-server processes
 * this test starts on free loopback ports, in a temporary folder, without persistence — never
 * the shared Redis. `stop()` kills exactly those processes and removes the folder.
 *
 * Needs the `redis-server` and `redis-cli` binaries (the CI machine has them: .ci/run starts
 * the shared Redis with them).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestRedisCluster {
  ports: number[];
  stop(): Promise<void>;
}

/** True when `port` and its cluster bus port (+10000) can both be bound on loopback now. */
async function free(port: number): Promise<boolean> {
  const tryBind = (p: number) =>
    new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  return (await tryBind(port)) && (await tryBind(port + 10_000));
}

async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let tries = 0; out.length < n && tries < 200; tries++) {
    const p = 20_000 + Math.floor(Math.random() * 9_000);
    if (!out.includes(p) && (await free(p))) out.push(p);
  }
  if (out.length < n) throw new Error('no free ports for a test Redis Cluster');
  return out;
}

export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'adstack-redis-cluster-'));
  const ports = await freePorts(masters);
  const procs: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    ),
  );
  const stop = async (): Promise<void> => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
    await Promise.all(
      procs.map((p) =>
        p.exitCode !== null ? undefined : new Promise((r) => p.once('exit', () => r(undefined))),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      for (let i = 0; ; i++) {
        const ok = await run('redis-cli', ['-p', String(port), 'ping']).then(
          (r) => r.stdout.trim() === 'PONG',
          () => false,
        );
        if (ok) break;
        if (i > 100) throw new Error(`redis-server on ${port} did not start`);
        await sleep(100);
      }
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (let i = 0; ; i++) {
      const states = await Promise.all(
        ports.map((p) =>
          run('redis-cli', ['-p', String(p), 'cluster', 'info']).then((r) => r.stdout),
        ),
      );
      if (states.every((s) => s.includes('cluster_state:ok'))) break;
      if (i > 100) throw new Error('the test Redis Cluster did not become ready');
      await sleep(100);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { ports, stop };
}
