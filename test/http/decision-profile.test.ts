/**
 * Decisions read the user's profile (issue 7): through the real runtime, a decision for a user
 * with a profile scores its candidates with the profile's interests and the 7-day engagement
 * the aggregates consumer wrote, read through the tiered cache; consent is honoured; an update
 * (invalidation) reaches the next decision.
 *
 * The model is built by hand so that the check is exact: two one-split trees, on
 * `user.interest.travel` (> 0.5 adds 2 to the margin) and on `user.ctr_7d` (> 0.05 adds 1),
 * missing values going left (adding 0). Every candidate's CTR is therefore sigmoid(-4),
 * sigmoid(-2) or sigmoid(-1) — which one says what the input vector held.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CTR_SCHEMA } from '../../src/core/features/schema.js';
import type { Tree, TreeEnsemble } from '../../src/core/scoring/model.js';
import { userKey } from '../../src/exchange/user-key.js';
import { generateSigningKeys } from '../../src/ml/registry.js';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { publishSignedModel } from '../helpers/models.js';
import { ADMIN_KEY, pathOf, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

const dir = mkdtempSync(join(tmpdir(), 'adstack-profile-model-'));
const modelPath = join(dir, 'ctr.json');
const keyPath = join(dir, 'model-key.pem');
const admin = { 'x-api-key': ADMIN_KEY };
const sigmoid = (m: number) => 1 / (1 + Math.exp(-m));

function split(feature: string, threshold: number, right: number): Tree {
  const index = CTR_SCHEMA.features.findIndex((f) => f.name === feature);
  if (index < 0) throw new Error(`no feature ${feature}`);
  return {
    feature: [index, -1, -1],
    threshold: [threshold, 0, 0],
    left: [1, -1, -1],
    right: [2, -1, -1],
    missingLeft: [true, false, false],
    value: [0, 0, right],
  };
}

const MODEL: TreeEnsemble = {
  numFeatures: CTR_SCHEMA.size,
  baseMargin: -4,
  trees: [split('user.interest.travel', 0.5, 2), split('user.ctr_7d', 0.05, 1)],
  accumulation: 'float64',
  link: 'logistic',
};

let rt: TestRuntime;
beforeAll(async () => {
  const keys = generateSigningKeys();
  writeFileSync(keyPath, keys.publicKeyPem);
  await publishSignedModel(modelPath, MODEL, 'profile-test', keys.privateKeyPem);
  rt = await startTestRuntime({ ADSTACK_MODEL_PATH: modelPath, ADSTACK_MODEL_PUBLIC_KEY: keyPath });
});
afterAll(async () => {
  await rt?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Explained {
  decision_id: string;
  creative_id: string;
  tracking: { impression_url: string; click_url: string };
  debug: {
    user_features?: { profile: string; engagement: string };
    candidates: { prediction?: { ctr: number } }[];
  };
}

async function decide(userId: string): Promise<Explained> {
  const res = await rt.app.inject({
    method: 'POST',
    url: '/v1/decisions?debug=1',
    payload: { ...DEMO_REQUEST, user: { id: userId } },
    headers: admin,
  });
  expect(res.statusCode).toBe(200);
  return res.json() as Explained;
}

/** The CTRs the candidates were scored with (all equal here: the model reads user features). */
const ctrs = (d: Explained) => [
  ...new Set(d.debug.candidates.flatMap((c) => (c.prediction ? [c.prediction.ctr] : []))),
];

const putProfile = (id: string, personalization: boolean, travel: number) =>
  rt.app.inject({
    method: 'PUT',
    url: `/v1/users/${id}/profile`,
    headers: admin,
    payload: {
      demographics: { age_range: '25-34', country: 'US' },
      interests: { travel, food: 0.2 },
      consent: { personalization, measurement: true },
    },
  });

describe('decisions read the user profile', () => {
  it('a profile’s interests and 7-day engagement change the scored input vector', async () => {
    // No profile: the user group holds what the request carries; both splits go left.
    const none = await decide('profile-user-none');
    expect(none.debug.user_features).toEqual({ profile: 'absent', engagement: 'not_read' });
    expect(ctrs(none)).toEqual([sigmoid(-4)]);

    // A consenting user who likes travel: the interest split goes right.
    expect((await putProfile('profile-user-b', true, 0.9)).statusCode).toBe(200);
    const b = await decide('profile-user-b');
    expect(b.debug.user_features).toEqual({ profile: 'found', engagement: 'absent' });
    expect(ctrs(b)).toEqual([sigmoid(-2)]);

    // Her impression and click reach the aggregates consumer; the next decision sees a 7-day
    // CTR of 1 in the feature store.
    expect((await rt.app.inject({ url: pathOf(b.tracking.impression_url) })).statusCode).toBe(200);
    expect((await rt.app.inject({ url: pathOf(b.tracking.click_url) })).statusCode).toBe(302);
    const key = userKey('profile-user-b');
    for (let i = 0; i < 100; i++) {
      const f = await rt.userData.features.get('user', key);
      if (f?.ctr_7d === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const b2 = await decide('profile-user-b');
    expect(b2.debug.user_features).toEqual({ profile: 'found', engagement: 'found' });
    expect(ctrs(b2)).toEqual([sigmoid(-1)]);

    // An interest event lowers travel; the invalidation reaches the next decision at once.
    const ev = await rt.app.inject({
      method: 'POST',
      url: '/v1/users/profile-user-b/interests',
      headers: admin,
      payload: { deltas: { travel: -0.8 } },
    });
    expect(ev.statusCode).toBe(200);
    expect(ctrs(await decide('profile-user-b'))).toEqual([sigmoid(-3)]);
  });

  it('without personalization consent the profile is not used', async () => {
    expect((await putProfile('profile-user-c', false, 0.9)).statusCode).toBe(200);
    const c = await decide('profile-user-c');
    expect(c.debug.user_features).toEqual({ profile: 'no_consent', engagement: 'not_read' });
    expect(ctrs(c)).toEqual([sigmoid(-4)]);
  });
});
