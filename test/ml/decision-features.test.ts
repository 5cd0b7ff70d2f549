/**
 * The decision feature log adapter (src/adapters/postgres/decision-features.ts) against its port's
 * guarantees, on PGlite and on the real PostgreSQL (skipped outside CI when unreachable): inputs
 * read back exactly, one row per decision id, failures dropped and counted without throwing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDecisionFeatureLog } from '../../src/adapters/postgres/decision-features.js';
import type { CtrInput } from '../../src/core/features/input.js';
import { decodeCtrInput } from '../../src/core/features/logged.js';
import { CTR_SCHEMA, vectorize } from '../../src/core/features/schema.js';
import { freshPglite, freshPostgresSchema, type TestDb } from '../helpers/databases.js';
import { requireService } from '../helpers/services.js';

const T = Date.UTC(2026, 10, 25, 12);

const inputs: CtrInput[] = [
  {
    user: { country: 'US', region: 'US-CA', interests: { travel: 1, sports: 0 }, age: 0.1 + 0.2 },
    ad: { advertiserId: 'a', campaignId: 'c', creativeType: 'video', bidCpm: 1 / 3 },
    context: { device: 'mobile', os: 'ios', hour: undefined },
  },
  // NaN is written as null and read back as missing, as vectorize treats NaN.
  { user: { histCtr: NaN }, ad: { campaignId: 'c2' }, context: {}, history: {} },
];

function vector(input: CtrInput): number[] {
  const v = new Float64Array(CTR_SCHEMA.size);
  vectorize(input, v);
  return Array.from(v);
}

function contract(name: string, open: () => Promise<TestDb>): void {
  describe(`decision feature log on ${name}`, () => {
    let db: TestDb;
    beforeAll(async () => {
      db = await open();
    }, 60_000);
    afterAll(async () => {
      await db?.close();
    });

    it('reads every input back to the same feature vector, one row per decision', async () => {
      const log = createPgDecisionFeatureLog(db.driver, { batchSize: 2 });
      inputs.forEach((input, i) => log.record({ decisionId: `d-${i}`, decidedAtMs: T, input }));
      log.record({ decisionId: 'd-0', decidedAtMs: T + 1, input: inputs[1]! }); // same id again
      await log.close();
      expect(log.dropped).toBe(0);
      const rows = await db.driver.query<{ decision_id: string; input: string; ms: number }>(
        `SELECT decision_id, input, (extract(epoch FROM decided_at) * 1000)::float8 AS ms
           FROM decision_features ORDER BY decision_id`,
      );
      expect(rows.map((r) => r.decision_id)).toEqual(['d-0', 'd-1']);
      expect(rows.every((r) => r.ms === T)).toBe(true); // the first record of d-0 stays
      rows.forEach((r, i) => {
        const back = decodeCtrInput(r.input);
        expect(vector(back)).toEqual(vector(inputs[i]!));
      });
      expect(decodeCtrInput(rows[0]!.input).ad.bidCpm).toBe(1 / 3);
      expect(decodeCtrInput(rows[1]!.input).user.histCtr).toBeUndefined();
    });

    it('refuses records after close (dropped, counted)', async () => {
      const log = createPgDecisionFeatureLog(db.driver);
      await log.close();
      log.record({ decisionId: 'late', decidedAtMs: T, input: inputs[0]! });
      await log.flush();
      expect(log.dropped).toBe(1);
      expect(log.written).toBe(0);
    });
  });
}

contract('PGlite', freshPglite);
const pgAvailable = await requireService('postgres');
if (pgAvailable) contract('PostgreSQL', freshPostgresSchema);

describe('decision feature log failures', () => {
  it('drops and counts the records of a failed write, reports the error, never throws', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const log = createPgDecisionFeatureLog(
      {
        query: () => {
          calls++;
          return Promise.reject(new Error('database down'));
        },
      },
      { batchSize: 2, onError: (e) => errors.push(e) },
    );
    for (let i = 0; i < 3; i++)
      log.record({ decisionId: `x-${i}`, decidedAtMs: T, input: inputs[0]! });
    await log.flush();
    expect(calls).toBe(2); // batches of 2 and 1
    expect(log.dropped).toBe(3);
    expect(log.written).toBe(0);
    expect(errors).toHaveLength(2);
    await log.close();
  });
});
