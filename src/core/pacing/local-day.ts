/**
 * Day boundaries in a campaign's IANA time zone (issue 6 item 6: "campaign time zones for day
 * boundaries"), from Intl alone (it carries the tz database); pure, `nowMs` is an argument.
 *
 * Implementation notes
 * - A local day is [startMs, endMs): startMs is the first instant whose local date is the day,
 *   endMs the first instant of the next local date. Days are 23 h or 25 h long on DST changes;
 *   where a zone skips midnight (e.g. America/Santiago's spring change) the day starts at the
 *   first local time that exists (01:00).
 * - Midnight is guessed from the zone offset (formatting an instant and comparing with UTC),
 *   then found exactly by stepping an hour at a time and bisecting on "is the local date still
 *   the same"; about 30 Intl calls, so callers compute a day once and keep it until `endMs`.
 * - Assumes a local date is one contiguous interval; a zone that falls back across midnight
 *   (e.g. Asia/Tehran before 2022) briefly revisits the previous date; there the boundaries
 *   found may be off by that repeated hour.
 */

export interface LocalDay {
  /** Local calendar date, `YYYY-MM-DD`: the period key of a daily budget. */
  dayKey: string;
  startMs: number;
  endMs: number;
}

interface LocalParts {
  y: number;
  m: number; // 1..12
  d: number;
  utcOfLocalMs: number; // the local wall time read as if it were UTC
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let fmt = formatters.get(timeZone);
  if (fmt === undefined) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, fmt);
  }
  return fmt;
}

function localParts(ms: number, timeZone: string): LocalParts {
  const v: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(ms)) {
    if (p.type !== 'literal') v[p.type] = Number(p.value);
  }
  const y = v.year ?? 1970;
  const m = v.month ?? 1;
  const d = v.day ?? 1;
  const wallMs =
    Date.UTC(y, m - 1, d, v.hour ?? 0, v.minute ?? 0, v.second ?? 0) +
    (((ms % 1000) + 1000) % 1000);
  return { y, m, d, utcOfLocalMs: wallMs };
}

/** Offset of the zone at `ms` (local wall time minus UTC), milliseconds. */
function offsetMs(ms: number, timeZone: string): number {
  return localParts(ms, timeZone).utcOfLocalMs - ms;
}

function sameDate(a: LocalParts, b: LocalParts): boolean {
  return a.y === b.y && a.m === b.m && a.d === b.d;
}

const HOUR_MS = 3_600_000;

/** Smallest ms in (lo, hi] where `pred` holds, given pred(lo) false and pred(hi) true. */
function firstTrue(lo: number, hi: number, pred: (ms: number) => boolean): number {
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (pred(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The local day containing `nowMs` in `timeZone`. */
export function localDay(nowMs: number, timeZone: string): LocalDay {
  const now = Math.floor(nowMs);
  const p = localParts(now, timeZone);
  const onDay = (ms: number): boolean => sameDate(localParts(ms, timeZone), p);
  // Guess local midnight from the offset now, then step by hours until outside the day (a
  // guess is off by at most an offset change) and bisect to the exact millisecond.
  let before = Math.min(now, Date.UTC(p.y, p.m - 1, p.d) - offsetMs(now, timeZone));
  while (onDay(before)) before -= HOUR_MS;
  const startMs = firstTrue(before, now, onDay);
  // The end is the first instant of a different date; stepping (not "next date's midnight")
  // also handles a skipped calendar date (Pacific/Apia, 2011-12-30).
  let after = Math.max(now + 1, startMs + 24 * HOUR_MS);
  while (onDay(after)) after += HOUR_MS;
  const endMs = firstTrue(now, after, (ms) => !onDay(ms));
  const dayKey = `${String(p.y).padStart(4, '0')}-${String(p.m).padStart(2, '0')}-${String(p.d).padStart(2, '0')}`;
  return { dayKey, startMs, endMs };
}

/** Fraction of the local day elapsed at `nowMs`, in [0, 1] (real time, so DST days stretch). */
export function dayFraction(nowMs: number, day: LocalDay): number {
  const len = day.endMs - day.startMs;
  if (len <= 0) return 1;
  return Math.min(1, Math.max(0, (nowMs - day.startMs) / len));
}
