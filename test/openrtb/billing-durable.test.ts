/**
 * Durable billing notices (burl): pending notices live in `rtb_billing_notices` (migration 007)
 * and are resumed, idempotently and with their backoff, by the next process after a shutdown or
 * a crash. Each "process" is a new BillingNotifier on the same database; the clock is a
 * variable and sleeps end only at close, so nothing depends on real time. On PGlite, and on
 * the real PostgreSQL (a throw-away schema) where claims race between two connections.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPgBillingOutbox } from '../../src/adapters/postgres/billing-outbox.js';
import {
  BillingNotifier,
  DEFAULT_BILLING,
  type BillingResult,
} from '../../src/exchange/rtb/billing.js';
import type { BillingOutbox } from '../../src/ports/billing-outbox.js';
import { freshPglite, freshPostgresSchema, type TestDb } from '../helpers/databases.js';
import { requireService } from '../helpers/services.js';

const available = await requireService('postgres');

type Send = 'ok' | 'http_error' | 'network_error';
const T0 = 1_700_000_000_000;
const OPTS = {
  ...DEFAULT_BILLING,
  maxAttempts: 4,
  baseDelayMs: 1_000,
  maxDelayMs: 8_000,
  claimMs: 30_000,
};

for (const kind of ['pglite', 'postgres'] as const) {
  describe.skipIf(kind === 'postgres' && !available)(`durable billing notices (${kind})`, () => {
    let db: TestDb;
    let outbox: BillingOutbox;
    let now = T0;
    beforeAll(async () => {
      db = kind === 'pglite' ? await freshPglite() : await freshPostgresSchema();
      outbox = createPgBillingOutbox(db.driver);
    });
    afterAll(() => db.close());

    /** One process's notifier: `answer` decides each send; sleeps last until close. */
    function proc(answer: (url: string) => Send | Promise<Send>, box: BillingOutbox = outbox) {
      const sent: string[] = [];
      const results: BillingResult[] = [];
      const n = new BillingNotifier(
        {
          send: async (url) => {
            sent.push(url);
            return answer(url);
          },
          sleep: (_ms, signal) =>
            new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true })),
          random: () => 1,
          onResult: (r) => results.push(r),
          outbox: box,
          nowMs: () => now,
        },
        OPTS,
      );
      return { n, sent, results };
    }

    const row = async (id: string) =>
      (
        await db.driver.query<{ state: string; attempts: number; next_at_ms: string | number }>(
          'SELECT state, attempts, next_at_ms FROM rtb_billing_notices WHERE decision_id = $1',
          [id],
        )
      ).map((r) => ({ ...r, next_at_ms: Number(r.next_at_ms) }))[0];

    it('a notice cut by shutdown is resumed by the next process when due, and sent once', async () => {
      now = T0;
      const a = proc(() => 'http_error');
      a.n.notify('d-restart', 'https://dsp.example/bill?d=1');
      await vi.waitFor(() => expect(a.results).toEqual(['retried']));
      await a.n.close();
      expect(a.results).toEqual(['retried', 'abandoned']);
      expect(await row('d-restart')).toEqual({
        state: 'pending',
        attempts: 1,
        next_at_ms: T0 + 1_000,
      });

      const b = proc(() => 'ok');
      expect(await b.n.sweep()).toBe(0); // not due yet: its backoff is kept across the restart
      now = T0 + 1_000;
      expect(await b.n.sweep()).toBe(1);
      await vi.waitFor(() => expect(b.results).toEqual(['resumed', 'ok']));
      expect(b.sent).toEqual(['https://dsp.example/bill?d=1']);
      expect(await row('d-restart')).toMatchObject({ state: 'sent', attempts: 2 });
      expect(await b.n.sweep()).toBe(0);

      // A third process hearing of the same impression again bills nothing.
      const c = proc(() => 'ok');
      c.n.notify('d-restart', 'https://dsp.example/bill?d=1');
      await vi.waitFor(() => expect(c.results).toEqual(['duplicate']));
      expect(c.sent).toEqual([]);
      await Promise.all([b.n.close(), c.n.close()]);
    });

    it('onDone hears each notice’s outcome in this process: ok, failed, abandoned at shutdown', async () => {
      now = T0;
      const outcomes: [string, string][] = [];
      const done = (id: string) => (o: string) => outcomes.push([id, o]);
      const a = proc((url) => (url.endsWith('ok') ? 'ok' : 'http_error'));
      a.n.notify('d-done-ok', 'https://dsp.example/bill?ok', done('ok'));
      a.n.notify('d-done-cut', 'https://dsp.example/bill?cut', done('cut'));
      await vi.waitFor(() => expect(outcomes).toEqual([['ok', 'ok']]));
      await vi.waitFor(() => expect(a.results).toContain('retried'));
      await a.n.close();
      expect(outcomes).toEqual([
        ['ok', 'ok'],
        ['cut', 'abandoned'],
      ]);
      // The one a shutdown cut is still pending for the next process (no outcome reported twice).
      expect(await row('d-done-cut')).toMatchObject({ state: 'pending', attempts: 1 });
      now = T0 + 10_000;
      const b = proc(() => 'ok');
      expect(await b.n.sweep()).toBeGreaterThanOrEqual(1);
      await vi.waitFor(async () =>
        expect(await row('d-done-cut')).toMatchObject({ state: 'sent', attempts: 2 }),
      );
      await b.n.close();
      expect(outcomes).toHaveLength(2);
    });

    it('a crashed process’s claim expires, then another process takes the notice over', async () => {
      now = T0;
      const crashed = proc(() => new Promise<Send>(() => undefined)); // never answers
      crashed.n.notify('d-crash', 'https://dsp.example/bill?d=2');
      await vi.waitFor(() => expect(crashed.sent).toHaveLength(1));
      expect(await row('d-crash')).toMatchObject({ state: 'pending', attempts: 0 });

      const b = proc(() => 'ok');
      expect(await b.n.sweep()).toBe(0); // still claimed by the "crashed" process
      now = T0 + OPTS.claimMs;
      expect(await b.n.sweep()).toBe(1);
      await vi.waitFor(() => expect(b.results).toEqual(['resumed', 'ok']));
      expect(b.sent).toEqual(['https://dsp.example/bill?d=2']);
      expect(await row('d-crash')).toMatchObject({ state: 'sent', attempts: 1 });
      await b.n.close();
    });

    it('resumed notices keep their attempt count: the last attempt failing ends in failed', async () => {
      now = T0;
      const a = proc(() => 'network_error');
      a.n.notify('d-last', 'https://dsp.example/bill?d=3');
      await vi.waitFor(() => expect(a.results).toEqual(['retried']));
      await a.n.close();
      // Two more "restarts", each one failed attempt: attempts 2 and 3 of 4.
      for (const attempts of [2, 3]) {
        now += OPTS.maxDelayMs;
        const p = proc(() => 'network_error');
        expect(await p.n.sweep()).toBe(1);
        await vi.waitFor(() => expect(p.results).toEqual(['resumed', 'retried']));
        await p.n.close();
        expect(await row('d-last')).toMatchObject({ state: 'pending', attempts });
      }
      now += OPTS.maxDelayMs;
      const last = proc(() => 'network_error');
      expect(await last.n.sweep()).toBe(1);
      await vi.waitFor(() => expect(last.results).toEqual(['resumed', 'failed']));
      expect(await row('d-last')).toMatchObject({ state: 'failed', attempts: 4 });
      await last.n.close();
    });

    it('two processes sweeping at once: every pending notice is sent exactly once', async () => {
      now = T0;
      const a = proc(() => 'http_error');
      const ids = Array.from({ length: 20 }, (_, i) => `d-race-${i}`);
      for (const id of ids) a.n.notify(id, `https://dsp.example/bill?d=${id}`);
      await vi.waitFor(() => expect(a.results.filter((r) => r === 'retried')).toHaveLength(20));
      await a.n.close();
      now = T0 + OPTS.maxDelayMs;
      // On PostgreSQL each process has its own connection pool: the claims really race.
      const second =
        kind === 'postgres'
          ? await freshConnection()
          : { box: outbox, close: () => Promise.resolve() };
      const b = proc(() => 'ok');
      const c = proc(() => 'ok', second.box);
      const [nb, nc] = await Promise.all([b.n.sweep(), c.n.sweep()]);
      expect(nb + nc).toBe(20);
      // 'ok' is reported after the outbox row is closed.
      const oks = () => [...b.results, ...c.results].filter((r) => r === 'ok');
      await vi.waitFor(() => expect(oks()).toHaveLength(20));
      expect([...b.sent, ...c.sent]).toHaveLength(20);
      expect(new Set([...b.sent, ...c.sent]).size).toBe(20);
      for (const id of ids) expect((await row(id))?.state).toBe('sent');
      await Promise.all([b.n.close(), c.n.close()]);
      await second.close();
    });

    it('beyond maxQueue a notice is recorded only (deferred) and sent by a later sweep', async () => {
      now = T0;
      const small = { ...OPTS, maxQueue: 1 };
      const results: BillingResult[] = [];
      const sent: string[] = [];
      const n = new BillingNotifier(
        {
          send: async (url) => {
            sent.push(url);
            return 'http_error';
          },
          sleep: (_ms, signal) =>
            new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true })),
          random: () => 1,
          onResult: (r) => results.push(r),
          outbox,
          nowMs: () => now,
        },
        small,
      );
      n.notify('d-full-1', 'https://dsp.example/bill?d=full1');
      await vi.waitFor(() => expect(results).toEqual(['retried'])); // holds the one slot
      n.notify('d-full-2', 'https://dsp.example/bill?d=full2');
      expect(results).toEqual(['retried', 'deferred']);
      await vi.waitFor(async () =>
        expect(await row('d-full-2')).toEqual({ state: 'pending', attempts: 0, next_at_ms: T0 }),
      );
      expect(sent).toEqual(['https://dsp.example/bill?d=full1']);
      expect(await n.sweep()).toBe(0); // no room yet
      await n.close();
      now = T0 + OPTS.maxDelayMs;
      const b = proc(() => 'ok');
      expect(await b.n.sweep()).toBe(2); // the deferred one and the one cut by close
      await vi.waitFor(() => expect(b.results).toEqual(['resumed', 'resumed', 'ok', 'ok']));
      expect([...b.sent].sort()).toEqual([
        'https://dsp.example/bill?d=full1',
        'https://dsp.example/bill?d=full2',
      ]);
      await b.n.close();
    });

    it('finished notices are pruned after keepFinishedMs; pending ones stay', async () => {
      now = T0 + 10 * 86_400_000;
      const p = proc(() => 'ok');
      await p.n.sweep(); // prunes rows finished more than keepFinishedMs (7 days) ago
      expect(await row('d-restart')).toBeUndefined();
      await p.n.close();
    });

    /** A second pool on the same schema (PostgreSQL only). */
    async function freshConnection() {
      const { createPgDriver } = await import('../../src/adapters/postgres/driver.js');
      const { SERVICE_URLS } = await import('../helpers/services.js');
      const schema = (db as TestDb & { schema: string }).schema;
      const driver = createPgDriver({ connectionString: SERVICE_URLS.postgres, schema });
      return { box: createPgBillingOutbox(driver), close: () => driver.close() };
    }
  });
}
