import { describe, expect, it } from 'vitest';
import { SlidingSums } from '../../src/core/aggregates/sliding-window.js';

const MIN = 60_000;
const T0 = Date.parse('2026-06-01T12:00:00Z');

describe('SlidingSums', () => {
  it('sums the buckets inside the window and forgets older ones', () => {
    const w = new SlidingSums(MIN, 60, 2); // one hour of minutes
    w.add(T0, [1, 0]);
    w.add(T0 + 30 * MIN, [2, 1]);
    w.add(T0 + 30 * MIN + 5, [1, 1]);
    expect(w.sum(T0 + 30 * MIN)).toEqual([4, 2]);
    // The T0 bucket leaves when the window no longer covers its start.
    expect(w.sum(T0 + 60 * MIN - 1)).toEqual([4, 2]);
    expect(w.sum(T0 + 60 * MIN)).toEqual([3, 2]);
    expect(w.sum(T0 + 91 * MIN)).toEqual([0, 0]);
    expect(w.idle(T0 + 91 * MIN)).toBe(true);
  });

  it('reuses a ring slot for a new bucket and ignores events older than a slot holds', () => {
    const w = new SlidingSums(MIN, 3, 1);
    w.add(T0, [5]);
    w.add(T0 + 3 * MIN, [1]); // same slot, newer bucket: replaces
    expect(w.sum(T0 + 3 * MIN)).toEqual([1]);
    w.add(T0, [7]); // late event for a bucket already recycled
    expect(w.sum(T0 + 3 * MIN)).toEqual([1]);
  });
});
