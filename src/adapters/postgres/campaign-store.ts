/**
 * PgCampaignStore: the CampaignStore port on PostgreSQL or PGlite (same SQL, see driver.ts).
 *
 * One table spec per entity kind drives every query. Column names in SQL come only from these
 * specs, never from input; patch keys that are not columns are ignored (the HTTP schema has
 * already refused them).
 */
import { randomBytes } from 'node:crypto';
import type {
  EntityByKind,
  EntityKind,
  EntityPatch,
  NewEntity,
} from '../../core/domain/entities.js';
import { AdsError } from '../../core/errors.js';
import type { CampaignStore, ListQuery, ServingSnapshot } from '../../ports/campaign-store.js';
import { sqlState, toSafeInt, type SqlDriver } from './driver.js';

interface TableSpec {
  table: string;
  idPrefix: string;
  columns: readonly string[]; // writable columns, excluding id and timestamps
  json: ReadonlySet<string>;
  bigint: ReadonlySet<string>;
  timestamps: ReadonlySet<string>;
  /** Column holding the owning advertiser (advertisers: its own id). */
  ownerColumn: string;
  /** Values written on create when the input leaves a NOT NULL column out. */
  defaults?: Readonly<Record<string, unknown>>;
}

const TS = new Set(['created_at', 'updated_at']);

const SPECS: Record<EntityKind, TableSpec> = {
  advertisers: {
    table: 'advertisers',
    idPrefix: 'adv_',
    columns: ['name', 'domain', 'status'],
    json: new Set(),
    bigint: new Set(),
    timestamps: TS,
    ownerColumn: 'id',
  },
  campaigns: {
    table: 'campaigns',
    idPrefix: 'cmp_',
    columns: [
      'advertiser_id',
      'name',
      'status',
      'start_at',
      'end_at',
      'time_zone',
      'daily_budget_micros',
      'lifetime_budget_micros',
      'pacing',
      'pricing_model',
      'bid_micros',
      'targeting',
      'frequency_cap',
    ],
    json: new Set(['targeting', 'frequency_cap']),
    bigint: new Set(['daily_budget_micros', 'lifetime_budget_micros', 'bid_micros']),
    timestamps: new Set([...TS, 'start_at', 'end_at']),
    ownerColumn: 'advertiser_id',
  },
  creatives: {
    table: 'creatives',
    idPrefix: 'cre_',
    columns: [
      'advertiser_id',
      'campaign_id',
      'name',
      'format',
      'w',
      'h',
      'markup',
      'url',
      'native',
      'landing_url',
      'approval',
      'status',
    ],
    json: new Set(['native']),
    bigint: new Set(),
    timestamps: TS,
    ownerColumn: 'advertiser_id',
  },
  placements: {
    table: 'placements',
    idPrefix: 'plc_',
    columns: ['publisher', 'name', 'format', 'w', 'h', 'floor_cpm_micros', 'status', 'rtb_enabled'],
    json: new Set(),
    bigint: new Set(['floor_cpm_micros']),
    timestamps: TS,
    ownerColumn: 'id',
    defaults: { rtb_enabled: false },
  },
};

function toParam(spec: TableSpec, column: string, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (spec.json.has(column)) return JSON.stringify(value);
  return value;
}

function placeholder(spec: TableSpec, column: string, i: number): string {
  return spec.json.has(column) ? `$${i}::jsonb` : `$${i}`;
}

function fromRow<K extends EntityKind>(
  spec: TableSpec,
  row: Record<string, unknown>,
): EntityByKind[K] {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (v === null || v === undefined) out[k] = null;
    else if (spec.timestamps.has(k))
      out[k] = (v instanceof Date ? v : new Date(String(v))).toISOString();
    else if (spec.bigint.has(k)) out[k] = toSafeInt(v);
    else out[k] = v;
  }
  return out as unknown as EntityByKind[K];
}

export function newId(prefix: string): string {
  return prefix + randomBytes(9).toString('base64url');
}

export function createPgCampaignStore(db: SqlDriver): PgCampaignStore {
  return new PgCampaignStore(db);
}

export class PgCampaignStore implements CampaignStore {
  constructor(private readonly db: SqlDriver) {}

  async create<K extends EntityKind>(kind: K, input: NewEntity<K>): Promise<EntityByKind[K]> {
    const spec = SPECS[kind];
    const record = input as Record<string, unknown>;
    const id = typeof record.id === 'string' ? record.id : newId(spec.idPrefix);
    const cols = ['id', ...spec.columns];
    const params = [
      id,
      ...spec.columns.map((c) => toParam(spec, c, record[c] ?? spec.defaults?.[c])),
    ];
    const sql = `INSERT INTO ${spec.table} (${cols.join(', ')}) VALUES (${cols
      .map((c, i) => placeholder(spec, c, i + 1))
      .join(', ')}) RETURNING *`;
    try {
      const [row] = await this.db.query(sql, params);
      return fromRow<K>(spec, row as Record<string, unknown>);
    } catch (e) {
      throw mapWriteError(e, kind);
    }
  }

  async get<K extends EntityKind>(kind: K, id: string): Promise<EntityByKind[K] | null> {
    const spec = SPECS[kind];
    const [row] = await this.db.query(`SELECT * FROM ${spec.table} WHERE id = $1`, [id]);
    return row === undefined ? null : fromRow<K>(spec, row);
  }

  async list<K extends EntityKind>(kind: K, q: ListQuery): Promise<EntityByKind[K][]> {
    const spec = SPECS[kind];
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.advertiser_id !== undefined) {
      params.push(q.advertiser_id);
      where.push(`${spec.ownerColumn} = $${params.length}`);
    }
    if (q.after !== undefined) {
      params.push(q.after);
      where.push(`id > $${params.length}`);
    }
    if (q.include_archived !== true) where.push(`status <> 'archived'`);
    params.push(q.limit);
    const sql = `SELECT * FROM ${spec.table}${
      where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''
    } ORDER BY id LIMIT $${params.length}`;
    const rows = await this.db.query(sql, params);
    return rows.map((r) => fromRow<K>(spec, r));
  }

  async update<K extends EntityKind>(
    kind: K,
    id: string,
    patch: EntityPatch<K>,
  ): Promise<EntityByKind[K] | null> {
    const spec = SPECS[kind];
    const record = patch as Record<string, unknown>;
    const cols = spec.columns.filter((c) => record[c] !== undefined);
    const params: unknown[] = [id, ...cols.map((c) => toParam(spec, c, record[c]))];
    const sets = [
      ...cols.map((c, i) => `${c} = ${placeholder(spec, c, i + 2)}`),
      'updated_at = clock_timestamp()',
    ];
    try {
      const [row] = await this.db.query(
        `UPDATE ${spec.table} SET ${sets.join(', ')} WHERE id = $1 RETURNING *`,
        params,
      );
      return row === undefined ? null : fromRow<K>(spec, row);
    } catch (e) {
      throw mapWriteError(e, kind);
    }
  }

  async createAdvertiserWithKey(
    input: NewEntity<'advertisers'>,
    keyHash: string,
  ): Promise<EntityByKind['advertisers']> {
    // One statement, so one transaction: the advertiser never exists without its key.
    const spec = SPECS.advertisers;
    const id = input.id ?? newId(spec.idPrefix);
    const record = input as unknown as Record<string, unknown>;
    const cols = ['id', ...spec.columns];
    const params = [id, ...spec.columns.map((c) => toParam(spec, c, record[c])), keyHash];
    try {
      const [row] = await this.db.query(
        `WITH a AS (
           INSERT INTO advertisers (${cols.join(', ')})
           VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *
         ), k AS (
           INSERT INTO api_keys (key_hash, advertiser_id) SELECT $${params.length}, id FROM a
         )
         SELECT * FROM a`,
        params,
      );
      return fromRow<'advertisers'>(spec, row as Record<string, unknown>);
    } catch (e) {
      throw mapWriteError(e, 'advertisers');
    }
  }

  async putApiKey(keyHash: string, advertiserId: string): Promise<void> {
    await this.db.query('INSERT INTO api_keys (key_hash, advertiser_id) VALUES ($1, $2)', [
      keyHash,
      advertiserId,
    ]);
  }

  async findApiKey(keyHash: string): Promise<{
    advertiser_id: string;
    advertiser_status: EntityByKind['advertisers']['status'];
  } | null> {
    const [row] = await this.db.query<{
      advertiser_id: string;
      advertiser_status: EntityByKind['advertisers']['status'];
    }>(
      `SELECT k.advertiser_id, a.status AS advertiser_status
       FROM api_keys k JOIN advertisers a ON a.id = k.advertiser_id WHERE k.key_hash = $1`,
      [keyHash],
    );
    return row ?? null;
  }

  async loadServingSnapshot(): Promise<ServingSnapshot> {
    const campaigns = await this.db.query(
      `SELECT c.* FROM campaigns c JOIN advertisers a ON a.id = c.advertiser_id
       WHERE c.status = 'active' AND a.status = 'active' ORDER BY c.id`,
    );
    const creatives = await this.db.query(
      `SELECT * FROM creatives WHERE status = 'active' AND approval = 'approved' ORDER BY id`,
    );
    const placements = await this.db.query(
      `SELECT * FROM placements WHERE status = 'active' ORDER BY id`,
    );
    return {
      campaigns: campaigns.map((r) => fromRow<'campaigns'>(SPECS.campaigns, r)),
      creatives: creatives.map((r) => fromRow<'creatives'>(SPECS.creatives, r)),
      placements: placements.map((r) => fromRow<'placements'>(SPECS.placements, r)),
    };
  }
}

function mapWriteError(e: unknown, kind: EntityKind): unknown {
  switch (sqlState(e)) {
    case '23505':
      return new AdsError('ADS_ERR_CONFLICT', `a ${kind.slice(0, -1)} with this id already exists`);
    case '23503':
      return new AdsError(
        'ADS_ERR_VALIDATION',
        `the ${kind.slice(0, -1)} refers to an unknown object`,
      );
    case '23514':
      return new AdsError(
        'ADS_ERR_VALIDATION',
        `the ${kind.slice(0, -1)} breaks a constraint: ${(e as Error).message}`,
      );
    default:
      return e;
  }
}
