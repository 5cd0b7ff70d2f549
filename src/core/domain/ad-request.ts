import type { DeviceType } from './entities.js';

/**
 * Our own ad request (`POST /v1/decisions`), the non-OpenRTB entry point.
 * The user id is an opaque id chosen by the publisher; it is never logged raw.
 */
export interface AdRequest {
  placement_id: string;
  user?: { id?: string; interests?: string[] };
  device?: { type?: DeviceType; os?: string; ua?: string; ip?: string };
  geo?: { country?: string; region?: string };
  site?: { domain?: string; page?: string };
  app?: { bundle?: string; name?: string };
  keywords?: string[];
}
