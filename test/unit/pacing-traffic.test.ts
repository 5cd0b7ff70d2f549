/**
 * HourlyTrafficHistory (src/core/pacing/traffic.ts): the hourly forecast of the pacing target
 * curve is learned from whole past days only; partial or interrupted days are not learned.
 */
import { describe, expect, it } from 'vitest';
import { FLAT_FORECAST, HourlyTrafficHistory } from '../../src/core/pacing/index.js';

function feed(h: HourlyTrafficHistory, id: string, day: string, perHour: (hour: number) => number) {
  for (let hour = 0; hour < 24; hour++) {
    for (let i = 0; i < perHour(hour); i++) h.observe(id, day, hour);
  }
}

describe('HourlyTrafficHistory', () => {
  it('is flat until a whole day ended, then follows that day', () => {
    const h = new HourlyTrafficHistory();
    h.startDay('c', '2026-06-01', true);
    feed(h, 'c', '2026-06-01', (hour) => (hour >= 12 ? 3 : 1));
    expect(h.forecast('c')).toBe(FLAT_FORECAST);
    h.startDay('c', '2026-06-02', true); // closes 06-01
    expect(h.learnedDays('c')).toBe(1);
    const f = h.forecast('c');
    expect(f.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(f[13]).toBeCloseTo(3 * (f[2] ?? 0), 12);
  });

  it('does not learn a day joined half-way or interrupted', () => {
    const h = new HourlyTrafficHistory();
    h.startDay('c', '2026-06-01', false); // process started at noon
    feed(h, 'c', '2026-06-01', (hour) => (hour >= 12 ? 5 : 0));
    h.startDay('c', '2026-06-02', true);
    expect(h.learnedDays('c')).toBe(0);
    feed(h, 'c', '2026-06-02', () => 2);
    h.interrupt('c'); // paused in the afternoon
    h.endDay('c', '2026-06-02');
    expect(h.learnedDays('c')).toBe(0);
    expect(h.forecast('c')).toBe(FLAT_FORECAST);
  });

  it('keeps the last keepDays whole days and ignores other days observations', () => {
    const h = new HourlyTrafficHistory(2);
    for (let d = 1; d <= 4; d++) {
      const day = `2026-06-0${d}`;
      h.startDay('c', day, true);
      h.observe('c', '2026-05-01', 3); // not the open day: ignored
      feed(h, 'c', day, (hour) => (hour === 0 ? d : 1));
      h.endDay('c', day);
    }
    expect(h.learnedDays('c')).toBe(2);
    // Mean shape of days 3 and 4: hour 0 has 3/26 and 4/27 of the day.
    const expected0 = (3 / 26 + 4 / 27) / 2;
    const f = h.forecast('c');
    const total = f.reduce((a, b) => a + b, 0);
    expect((f[0] ?? 0) / total).toBeCloseTo(expected0, 2);
  });
});
