/**
 * Real services for contract and integration tests. Outside CI an unreachable service makes its
 * suites skip with the reason printed; in CI (CI=true) it makes the test file FAIL.
 */
import net from 'node:net';
import pg from 'pg';

export type ServiceName = 'postgres' | 'redis' | 'nats';

export const SERVICE_URLS: Record<ServiceName, string> = {
  postgres: process.env.ADSTACK_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  redis: process.env.ADSTACK_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  nats: process.env.ADSTACK_TEST_NATS_URL ?? 'nats://127.0.0.1:4222',
};

function tcpProbe(url: string, defaultPort: number): Promise<string | null> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port || defaultPort) });
    const done = (why: string | null) => {
      socket.destroy();
      resolve(why);
    };
    socket.setTimeout(1500, () => done(`no answer from ${u.host} in 1.5 s`));
    socket.once('connect', () => done(null));
    socket.once('error', (e) => done(`${u.host}: ${e.message}`));
  });
}

async function probe(name: ServiceName): Promise<string | null> {
  if (name === 'postgres') {
    const client = new pg.Client({
      connectionString: SERVICE_URLS.postgres,
      connectionTimeoutMillis: 1500,
    });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return null;
    } catch (e) {
      return `PostgreSQL at ${SERVICE_URLS.postgres}: ${(e as Error).message}`;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return tcpProbe(SERVICE_URLS[name], name === 'redis' ? 6379 : 4222);
}

/** True when the service answers. In CI an unreachable service throws (the file fails). */
export async function requireService(name: ServiceName): Promise<boolean> {
  const why = await probe(name);
  if (why === null) return true;
  if (process.env.CI === 'true' || process.env.CI === '1') {
    throw new Error(`CI needs ${name} but it is unreachable: ${why}`);
  }
  console.warn(`[skipped] ${name} suites: ${why} (set CI=true to make this a failure)`);
  return false;
}
