import { describe, expect, it } from 'vitest';
import {
  DegradationLadder,
  DegradationLevel,
  degradationName,
} from '../../src/core/resilience/degradation.js';

const calm = { utilization: 0.2, openBreakers: [] };

describe('degradation ladder', () => {
  it('stays normal below the first step and names every level', () => {
    const l = new DegradationLadder();
    expect(l.evaluate(0, { utilization: 0.84, openBreakers: [] })).toBeNull();
    expect(l.level).toBe(DegradationLevel.Normal);
    expect([0, 1, 2, 3, 4].map((n) => degradationName(n as DegradationLevel))).toEqual([
      'normal',
      'stale_cache',
      'skip_ml',
      'drop_rtb_tail',
      'house_only',
    ]);
  });

  it('degrades at once to the step the utilisation calls for, several steps in one go', () => {
    const l = new DegradationLadder();
    expect(l.evaluate(0, { utilization: 0.96, openBreakers: [] })).toEqual({
      from: 0,
      to: DegradationLevel.SkipMl,
      cause: 'utilization',
    });
    expect(l.evaluate(10, { utilization: 1.5, openBreakers: [] })).toEqual({
      from: 2,
      to: DegradationLevel.HouseOnly,
      cause: 'utilization',
    });
  });

  it('an open dependency breaker holds at least the stale-cache step until it closes', () => {
    const l = new DegradationLadder();
    expect(l.evaluate(0, { utilization: 0.1, openBreakers: ['redis'] })).toEqual({
      from: 0,
      to: DegradationLevel.StaleCache,
      cause: 'breaker',
    });
    // Calm load but the breaker is still open: no recovery, however long.
    for (let t = 0; t <= 60_000; t += 1000) {
      expect(l.evaluate(t, { utilization: 0.1, openBreakers: ['redis'] })).toBeNull();
    }
    expect(l.level).toBe(DegradationLevel.StaleCache);
    expect(l.evaluate(61_000, calm)).toBeNull(); // the hold starts
    expect(l.evaluate(65_999, calm)).toBeNull();
    expect(l.evaluate(66_000, calm)).toEqual({ from: 1, to: 0, cause: 'recovered' });
  });

  it('recovers one step per hold, and only below each step’s exit line (hysteresis)', () => {
    const l = new DegradationLadder();
    l.evaluate(0, { utilization: 1.2, openBreakers: [] }); // drop_rtb_tail
    expect(l.level).toBe(DegradationLevel.DropRtbTail);
    // 0.95: below the step's enter line (1.1) but above its exit line (0.9): stays.
    for (let t = 1000; t <= 20_000; t += 1000) {
      expect(l.evaluate(t, { utilization: 0.95, openBreakers: [] })).toBeNull();
    }
    expect(l.level).toBe(DegradationLevel.DropRtbTail);
    const changes = [];
    for (let t = 21_000; t <= 60_000; t += 500) {
      const c = l.evaluate(t, calm);
      if (c !== null) changes.push({ t, ...c });
    }
    expect(changes).toEqual([
      { t: 26_000, from: 3, to: 2, cause: 'recovered' },
      { t: 31_000, from: 2, to: 1, cause: 'recovered' },
      { t: 36_000, from: 1, to: 0, cause: 'recovered' },
    ]);
  });

  it('a spike during the hold restarts it', () => {
    const l = new DegradationLadder();
    l.evaluate(0, { utilization: 0.9, openBreakers: [] });
    expect(l.level).toBe(DegradationLevel.StaleCache);
    l.evaluate(1000, calm);
    l.evaluate(5000, { utilization: 0.75, openBreakers: [] }); // above the exit line 0.70
    expect(l.evaluate(6000, calm)).toBeNull(); // hold restarts here
    expect(l.evaluate(10_999, calm)).toBeNull();
    expect(l.evaluate(11_000, calm)).toEqual({ from: 1, to: 0, cause: 'recovered' });
  });

  it('a pinned level is a floor: entered at once (cause pinned), held, then left by recovery', () => {
    const l = new DegradationLadder();
    const pinned = { ...calm, pinned: DegradationLevel.HouseOnly };
    expect(l.evaluate(0, pinned)).toEqual({ from: 0, to: 4, cause: 'pinned' });
    expect(l.evaluate(60_000, pinned)).toBeNull(); // calm for a minute, still pinned
    expect(l.level).toBe(DegradationLevel.HouseOnly);
    expect(l.evaluate(60_500, calm)).toBeNull(); // unpinned: the hold starts
    expect(l.evaluate(65_500, calm)).toEqual({ from: 4, to: 3, cause: 'recovered' });
  });
});
