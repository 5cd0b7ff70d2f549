/** The real composition on PostgreSQL, Redis and NATS JetStream: ready, and serving. */
import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { pathOf, startTestRuntime } from '../helpers/runtime.js';
import { requireService, SERVICE_URLS } from '../helpers/services.js';

/** The runtime's event streams on the shared NATS server (one per ledger identity). */
async function eventStreams(): Promise<Set<string>> {
  const nc = await connect({ servers: new URL(SERVICE_URLS.nats).host });
  try {
    const jsm = await nc.jetstreamManager();
    const names = new Set<string>();
    for await (const si of jsm.streams.list()) {
      if (si.config.name.startsWith('ADSTACK_EVENTS_')) names.add(si.config.name);
    }
    return names;
  } finally {
    await nc.close();
  }
}

/** Deletes the streams this test made, so runs do not pile streams up on the shared server. */
async function deleteStreamsSince(before: Set<string>): Promise<void> {
  const nc = await connect({ servers: new URL(SERVICE_URLS.nats).host });
  try {
    const jsm = await nc.jetstreamManager();
    for await (const si of jsm.streams.list()) {
      if (si.config.name.startsWith('ADSTACK_EVENTS_') && !before.has(si.config.name)) {
        await jsm.streams.delete(si.config.name);
      }
    }
  } finally {
    await nc.close();
  }
}

const available =
  (await requireService('postgres')) &&
  (await requireService('redis')) &&
  (await requireService('nats'));

describe.skipIf(!available)('on PostgreSQL + Redis + NATS', () => {
  it('is ready, serves the demo decision and records its impression once', async () => {
    // A database of its own, dropped afterwards, so runs never see each other's rows.
    const dbName = `adstack_t_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: SERVICE_URLS.postgres });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    const url = new URL(SERVICE_URLS.postgres);
    url.pathname = `/${dbName}`;
    // Only this test makes runtime event streams (the other NATS tests use TEST_* names).
    const streamsBefore = await eventStreams();
    try {
      const rt = await startTestRuntime({
        ADSTACK_DATABASE_URL: url.toString(),
        ADSTACK_REDIS_URL: SERVICE_URLS.redis,
        ADSTACK_NATS_URL: SERVICE_URLS.nats,
      });
      try {
        const ready = await rt.app.inject({ url: '/readyz' });
        expect(ready.json()).toEqual({
          status: 'ready',
          checks: { database: { ok: true }, redis: { ok: true }, nats: { ok: true } },
        });
        const d = await rt.app.inject({
          method: 'POST',
          url: '/v1/decisions',
          payload: DEMO_REQUEST,
        });
        expect(d.json().creative_id).toBe('cre_demo_stride_mpu');
        const imp = pathOf(d.json().tracking.impression_url);
        expect((await rt.app.inject({ url: imp })).json().recorded).toBe(true);
        expect((await rt.app.inject({ url: imp })).json().recorded).toBe(false);
        expect(await rt.ledger.totals({})).toEqual({ rows: 1, spend_micros: 4000 });
      } finally {
        await rt.close();
      }
    } finally {
      await deleteStreamsSince(streamsBefore);
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
  });
});
