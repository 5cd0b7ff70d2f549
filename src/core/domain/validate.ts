/**
 * Business rules the JSON schemas cannot express, checked on the whole object after a create
 * or a patch is applied. Each failure names the field, for a clear 400 ADS_ERR_VALIDATION.
 */
import { AdsError } from '../errors.js';
import { isValidTimeZone } from '../filters/targeting.js';
import type { Campaign, Creative, EntityByKind, EntityKind, Placement } from './entities.js';

function fail(message: string): never {
  throw new AdsError('ADS_ERR_VALIDATION', message);
}

function checkCampaign(c: Campaign): void {
  if (!isValidTimeZone(c.time_zone)) fail(`time_zone: unknown IANA time zone '${c.time_zone}'`);
  if (c.start_at !== null && Number.isNaN(Date.parse(c.start_at)))
    fail('start_at: not a date-time');
  if (c.end_at !== null && Number.isNaN(Date.parse(c.end_at))) fail('end_at: not a date-time');
  if (c.start_at !== null && c.end_at !== null && Date.parse(c.end_at) <= Date.parse(c.start_at)) {
    fail('end_at: must be after start_at');
  }
  if (
    c.daily_budget_micros !== null &&
    c.lifetime_budget_micros !== null &&
    c.daily_budget_micros > c.lifetime_budget_micros
  ) {
    fail('daily_budget_micros: must not exceed lifetime_budget_micros');
  }
  for (const [i, d] of (c.targeting.dayparts ?? []).entries()) {
    if (d.end_hour <= d.start_hour)
      fail(`targeting.dayparts[${i}]: end_hour must be after start_hour`);
  }
}

function checkSized(format: string, w: number | null, h: number | null, what: string): void {
  if (format === 'banner' && (w === null || h === null)) fail(`${what}: a banner needs w and h`);
}

function checkCreative(c: Creative): void {
  checkSized(c.format, c.w, c.h, 'creative');
  if (c.format === 'native') {
    if (c.native === null) fail('native: a native creative needs its assets');
  } else if ((c.markup === null) === (c.url === null)) {
    fail(`markup/url: a ${c.format} creative needs exactly one of markup or url`);
  }
}

function checkPlacement(p: Placement): void {
  checkSized(p.format, p.w, p.h, 'placement');
}

export function checkEntity<K extends EntityKind>(kind: K, entity: EntityByKind[K]): void {
  if (kind === 'campaigns') checkCampaign(entity as Campaign);
  else if (kind === 'creatives') checkCreative(entity as Creative);
  else if (kind === 'placements') checkPlacement(entity as Placement);
}
