/**
 * NATS connection used by the readiness probe (it also checks that JetStream is enabled) and
 * shared with the JetStream event log (event-log.ts) through `connection()`.
 */
import { connect, type NatsConnection } from 'nats';
import type { DependencyCheck } from '../../ports/health.js';

export interface NatsHandle {
  check: DependencyCheck;
  /** The shared connection, opened on first use (reconnects forever once open). */
  connection(): Promise<NatsConnection>;
  close(): Promise<void>;
}

export function createNatsConnection(url: string): NatsHandle {
  let conn: NatsConnection | null = null;
  let connecting: Promise<NatsConnection> | null = null;
  const servers = url.replace(/^nats:\/\//, '');
  const get = async (): Promise<NatsConnection> => {
    if (conn !== null && !conn.isClosed()) return conn;
    connecting ??= connect({ servers, timeout: 1000, maxReconnectAttempts: -1 }).finally(() => {
      connecting = null;
    });
    conn = await connecting;
    return conn;
  };
  return {
    connection: get,
    check: {
      name: 'nats',
      async check() {
        const nc = await get();
        await nc.flush();
        const jsm = await nc.jetstreamManager({ timeout: 1000 });
        await jsm.getAccountInfo();
      },
    },
    async close() {
      if (conn !== null) await conn.drain().catch(() => undefined);
    },
  };
}
