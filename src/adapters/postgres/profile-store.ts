/**
 * PgProfileStore: the ProfileStore port on PostgreSQL / PGlite (tables `user_profiles` and
 * `user_tombstones`, migration 004). Each operation is one statement, so each is atomic;
 * `addInterests` is a read followed by a compare-and-set on `version` (retried on a lost race),
 * so concurrent updates of one user never lose a delta.
 */
import { mergeInterests } from '../../core/profile/interests.js';
import {
  DEFAULT_MAX_INTERESTS,
  NO_CONSENT,
  type Consent,
  type Demographics,
  type InterestUpdateResult,
  type ProfileInput,
  type ProfileStore,
  type UserProfile,
} from '../../ports/profile-store.js';
import type { SqlDriver } from './driver.js';

interface Row {
  user_key: string;
  demographics: Demographics;
  interests: Record<string, number>;
  consent: Consent;
  version: string | number;
  updated_at: Date | string;
}

const COLS = 'user_key, demographics, interests, consent, version, updated_at';

function toProfile(r: Row): UserProfile {
  return {
    user_key: r.user_key,
    demographics: r.demographics,
    interests: r.interests,
    consent: r.consent,
    version: Number(r.version),
    updated_at: new Date(r.updated_at).toISOString(),
  };
}

export function createPgProfileStore(driver: SqlDriver): PgProfileStore {
  return new PgProfileStore(driver);
}

export class PgProfileStore implements ProfileStore {
  constructor(private readonly db: SqlDriver) {}

  async get(userKey: string): Promise<UserProfile | null> {
    const [row] = await this.db.query<Row>(
      `SELECT ${COLS} FROM user_profiles WHERE user_key = $1`,
      [userKey],
    );
    return row === undefined ? null : toProfile(row);
  }

  async put(p: ProfileInput, nowMs: number): Promise<UserProfile> {
    const [row] = await this.db.query<Row>(
      `WITH lifted AS (DELETE FROM user_tombstones WHERE user_key = $1)
       INSERT INTO user_profiles AS u (${COLS})
       VALUES ($1, $2::jsonb, $3::jsonb, $4::jsonb, 1, $5)
       ON CONFLICT (user_key) DO UPDATE
         SET demographics = EXCLUDED.demographics, interests = EXCLUDED.interests,
             consent = EXCLUDED.consent, version = u.version + 1,
             updated_at = EXCLUDED.updated_at
       RETURNING ${COLS}`,
      [
        p.user_key,
        JSON.stringify(p.demographics),
        JSON.stringify(p.interests),
        JSON.stringify(p.consent),
        new Date(nowMs).toISOString(),
      ],
    );
    if (row === undefined) throw new Error('profile upsert returned no row');
    return toProfile(row);
  }

  async addInterests(
    userKey: string,
    deltas: Readonly<Record<string, number>>,
    nowMs: number,
    maxInterests = DEFAULT_MAX_INTERESTS,
  ): Promise<InterestUpdateResult> {
    const at = new Date(nowMs).toISOString();
    for (let attempt = 0; attempt < 50; attempt++) {
      if (await this.isTombstoned(userKey)) return { applied: false, reason: 'erased' };
      const prev = await this.get(userKey);
      const interests = JSON.stringify(mergeInterests(prev?.interests ?? {}, deltas, maxInterests));
      // Both statements re-check the tombstone, so an erasure racing this update wins.
      const rows =
        prev === null
          ? await this.db.query<Row>(
              `INSERT INTO user_profiles (${COLS})
               SELECT $1, '{}'::jsonb, $2::jsonb, $3::jsonb, 1, $4
                WHERE NOT EXISTS (SELECT 1 FROM user_tombstones WHERE user_key = $1)
               ON CONFLICT (user_key) DO NOTHING
               RETURNING ${COLS}`,
              [userKey, interests, JSON.stringify(NO_CONSENT), at],
            )
          : await this.db.query<Row>(
              `UPDATE user_profiles SET interests = $2::jsonb, version = version + 1,
                      updated_at = $3
                WHERE user_key = $1 AND version = $4
                  AND NOT EXISTS (SELECT 1 FROM user_tombstones WHERE user_key = $1)
               RETURNING ${COLS}`,
              [userKey, interests, at, prev.version],
            );
      const [row] = rows;
      if (row !== undefined) return { applied: true, profile: toProfile(row) };
      // Lost a race (or a tombstone appeared): read again.
    }
    throw new Error(`addInterests: too much contention on one profile`);
  }

  async delete(userKey: string): Promise<{ deleted: boolean }> {
    const rows = await this.db.query(
      'DELETE FROM user_profiles WHERE user_key = $1 RETURNING user_key',
      [userKey],
    );
    return { deleted: rows.length > 0 };
  }

  async tombstone(keys: readonly string[], nowMs: number): Promise<void> {
    if (keys.length === 0) return;
    await this.db.query(
      `INSERT INTO user_tombstones (user_key, erased_at)
       SELECT k, $2 FROM unnest($1::text[]) AS k
       ON CONFLICT (user_key) DO NOTHING`,
      [[...keys], new Date(nowMs).toISOString()],
    );
  }

  async isTombstoned(key: string): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 FROM user_tombstones WHERE user_key = $1', [key]);
    return rows.length > 0;
  }
}
