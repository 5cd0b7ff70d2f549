/**
 * Pacing math (src/core/pacing/): local days in a campaign's time zone, the target curve from an
 * hourly forecast, the even-delivery throttle with catch-up, and daily allowances.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FLAT_FORECAST,
  dailyAllowanceMicros,
  dayFraction,
  learnHourlyForecast,
  localDay,
  shouldThrottle,
  targetFraction,
  targetSpendMicros,
  throttleProbability,
  type PacingCurveMode,
  type ThrottleInput,
} from '../../src/core/pacing/index.js';

const HOUR = 3_600_000;

describe('localDay', () => {
  it.each([
    ['UTC', '2026-06-01T12:00:00Z', '2026-06-01', '2026-06-01T00:00:00Z', 24],
    ['America/New_York', '2026-06-01T03:00:00Z', '2026-05-31', '2026-05-31T04:00:00Z', 24],
    ['Asia/Kolkata', '2026-06-01T20:00:00Z', '2026-06-02', '2026-06-01T18:30:00Z', 24],
    // DST: spring forward (23 h) and fall back (25 h) in New York.
    ['America/New_York', '2026-03-08T12:00:00Z', '2026-03-08', '2026-03-08T05:00:00Z', 23],
    ['America/New_York', '2026-11-01T12:00:00Z', '2026-11-01', '2026-11-01T04:00:00Z', 25],
    // Santiago skips local midnight on its spring change: the day starts at 01:00.
    ['America/Santiago', '2026-09-06T15:00:00Z', '2026-09-06', '2026-09-06T04:00:00Z', 23],
    // Samoa skipped 2011-12-30 entirely: the 29th ends at the 31st's midnight.
    ['Pacific/Apia', '2011-12-29T20:00:00Z', '2011-12-29', '2011-12-29T10:00:00Z', 24],
    ['Pacific/Chatham', '2026-06-01T00:00:00Z', '2026-06-01', '2026-05-31T11:15:00Z', 24],
  ])('%s at %s is %s, from %s, %d h long', (tz, at, dayKey, start, hours) => {
    const d = localDay(Date.parse(at), tz);
    expect(d.dayKey).toBe(dayKey);
    expect(new Date(d.startMs).toISOString()).toBe(new Date(Date.parse(start)).toISOString());
    expect((d.endMs - d.startMs) / HOUR).toBe(hours);
  });

  it('contains now, and its neighbours are other days', () => {
    const zones = [
      'UTC',
      'America/New_York',
      'Europe/Berlin',
      'Asia/Kolkata',
      'Australia/Lord_Howe',
      'America/Santiago',
      'Pacific/Apia',
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('2020-01-01'), max: Date.parse('2030-01-01') }),
        fc.constantFrom(...zones),
        (now, tz) => {
          const d = localDay(now, tz);
          expect(d.startMs).toBeLessThanOrEqual(now);
          expect(now).toBeLessThan(d.endMs);
          expect(localDay(d.startMs, tz).dayKey).toBe(d.dayKey);
          expect(localDay(d.startMs - 1, tz).dayKey).not.toBe(d.dayKey);
          expect(localDay(d.endMs, tz).dayKey).not.toBe(d.dayKey);
          expect(localDay(d.endMs - 1, tz).dayKey).toBe(d.dayKey);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('target curve', () => {
  const evening = Array.from({ length: 24 }, (_, h) => (h >= 18 ? 3 : 1)); // 18 + 18 = 36
  it.each([
    ['even, flat, half day', 'even', FLAT_FORECAST, 0.5, 0.5],
    ['even, evening-heavy, 18:00', 'even', evening, 0.75, 18 / 36],
    ['even, evening-heavy, 21:00', 'even', evening, 21 / 24, 27 / 36],
    ['asap: everything at once', 'asap', FLAT_FORECAST, 0, 1],
    ['even at start', 'even', evening, 0, 0],
    ['even at end', 'even', evening, 1, 1],
    ['zero forecast falls back to flat', 'even', new Array<number>(24).fill(0), 0.25, 0.25],
  ] as const)('%s', (_n, mode, forecast, t, expected) => {
    expect(targetFraction(mode, forecast, t)).toBeCloseTo(expected, 12);
  });

  it('frontloaded is ahead of even before the end of the day', () => {
    for (const t of [0.1, 0.25, 0.5, 0.9]) {
      expect(targetFraction('frontloaded', FLAT_FORECAST, t)).toBeGreaterThan(
        targetFraction('even', FLAT_FORECAST, t),
      );
    }
    expect(targetFraction('frontloaded', FLAT_FORECAST, 1)).toBeCloseTo(1, 12);
  });

  it('is non-decreasing from 0 to 1 for any forecast', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 24, maxLength: 24 }),
        fc.constantFrom<PacingCurveMode>('even', 'frontloaded'),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (forecast, mode, a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const fLo = targetFraction(mode, forecast, lo);
          expect(fLo).toBeGreaterThanOrEqual(0);
          expect(targetFraction(mode, forecast, hi)).toBeGreaterThanOrEqual(fLo - 1e-12);
          expect(targetFraction(mode, forecast, 1)).toBeCloseTo(1, 9);
        },
      ),
    );
  });

  it('learns the mean normalised shape of past days, with a floor', () => {
    const day1 = Array.from({ length: 24 }, (_, h) => (h === 20 ? 100 : 0));
    const day2 = Array.from({ length: 24 }, (_, h) => (h === 20 ? 300 : 0));
    const f = learnHourlyForecast([day1, day2, [1, 2, 3]]);
    expect(f).toHaveLength(24);
    expect(f.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(f[20]).toBeGreaterThan(0.8);
    expect(Math.min(...f)).toBeGreaterThan(0);
    expect(learnHourlyForecast([])).toEqual([...FLAT_FORECAST]);
  });
});

describe('throttle', () => {
  const day = localDay(Date.parse('2026-06-01T12:00:00Z'), 'UTC');
  const at = (h: number) => day.startMs + h * HOUR;
  const base = (over: Partial<ThrottleInput> = {}): ThrottleInput => ({
    mode: 'even',
    budgetMicros: 24_000_000,
    spentMicros: 12_000_000,
    nowMs: at(12),
    day,
    forecast: FLAT_FORECAST,
    ...over,
  });

  it.each([
    ['on target: 1/2', {}, 0.5],
    ['behind by the band (2 %): serve all', { spentMicros: 12_000_000 - 480_000 }, 0],
    ['ahead by the band: serve none', { spentMicros: 12_000_000 + 480_000 }, 1],
    ['ahead by half the band: 3/4', { spentMicros: 12_000_000 + 240_000 }, 0.75],
    ['budget gone: throttle everything', { spentMicros: 24_000_000 }, 1],
    ['asap with budget left: never', { mode: 'asap' as const, spentMicros: 23_999_999 }, 0],
    ['asap with budget gone', { mode: 'asap' as const, spentMicros: 24_000_000 }, 1],
    ['zero budget', { budgetMicros: 0, spentMicros: 0 }, 1],
  ])('%s', (_n, over, expected) => {
    expect(throttleProbability(base(over))).toBeCloseTo(expected, 12);
  });

  it('catches up after a pause by re-planning the rest of the day, not by bursting', () => {
    // Paused from 06:00 to 18:00 with $6 of $24 spent: the remaining $18 spreads over 6 hours.
    const input = base({
      nowMs: at(21),
      resumedAtMs: at(18),
      spentAtResumeMicros: 6_000_000,
      spentMicros: 6_000_000,
    });
    expect(targetSpendMicros(input)).toBeCloseTo(6_000_000 + 18_000_000 * 0.5, 3);
    expect(throttleProbability(input)).toBe(0);
    expect(targetSpendMicros({ ...input, nowMs: at(18) })).toBeCloseTo(6_000_000, 3);
    expect(targetSpendMicros({ ...input, nowMs: day.endMs })).toBeCloseTo(24_000_000, 3);
  });

  it('shouldThrottle compares the injected draw with the probability', () => {
    expect(shouldThrottle(base(), 0.49)).toBe(true);
    expect(shouldThrottle(base(), 0.5)).toBe(false);
  });

  const inputs = fc.record({
    mode: fc.constantFrom<PacingCurveMode>('even', 'frontloaded', 'asap'),
    budgetMicros: fc.integer({ min: 0, max: 1e12 }),
    spentMicros: fc.integer({ min: 0, max: 1e12 }),
    hour: fc.double({ min: -2, max: 26, noNaN: true }),
    resumeHour: fc.option(fc.double({ min: 0, max: 24, noNaN: true })),
    spentAtResumeMicros: fc.integer({ min: 0, max: 1e12 }),
    bandFraction: fc.constantFrom(0.005, 0.02, 0.1),
  });
  type Generated = typeof inputs extends fc.Arbitrary<infer T> ? T : never;
  const toInput = (i: Generated): ThrottleInput => ({
    mode: i.mode,
    budgetMicros: i.budgetMicros,
    spentMicros: i.spentMicros,
    nowMs: at(i.hour),
    day,
    forecast: FLAT_FORECAST,
    resumedAtMs: i.resumeHour === null ? undefined : at(i.resumeHour),
    spentAtResumeMicros: i.spentAtResumeMicros,
    bandFraction: i.bandFraction,
  });

  it('is a probability in [0, 1]', () => {
    fc.assert(
      fc.property(inputs, (i) => {
        const p = throttleProbability(toInput(i));
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('is monotone in overspend: spending more never lowers the throttle', () => {
    fc.assert(
      fc.property(inputs, fc.integer({ min: 0, max: 1e11 }), (i, more) => {
        const a = toInput(i);
        expect(
          throttleProbability({ ...a, spentMicros: a.spentMicros + more }),
        ).toBeGreaterThanOrEqual(throttleProbability(a));
      }),
    );
  });

  it('throttles everything once the budget is spent, in every mode', () => {
    fc.assert(
      fc.property(inputs, fc.integer({ min: 0, max: 1e6 }), (i, extra) => {
        expect(throttleProbability({ ...toInput(i), spentMicros: i.budgetMicros + extra })).toBe(1);
      }),
    );
  });
});

describe('dailyAllowanceMicros', () => {
  it.each([
    [
      'daily only',
      { mode: 'even', dailyBudgetMicros: 5_000, lifetimeRemainingMicros: null, daysLeft: null },
      5_000,
    ],
    [
      'neither',
      { mode: 'even', dailyBudgetMicros: null, lifetimeRemainingMicros: null, daysLeft: null },
      null,
    ],
    [
      'lifetime spread evenly',
      { mode: 'even', dailyBudgetMicros: null, lifetimeRemainingMicros: 10_000, daysLeft: 3 },
      3_333,
    ],
    [
      'lifetime, last day takes the rest',
      { mode: 'even', dailyBudgetMicros: null, lifetimeRemainingMicros: 10_001, daysLeft: 1 },
      10_001,
    ],
    [
      'lifetime asap: all today',
      { mode: 'asap', dailyBudgetMicros: null, lifetimeRemainingMicros: 10_000, daysLeft: 3 },
      10_000,
    ],
    [
      'daily capped by lifetime',
      { mode: 'asap', dailyBudgetMicros: 5_000, lifetimeRemainingMicros: 1_200, daysLeft: 3 },
      1_200,
    ],
    [
      'lifetime open-ended flight',
      {
        mode: 'frontloaded',
        dailyBudgetMicros: 700,
        lifetimeRemainingMicros: 1_200,
        daysLeft: null,
      },
      700,
    ],
  ] as const)('%s', (_n, input, expected) => {
    expect(dailyAllowanceMicros(input)).toBe(expected);
  });
});

describe('dayFraction', () => {
  it('is clamped to [0, 1]', () => {
    const d = localDay(Date.parse('2026-06-01T12:00:00Z'), 'UTC');
    expect(dayFraction(d.startMs - 1, d)).toBe(0);
    expect(dayFraction(d.startMs + 6 * HOUR, d)).toBe(0.25);
    expect(dayFraction(d.endMs + 1, d)).toBe(1);
  });
});
