/**
 * Backpressure (issue 7 item 7): when the local event spool is nearly full, the decision path
 * sheds (429, reason `event_backlog`, before the body is read) while events are still
 * accepted — no new ads, so no new events that could not be kept. The spool's fill ratio is
 * what the runtime feeds the shedder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryEventLog } from '../../src/adapters/memory/event-log.js';
import { DiskSpool } from '../../src/stream/disk-spool.js';
import { SpoolingEventLog } from '../../src/stream/spooling-event-log.js';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { impression } from '../contract/event-log.contract.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { pathOf, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

let rt: TestRuntime;
let backlog = 0;
beforeAll(async () => {
  rt = await startTestRuntime(
    {},
    { loadShed: { utilization: () => 0, eventBacklog: () => backlog } },
  );
});
afterAll(async () => {
  await rt?.close();
});

const decide = () => rt.app.inject({ method: 'POST', url: '/v1/decisions', payload: DEMO_REQUEST });

describe('decisions shed before events are lost', () => {
  it('refuses decisions at 90% spool fill and keeps accepting events', async () => {
    backlog = 0.5;
    const ok = await decide();
    expect(ok.statusCode).toBe(200);
    const url = (ok.json() as { tracking: { impression_url: string } }).tracking.impression_url;

    backlog = 0.9;
    const shed = await decide();
    expect(shed.statusCode).toBe(429);
    expect(shed.headers['x-adstack-shed']).toBe('event_backlog');
    expect(shed.headers['retry-after']).toBe('1');
    expect(shed.json().error.code).toBe('ADS_ERR_OVERLOADED');
    // The impression of an ad already served is still recorded.
    const imp = await rt.app.inject({ url: pathOf(url) });
    expect(imp.statusCode).toBe(200);
    const metrics = (await rt.app.inject({ url: '/metrics' })).body;
    expect(metrics).toContain('adstack_shed_total{reason="event_backlog"} 1');

    backlog = 0.2;
    expect((await decide()).statusCode).toBe(200);
  });
});

describe('SpoolingEventLog.fill', () => {
  it('is the spool’s unread bytes over its bound', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'adstack-fill-'));
    try {
      const spool = await DiskSpool.open({ dir, maxBytes: 4_000 });
      const log = new SpoolingEventLog({
        inner: createMemoryEventLog({ clock: new FakeClock() }),
        spool,
        isAvailable: () => false, // NATS away: everything goes to the spool
        retryMs: 50,
      });
      expect(log.fill()).toBe(0);
      await log.append(impression());
      await log.append(impression());
      expect(log.fill()).toBeGreaterThan(0);
      expect(log.fill()).toBe(spool.bytes / 4_000);
      await log.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
