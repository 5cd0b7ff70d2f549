import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryEventLog, type MemoryEventLog } from '../../src/adapters/memory/event-log.js';
import type { AnyEvent, EventLog } from '../../src/ports/event-log.js';
import { DiskSpool, SpoolFullError } from '../../src/stream/disk-spool.js';
import { SpoolingEventLog } from '../../src/stream/spooling-event-log.js';
import { impression } from '../contract/event-log.contract.js';

/** The in-process log with a switch that makes appends fail like an unreachable server. */
function breakable(inner: MemoryEventLog): EventLog & { down: boolean } {
  const log = {
    down: false,
    durable: true,
    dedupWindowMs: inner.dedupWindowMs,
    append: (e: AnyEvent) =>
      log.down ? Promise.reject(new Error('NATS: connection closed')) : inner.append(e),
    consumer: inner.consumer.bind(inner),
    lastSeq: inner.lastSeq.bind(inner),
    close: inner.close.bind(inner),
  };
  return log;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adstack-spooling-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('SpoolingEventLog', () => {
  it('accepts events while the log is down and replays them in order when it returns', async () => {
    const mem = createMemoryEventLog();
    const inner = breakable(mem);
    const log = new SpoolingEventLog({ inner, spool: await DiskSpool.open({ dir }), retryMs: 20 });
    const before = impression();
    expect((await log.append(before)).spooled).toBeUndefined();
    inner.down = true;
    const during = Array.from({ length: 50 }, () => impression());
    for (const e of during)
      expect(await log.append(e)).toEqual({ seq: 0, duplicate: false, spooled: true });
    expect(log.stats().mode).toBe('spooling');
    expect(log.stats().spoolBytes).toBeGreaterThan(0);
    inner.down = false;
    const after = impression(); // arrives while the spool is still replaying: queued behind it
    await log.append(after);
    expect(await log.drained(5_000)).toBe(true);
    const c = await mem.consumer('check');
    const got = await c.fetch(1_000, 100);
    expect(got.map((d) => d.event.id)).toEqual([before, ...during, after].map((e) => e.id));
    expect(log.stats()).toMatchObject({ mode: 'direct', spooled: 51, replayed: 51, spoolBytes: 0 });
    await log.close();
  });

  it('while the connection is known to be down, appends go straight to the spool', async () => {
    const mem = createMemoryEventLog();
    const inner = breakable(mem);
    let up = false;
    let tried = 0;
    const counting = { ...inner, append: (e: AnyEvent) => (tried++, inner.append(e)) };
    const log = new SpoolingEventLog({
      inner: counting,
      spool: await DiskSpool.open({ dir }),
      isAvailable: () => up,
      retryMs: 20,
    });
    for (let i = 0; i < 10; i++) await log.append(impression());
    expect(tried).toBe(0);
    up = true;
    expect(await log.drained(5_000)).toBe(true);
    expect(await mem.lastSeq()).toBe(10);
    await log.close();
  });

  it('a full spool refuses with SpoolFullError: nothing is dropped silently', async () => {
    const inner = breakable(createMemoryEventLog());
    inner.down = true;
    const log = new SpoolingEventLog({
      inner,
      spool: await DiskSpool.open({ dir, maxBytes: 2_000 }),
      retryMs: 20,
    });
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, () => log.append(impression())),
    );
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused)
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(SpoolFullError);
    expect(log.stats().spooled).toBe(40 - refused.length);
    await log.close();
  });

  it('replays what a previous run left in the spool', async () => {
    const first = breakable(createMemoryEventLog());
    first.down = true;
    const a = new SpoolingEventLog({
      inner: first,
      spool: await DiskSpool.open({ dir }),
      retryMs: 20,
    });
    const left = Array.from({ length: 5 }, () => impression());
    for (const e of left) await a.append(e);
    await a.close(); // the process stops with the log still down
    const mem = createMemoryEventLog();
    const b = new SpoolingEventLog({
      inner: breakable(mem),
      spool: await DiskSpool.open({ dir }),
      retryMs: 20,
    });
    expect(await b.drained(5_000)).toBe(true);
    const got = await (await mem.consumer('check')).fetch(100, 100);
    expect(got.map((d) => d.event.id)).toEqual(left.map((e) => e.id));
    await b.close();
  });
});
