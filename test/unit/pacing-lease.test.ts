/**
 * Lease sizing (src/core/pacing/lease-size.ts) and the local lease's reservations
 * (src/core/pacing/local-lease.ts): table tests of the seed's rule and fast-check properties.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LocalLease, leaseSizeMicros, maxStrandedMicros } from '../../src/core/pacing/index.js';

const USD = 1_000_000;

describe('leaseSizeMicros', () => {
  const base = {
    budgetMicros: 100_000 * USD,
    servers: 100,
    baseChunkMicros: 100 * USD,
    minChunkMicros: 10_000,
  };
  it.each([
    ['plenty left: the base chunk', 50_000 * USD, 100 * USD],
    ['exactly at 10 %: still the base chunk', 10_000 * USD, 100 * USD],
    // Seed: below 10 % remaining, A = remaining / (servers × 10).
    ['below 10 %: remaining / (S × 10)', 9_000 * USD, 9 * USD],
    ['1 % left', 1_000 * USD, 1 * USD],
    ['tiny remainder: at least one max-price impression', 5 * USD, 10_000],
    ['less than one impression left: all of it', 7_000, 7_000],
    ['nothing left', 0, 0],
    ['overdrawn', -5, 0],
  ])('%s', (_name, remainingMicros, expected) => {
    expect(leaseSizeMicros({ ...base, remainingMicros })).toBe(expected);
  });

  it('bounds stranded budget to S × A (seed: 100 servers × $100 = $10,000)', () => {
    expect(maxStrandedMicros(100, 100 * USD)).toBe(10_000 * USD);
  });

  const input = fc.record({
    budgetMicros: fc.integer({ min: 0, max: 1e12 }),
    remainingMicros: fc.integer({ min: -1e6, max: 1e12 }),
    servers: fc.integer({ min: 1, max: 500 }),
    baseChunkMicros: fc.integer({ min: 0, max: 1e10 }),
    minChunkMicros: fc.integer({ min: 0, max: 1e7 }),
    lowWaterFraction: fc.constantFrom(0.05, 0.1, 0.2),
  });

  it('never asks for more than remains, and is an integer ≥ 0', () => {
    fc.assert(
      fc.property(input, (i) => {
        const a = leaseSizeMicros(i);
        expect(Number.isSafeInteger(a)).toBe(true);
        expect(a).toBeGreaterThanOrEqual(0);
        expect(a).toBeLessThanOrEqual(Math.max(0, i.remainingMicros));
      }),
    );
  });

  it('is non-decreasing in what remains (a smaller budget never gets a bigger chunk)', () => {
    fc.assert(
      fc.property(input, fc.integer({ min: 0, max: 1e10 }), (i, more) => {
        expect(
          leaseSizeMicros({ ...i, remainingMicros: i.remainingMicros + more }),
        ).toBeGreaterThanOrEqual(leaseSizeMicros(i));
      }),
    );
  });

  it('granting chunks until empty hands out exactly the budget, never more', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e9 }),
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 0.001, max: 0.5, noNaN: true }),
        fc.integer({ min: 1_000, max: 1e6 }),
        (budget, servers, chunkShare, minChunk) => {
          const baseChunk = Math.floor(budget * chunkShare);
          let remaining = budget;
          let granted = 0;
          for (let n = 0; remaining > 0 && n < 20_000; n++) {
            const a = leaseSizeMicros({
              budgetMicros: budget,
              remainingMicros: remaining,
              servers,
              baseChunkMicros: baseChunk,
              minChunkMicros: minChunk,
            });
            expect(a).toBeGreaterThan(0);
            remaining -= a;
            granted += a;
          }
          expect(granted).toBe(budget);
          expect(remaining).toBe(0);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('LocalLease', () => {
  it('reserves, commits at most the reservation, releases and expires', () => {
    const l = new LocalLease('l1', 1_000);
    expect(l.reserve('d1', 600, 100)).toBe('reserved');
    expect(l.reserve('d1', 1, 100)).toBe('duplicate');
    expect(l.reserve('d2', 500, 100)).toBe('insufficient');
    expect(l.reserve('d2', 400, 50)).toBe('reserved');
    expect(l.availableMicros).toBe(0);
    expect(l.commit('d1', 601)).toBe('exceeds_reservation');
    expect(l.commit('d1', 250)).toBe('committed');
    expect(l.commit('d1', 250)).toBe('unknown');
    expect(l.availableMicros).toBe(350);
    expect(l.expireReservations(49)).toBe(0);
    expect(l.expireReservations(50)).toBe(1);
    expect(l.release('d2')).toBe('unknown');
    expect({ spent: l.spent, reserved: l.reserved, unspent: l.unspentMicros }).toEqual({
      spent: 250,
      reserved: 0,
      unspent: 750,
    });
  });

  it('never lets reserved + spent exceed the grant, whatever the sequence', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('reserve' as const),
        key: fc.integer({ min: 0, max: 9 }),
        micros: fc.integer({ min: 0, max: 400 }),
        exp: fc.integer({ min: 0, max: 100 }),
      }),
      fc.record({
        kind: fc.constant('commit' as const),
        key: fc.integer({ min: 0, max: 9 }),
        micros: fc.integer({ min: 0, max: 400 }),
      }),
      fc.record({ kind: fc.constant('release' as const), key: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ kind: fc.constant('expire' as const), now: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ kind: fc.constant('shrink' as const), micros: fc.integer({ min: 0, max: 400 }) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000 }),
        fc.array(op, { maxLength: 60 }),
        (granted, ops) => {
          const l = new LocalLease('p', granted);
          for (const o of ops) {
            if (o.kind === 'reserve') l.reserve(`k${o.key}`, o.micros, o.exp);
            else if (o.kind === 'commit') l.commit(`k${o.key}`, o.micros);
            else if (o.kind === 'release') l.release(`k${o.key}`);
            else if (o.kind === 'shrink') {
              const before = l.availableMicros;
              expect(l.shrink(o.micros)).toBe(Math.min(o.micros, before));
            } else l.expireReservations(o.now);
            expect(l.reserved + l.spent).toBeLessThanOrEqual(l.grantedMicros);
            expect(l.grantedMicros).toBeLessThanOrEqual(granted);
            expect(l.availableMicros).toBeGreaterThanOrEqual(0);
          }
        },
      ),
    );
  });
});
