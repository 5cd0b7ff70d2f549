/**
 * The FrequencyCounters contract (src/ports/frequency-counters.ts): exact sliding-window counts
 * per user × (creative | campaign | advertiser), lifetime windows, idempotent increments by
 * impression key, atomic check-and-increment (also under concurrency: never above the cap),
 * trimming by retention. Run by frequency-counters.memory.test.ts and *.redis.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  FrequencyCapRule,
  FrequencyCounters,
  IncrementTarget,
} from '../../src/ports/frequency-counters.js';

export interface FrequencyCountersHarness {
  counters: FrequencyCounters;
  close(): Promise<void>;
}

const T0 = Date.parse('2026-06-01T12:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;

export function frequencyCountersContract(
  adapter: string,
  open: () => Promise<FrequencyCountersHarness>,
): void {
  describe(`FrequencyCounters contract: ${adapter}`, () => {
    let h: FrequencyCountersHarness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(async () => {
      await h.close();
    });
    const user = () => `u-${randomUUID()}`;
    const creative = (id: string, retainMs: number | null = HOUR): IncrementTarget => ({
      scope: 'creative',
      id,
      retainMs,
    });
    const cap = (
      scope: FrequencyCapRule['scope'],
      id: string,
      maxImpressions: number,
      windowMs: number | null,
    ): FrequencyCapRule => ({ scope, id, maxImpressions, windowMs });

    it('counts zero for a new user and allows when there are no rules', async () => {
      const u = user();
      const r = await h.counters.check(u, [cap('campaign', 'c1', 3, HOUR)], T0);
      expect(r.allowed).toBe(true);
      expect(r.counts.map((c) => c.count)).toEqual([0]);
      expect(await h.counters.check(u, [], T0)).toEqual({ allowed: true, counts: [] });
    });

    it('counts over a sliding window: (now − window, now]', async () => {
      const u = user();
      await h.counters.increment(u, [creative('cr1')], 'i1', T0);
      await h.counters.increment(u, [creative('cr1')], 'i2', T0 + 10 * MIN);
      const rule = cap('creative', 'cr1', 2, 30 * MIN);
      expect((await h.counters.check(u, [rule], T0 + 10 * MIN)).counts[0]?.count).toBe(2);
      expect((await h.counters.check(u, [rule], T0 + 10 * MIN)).allowed).toBe(false);
      // i1 leaves the window exactly at T0 + 30 min.
      expect((await h.counters.check(u, [rule], T0 + 30 * MIN - 1)).counts[0]?.count).toBe(2);
      expect((await h.counters.check(u, [rule], T0 + 30 * MIN)).counts[0]?.count).toBe(1);
      expect((await h.counters.check(u, [rule], T0 + 30 * MIN)).allowed).toBe(true);
    });

    it('keeps scopes, ids and users apart', async () => {
      const u = user();
      await h.counters.increment(
        u,
        [
          creative('cr1'),
          { scope: 'campaign', id: 'c1', retainMs: HOUR },
          { scope: 'advertiser', id: 'a1', retainMs: null },
        ],
        'i1',
        T0,
      );
      const r = await h.counters.check(
        u,
        [
          cap('creative', 'cr1', 5, HOUR),
          cap('creative', 'cr2', 5, HOUR),
          cap('campaign', 'c1', 5, HOUR),
          cap('campaign', 'cr1', 5, HOUR),
          cap('advertiser', 'a1', 5, null),
        ],
        T0,
      );
      expect(r.counts.map((c) => c.count)).toEqual([1, 0, 1, 0, 1]);
      expect(
        (await h.counters.check(user(), [cap('creative', 'cr1', 5, HOUR)], T0)).counts[0]?.count,
      ).toBe(0);
    });

    it('counts an impression key once, however often it is incremented', async () => {
      const u = user();
      expect(await h.counters.increment(u, [creative('cr1')], 'imp:1', T0)).toEqual({
        recorded: true,
      });
      expect(await h.counters.increment(u, [creative('cr1')], 'imp:1', T0 + 1)).toEqual({
        recorded: false,
      });
      expect(
        (await h.counters.check(u, [cap('creative', 'cr1', 9, HOUR)], T0 + 2)).counts[0]?.count,
      ).toBe(1);
    });

    it('keeps lifetime counts and trims by retention', async () => {
      const u = user();
      await h.counters.increment(u, [{ scope: 'advertiser', id: 'a', retainMs: null }], 'old', T0);
      await h.counters.increment(
        u,
        [{ scope: 'advertiser', id: 'a', retainMs: null }],
        'new',
        T0 + 400 * 24 * HOUR,
      );
      expect(
        (await h.counters.check(u, [cap('advertiser', 'a', 9, null)], T0 + 400 * 24 * HOUR))
          .counts[0]?.count,
      ).toBe(2);
      await h.counters.increment(u, [creative('x', HOUR)], 'a', T0);
      await h.counters.increment(u, [creative('x', HOUR)], 'b', T0 + 2 * HOUR);
      // 'a' was trimmed: even a lifetime question sees only what was retained.
      expect(
        (await h.counters.check(u, [cap('creative', 'x', 9, null)], T0 + 2 * HOUR)).counts[0]
          ?.count,
      ).toBe(1);
    });

    it('checkAndIncrement records on every target only when every rule allows', async () => {
      const u = user();
      const rules = [cap('creative', 'cr', 2, HOUR), cap('campaign', 'c', 3, 24 * HOUR)];
      const targets: IncrementTarget[] = [
        creative('cr'),
        { scope: 'campaign', id: 'c', retainMs: 24 * HOUR },
      ];
      const r1 = await h.counters.checkAndIncrement(u, rules, targets, 'i1', T0);
      expect(r1).toMatchObject({ allowed: true, recorded: true });
      expect(r1.counts.map((c) => c.count)).toEqual([0, 0]);
      await h.counters.checkAndIncrement(u, rules, targets, 'i2', T0 + 1);
      const r3 = await h.counters.checkAndIncrement(u, rules, targets, 'i3', T0 + 2);
      expect(r3).toMatchObject({ allowed: false, recorded: false });
      expect(r3.counts.map((c) => c.count)).toEqual([2, 2]);
      // The campaign count did not move when the creative cap refused.
      expect(
        (await h.counters.check(u, [rules[1] as FrequencyCapRule], T0 + 3)).counts[0]?.count,
      ).toBe(2);
    });

    it('never lets concurrent checkAndIncrement calls exceed a cap', async () => {
      const u = user();
      const rules = [cap('campaign', 'hot', 5, HOUR)];
      const targets: IncrementTarget[] = [{ scope: 'campaign', id: 'hot', retainMs: HOUR }];
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          h.counters.checkAndIncrement(u, rules, targets, `imp:${i}`, T0 + i),
        ),
      );
      expect(results.filter((r) => r.recorded)).toHaveLength(5);
      expect((await h.counters.check(u, rules, T0 + 100)).counts[0]?.count).toBe(5);
    });

    it('forgetUser removes every series of one user and no one else', async () => {
      const u = user();
      const other = user();
      const targets: IncrementTarget[] = [
        creative('cr-f'),
        { scope: 'campaign', id: 'c-f', retainMs: null },
        { scope: 'advertiser', id: 'a-f', retainMs: HOUR },
      ];
      await h.counters.increment(u, targets, 'i1', T0);
      await h.counters.increment(other, targets, 'i1', T0);
      const rules = [
        cap('creative', 'cr-f', 9, HOUR),
        cap('campaign', 'c-f', 9, null),
        cap('advertiser', 'a-f', 9, HOUR),
      ];
      expect((await h.counters.forgetUser(u)).removed).toBe(3);
      expect((await h.counters.check(u, rules, T0 + 1)).counts.map((c) => c.count)).toEqual([
        0, 0, 0,
      ]);
      expect((await h.counters.check(other, rules, T0 + 1)).counts.map((c) => c.count)).toEqual([
        1, 1, 1,
      ]);
      // Idempotent; and the same impression key counts again as new (nothing was remembered).
      expect((await h.counters.forgetUser(u)).removed).toBe(0);
      expect((await h.counters.increment(u, targets, 'i1', T0 + 2)).recorded).toBe(true);
    });
  });
}
