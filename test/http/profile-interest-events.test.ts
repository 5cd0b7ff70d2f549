/**
 * Interest events (issue 7 item 4): through the real runtime, a click on an ad (tracking URL)
 * raises a consenting user's profile interests in the clicked campaign's targeted interests by
 * INTEREST_CLICK_STEP (src/stream/profile-interests.ts), through the same update and cache
 * invalidation as the HTTP route; a non-consenting user's profile is left as it was, and an
 * erased user (or one without a profile) gets no profile from a click.
 *
 * Waits are bounded loops. The consumer handles clicks in log order, so once a later
 * "sentinel" click of a consenting user has been applied, every earlier click has been handled:
 * that is how the "unchanged" cases know the consumer has seen their click.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userKey } from '../../src/exchange/user-key.js';
import type { UserProfile } from '../../src/ports/profile-store.js';
import { INTEREST_CLICK_STEP } from '../../src/stream/profile-interests.js';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { ADMIN_KEY, pathOf, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

const admin = { 'x-api-key': ADMIN_KEY };
const run = randomBytes(4).toString('hex');
const id = (name: string) => `interest-events-${name}-${run}`;

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => {
  await rt?.close();
});

const put = async (raw: string, personalization: boolean, interests: Record<string, number>) => {
  const res = await rt.app.inject({
    method: 'PUT',
    url: `/v1/users/${encodeURIComponent(raw)}/profile`,
    headers: admin,
    payload: {
      demographics: { age_range: '25-34', country: 'US' },
      interests,
      consent: { personalization, measurement: true },
    },
  });
  expect(res.statusCode).toBe(200);
};

const getProfile = async (raw: string): Promise<UserProfile | null> => {
  const res = await rt.app.inject({
    url: `/v1/users/${encodeURIComponent(raw)}/profile`,
    headers: admin,
  });
  if (res.statusCode === 404) return null;
  expect(res.statusCode).toBe(200);
  return res.json() as UserProfile;
};

interface Decision {
  campaign_id: string;
  tracking: { impression_url: string; click_url: string };
}

const decide = async (raw: string): Promise<Decision> => {
  const res = await rt.app.inject({
    method: 'POST',
    url: '/v1/decisions',
    payload: { ...DEMO_REQUEST, user: { id: raw } },
  });
  expect(res.statusCode).toBe(200);
  return res.json() as Decision;
};

const click = async (d: Decision) => {
  expect((await rt.app.inject({ url: pathOf(d.tracking.impression_url) })).statusCode).toBe(200);
  expect((await rt.app.inject({ url: pathOf(d.tracking.click_url) })).statusCode).toBe(302);
};

const targetedInterests = async (campaignId: string): Promise<string[]> => {
  const res = await rt.app.inject({ url: `/v1/admin/campaigns/${campaignId}`, headers: admin });
  expect(res.statusCode).toBe(200);
  return (res.json() as { targeting: { interests?: string[] } }).targeting.interests ?? [];
};

/** Polls (bounded: 150 × 100 ms) until `done` holds; returns the last value. */
async function waitFor<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  let v = await read();
  for (let i = 0; i < 150 && !done(v); i++) {
    await new Promise((r) => setTimeout(r, 100));
    v = await read();
  }
  return v;
}

const round = (x: number) => Math.round(x * 1e9) / 1e9;

/** A consenting user's click; resolves once the consumer applied it (the sentinel). */
async function consentingClick(raw: string, start = 0.5): Promise<void> {
  await put(raw, true, { travel: start });
  const d = await decide(raw);
  const cats = await targetedInterests(d.campaign_id);
  // The demo request's winner targets interests; without them the rule has nothing to raise.
  expect(cats.length).toBeGreaterThan(0);
  const first = cats[0]!;
  const before = (await getProfile(raw))?.interests[first] ?? 0;
  await click(d);
  const after = await waitFor(
    () => getProfile(raw),
    (p) => (p?.interests[first] ?? 0) > before,
  );
  expect(round(after?.interests[first] ?? 0)).toBe(
    round(Math.min(1, before + INTEREST_CLICK_STEP)),
  );
}

describe('click events update profile interests', () => {
  it('raises a consenting user’s interests in the clicked campaign’s targeted interests', async () => {
    const raw = id('consenting');
    await put(raw, true, { travel: 0.5, running: 0.98 });
    const d = await decide(raw);
    const cats = await targetedInterests(d.campaign_id);
    expect(cats.length).toBeGreaterThan(0);
    const before = (await getProfile(raw))!;
    await click(d);
    const after = await waitFor(
      () => getProfile(raw),
      (p) => p !== null && p.version > before.version,
    );
    expect(after?.version).toBe(before.version + 1);
    const expected: Record<string, number> = { ...before.interests };
    for (const c of cats.slice(0, 5)) {
      expected[c] = round(Math.min(1, (before.interests[c] ?? 0) + INTEREST_CLICK_STEP));
    }
    const got = Object.fromEntries(
      Object.entries(after?.interests ?? {}).map(([k, v]) => [k, round(v)]),
    );
    expect(got).toEqual(expected);
    // The stored row agrees with what the (invalidated) cache served.
    expect((await rt.userData.profiles.get(userKey(raw)))?.interests).toEqual(after?.interests);
    // Consent and demographics are not touched.
    expect(after?.consent).toEqual(before.consent);
    expect(after?.demographics).toEqual(before.demographics);
  });

  it('leaves a non-consenting user’s profile unchanged', async () => {
    const raw = id('no-consent');
    await put(raw, false, { travel: 0.5 });
    const before = await getProfile(raw);
    await click(await decide(raw));
    await consentingClick(id('sentinel-1'));
    expect(await getProfile(raw)).toEqual(before);
    expect(await rt.userData.profiles.get(userKey(raw))).toEqual(before);
  });

  it('gives no profile back to an erased user, nor one to a user without a profile', async () => {
    const erased = id('erased');
    await put(erased, true, { travel: 0.5 });
    const d = await decide(erased);
    const del = await rt.app.inject({
      method: 'DELETE',
      url: `/v1/users/${encodeURIComponent(erased)}`,
      headers: admin,
    });
    expect(del.statusCode).toBe(200);
    const stranger = id('no-profile');
    const s = await decide(stranger);
    // The URLs were issued before the erasure; opening them afterwards must bring nothing back.
    await click(d);
    await click(s);
    await consentingClick(id('sentinel-2'));
    expect(await getProfile(erased)).toBeNull();
    expect(await rt.userData.profiles.get(userKey(erased))).toBeNull();
    expect(await rt.userData.profiles.isTombstoned(userKey(erased))).toBe(true);
    expect(await getProfile(stranger)).toBeNull();
    expect(await rt.userData.profiles.get(userKey(stranger))).toBeNull();
  });
});
