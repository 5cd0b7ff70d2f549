/**
 * Targeting predicates: one campaign × one request → pass, or the first failing reason.
 *
 * Implementation notes
 * - Pure: the current time is an argument (`nowMs`), never read here.
 * - Every targeting list is an allow-list; an absent or empty list does not restrict.
 * - A request that omits a field a campaign targets (e.g. no country while the campaign
 *   targets US) does NOT match: targeted budget is not spent on unknown traffic.
 * - Interests match if any request interest or keyword is in the campaign's list.
 */
import type { AdRequest } from '../domain/ad-request.js';
import type { Campaign, Daypart, Placement } from '../domain/entities.js';
import { FilterReason } from '../reasons.js';

export type FilterResult = { pass: true } | { pass: false; reason: FilterReason };

const PASS: FilterResult = { pass: true };
const reject = (reason: FilterReason): FilterResult => ({ pass: false, reason });

function allows<T>(list: readonly T[] | undefined, value: T | undefined): boolean {
  if (list === undefined || list.length === 0) return true;
  return value !== undefined && list.includes(value);
}

export function matchCampaign(
  campaign: Campaign,
  req: AdRequest,
  placement: Placement,
  nowMs: number,
): FilterResult {
  if (campaign.status !== 'active') return reject(FilterReason.CampaignNotActive);
  if (campaign.start_at !== null && nowMs < Date.parse(campaign.start_at)) {
    return reject(FilterReason.FlightNotStarted);
  }
  if (campaign.end_at !== null && nowMs >= Date.parse(campaign.end_at)) {
    return reject(FilterReason.FlightEnded);
  }
  const t = campaign.targeting;
  if (!allows(t.placement_ids, placement.id)) return reject(FilterReason.PlacementNotTargeted);
  if (!allows(t.countries, req.geo?.country?.toUpperCase())) {
    return reject(FilterReason.CountryNotTargeted);
  }
  if (!allows(t.regions, req.geo?.region?.toUpperCase())) {
    return reject(FilterReason.RegionNotTargeted);
  }
  if (!allows(t.device_types, req.device?.type)) return reject(FilterReason.DeviceNotTargeted);
  if (!allows(t.os, req.device?.os?.toLowerCase())) return reject(FilterReason.OsNotTargeted);
  if (t.interests !== undefined && t.interests.length > 0) {
    const signals = [...(req.user?.interests ?? []), ...(req.keywords ?? [])].map((s) =>
      s.toLowerCase(),
    );
    if (!t.interests.some((i) => signals.includes(i.toLowerCase()))) {
      return reject(FilterReason.InterestNotTargeted);
    }
  }
  if (t.dayparts !== undefined && t.dayparts.length > 0) {
    const local = localDayHour(nowMs, campaign.time_zone);
    if (!t.dayparts.some((d) => inDaypart(d, local))) return reject(FilterReason.OutsideDaypart);
  }
  return PASS;
}

export interface LocalDayHour {
  day: number; // 0 = Sunday
  hour: number; // 0..23
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Day of week and hour at `nowMs` in an IANA time zone (Intl carries the tz database). */
export function localDayHour(nowMs: number, timeZone: string): LocalDayHour {
  let fmt = formatters.get(timeZone);
  if (fmt === undefined) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: 'numeric',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, fmt);
  }
  let day = 0;
  let hour = 0;
  for (const part of fmt.formatToParts(nowMs)) {
    if (part.type === 'weekday') day = WEEKDAYS[part.value] ?? 0;
    else if (part.type === 'hour') hour = Number(part.value);
  }
  return { day, hour };
}

function inDaypart(d: Daypart, at: LocalDayHour): boolean {
  return d.days.includes(at.day) && at.hour >= d.start_hour && at.hour < d.end_hour;
}

/** True when `timeZone` is an IANA zone this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}
