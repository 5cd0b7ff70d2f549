import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LoadShedder } from '../../src/server/plugins/load-shed.js';
import {
  DEFAULT_ADMISSION,
  decideShed,
  nextAdmitFraction,
  quantile,
  shedProbability,
  zoneOf,
} from '../../src/core/resilience/load-shed.js';

/** An explicit controller, so the expected shares do not depend on the tuned defaults. */
const STEEP = { decrease: 0.75, increase: 0.05, minAdmit: 0.02 };

describe('load-shed policy', () => {
  it('has the three zones of the seed', () => {
    expect([zoneOf(0.5), zoneOf(0.7), zoneOf(0.89), zoneOf(0.9), zoneOf(1.2)]).toEqual([
      'normal',
      'elevated',
      'elevated',
      'critical',
      'critical',
    ]);
  });

  it('never sheds below 90% utilisation, and always past the hard limit', () => {
    expect(shedProbability(0.89, 0, 100)).toBe(0);
    expect(decideShed(0.89, 0, 100, 0)).toBeNull();
    expect(decideShed(1.5, 1e9, 100, 0.99)).toBe('hard_limit');
  });

  it('keeps requests worth at least the P95, sheds low-value ones first', () => {
    expect(shedProbability(0.99, 100, 100)).toBe(0);
    expect(shedProbability(0.99, 150, 100)).toBe(0);
    expect(shedProbability(1.0, 0, 100)).toBe(1);
    expect(shedProbability(0.95, 0, 100)).toBeCloseTo(0.5);
    expect(shedProbability(0.95, 50, 100)).toBeCloseTo(0.25);
  });

  it('is monotone: more load or less value never lowers the shed probability', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        (u1, u2, v1, v2, p95) => {
          const [ul, uh] = u1 <= u2 ? [u1, u2] : [u2, u1];
          const [vl, vh] = v1 <= v2 ? [v1, v2] : [v2, v1];
          expect(shedProbability(uh, vl, p95)).toBeGreaterThanOrEqual(
            shedProbability(ul, vl, p95) - 1e-12,
          );
          expect(shedProbability(uh, vl, p95)).toBeGreaterThanOrEqual(
            shedProbability(uh, vh, p95) - 1e-12,
          );
        },
      ),
      { seed: 11 },
    );
  });

  it('computes quantiles', () => {
    expect(quantile([], 0.95)).toBe(0);
    expect(quantile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(
      quantile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        0.95,
      ),
    ).toBe(95);
  });

  it('admission: shrinks the admitted share geometrically while critical, holds when elevated, grows back when normal', () => {
    let a = 1;
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) seen.push((a = nextAdmitFraction(a, 0.95, STEEP)));
    expect(seen).toEqual([0.75, 0.5625, 0.421875]);
    expect(nextAdmitFraction(a, 0.8, STEEP)).toBe(a); // elevated: hold
    expect(nextAdmitFraction(a, 0.5, STEEP)).toBeCloseTo(a + STEEP.increase);
    // Never below the floor, never above 1 (defaults too).
    for (let i = 0; i < 100; i++) a = nextAdmitFraction(a, 5);
    expect(a).toBe(DEFAULT_ADMISSION.minAdmit);
    for (let i = 0; i < 100; i++) a = nextAdmitFraction(a, 0);
    expect(a).toBe(1);
  });

  it('admission is monotone in utilisation and stays within [minAdmit, 1]', () => {
    fc.assert(
      fc.property(
        // The controller starts at 1 and never leaves [minAdmit, 1].
        fc.double({ min: DEFAULT_ADMISSION.minAdmit, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 3, noNaN: true }),
        fc.double({ min: 0, max: 3, noNaN: true }),
        (a, u1, u2) => {
          const [ul, uh] = u1 <= u2 ? [u1, u2] : [u2, u1];
          const low = nextAdmitFraction(a, ul);
          const high = nextAdmitFraction(a, uh);
          expect(high).toBeLessThanOrEqual(low + 1e-12);
          for (const x of [low, high]) {
            expect(x).toBeGreaterThanOrEqual(DEFAULT_ADMISSION.minAdmit);
            expect(x).toBeLessThanOrEqual(1);
          }
        },
      ),
      { seed: 12 },
    );
  });
});

describe('LoadShedder early admission', () => {
  it('refuses a share of decisions before the body once critical samples accumulate, and recovers', () => {
    let util = 0.95;
    let draw = 0.5;
    const shedder = new LoadShedder({
      utilization: () => util,
      random: () => draw,
      admission: STEEP,
    });
    // Critical for one sample only pays once the share drops under the draw.
    expect(shedder.admitEarly()).toBeNull();
    shedder.sample(); // 0.75
    shedder.sample(); // 0.5625
    expect(shedder.admitEarly()).toBeNull(); // 0.5 < 0.5625: admitted
    shedder.sample(); // 0.42
    expect(shedder.admitFraction()).toBeCloseTo(0.421875);
    expect(shedder.admitEarly()).toBe('admission');
    draw = 0.1;
    expect(shedder.admitEarly()).toBeNull(); // low draws still get in: never a full stop
    expect(shedder.shed.admission).toBe(1);
    // Back in the normal zone the share grows back to everything.
    util = 0.2;
    for (let i = 0; i < 20; i++) shedder.sample();
    expect(shedder.admitFraction()).toBe(1);
    draw = 0.999;
    expect(shedder.admitEarly()).toBeNull();
  });

  it('checks the hard limit before the admission draw (its own reason)', () => {
    const shedder = new LoadShedder({ utilization: () => 2, random: () => 0 });
    shedder.sample();
    expect(shedder.admitEarly()).toBe('hard_limit');
    expect(shedder.shed).toMatchObject({ hard_limit: 1, admission: 0 });
  });
});
