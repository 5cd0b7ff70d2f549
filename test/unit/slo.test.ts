import { describe, expect, it } from 'vitest';
import { burnAlerts, SloWindow } from '../../src/core/resilience/slo.js';

const T0 = Date.parse('2026-06-01T00:00:00Z');
const MIN = 60_000;

describe('SLO burn rates', () => {
  it('is (bad / total) / (1 − objective) over each window', () => {
    const w = new SloWindow(0.999);
    for (let i = 0; i < 990; i++) w.record(T0, true);
    for (let i = 0; i < 10; i++) w.record(T0, false); // 1% bad = 10× the 0.1% budget
    expect(w.burnRate(T0, 5)).toBeCloseTo(10);
    expect(w.rates(T0)['6h']).toBeCloseTo(10);
  });

  it('forgets minutes that left the window, and reuses ring slots correctly', () => {
    const w = new SloWindow(0.99);
    w.record(T0, false);
    expect(w.burnRate(T0 + 4 * MIN, 5)).toBeCloseTo(100);
    expect(w.burnRate(T0 + 5 * MIN, 5)).toBe(0); // the bad minute is 5 minutes old
    w.record(T0 + 360 * MIN, true); // same ring slot as T0, six hours later
    expect(w.burnRate(T0 + 360 * MIN, 360)).toBe(0);
  });

  it('pages only when both the long and the short window burn fast', () => {
    const w = new SloWindow(0.999);
    // An hour of 2% errors: 20× burn everywhere.
    for (let m = 0; m < 60; m++) for (let i = 0; i < 100; i++) w.record(T0 + m * MIN, i >= 2);
    const now = T0 + 59 * MIN;
    expect(burnAlerts(w.rates(now))).toEqual({ page: true, ticket: true });
    // Ten clean minutes later the 5 m window has recovered: no page any more.
    for (let m = 60; m < 70; m++) for (let i = 0; i < 100; i++) w.record(T0 + m * MIN, true);
    expect(burnAlerts(w.rates(T0 + 69 * MIN)).page).toBe(false);
  });
});
