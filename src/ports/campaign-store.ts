import type {
  Advertiser,
  Campaign,
  Creative,
  EntityByKind,
  EntityKind,
  EntityPatch,
  NewEntity,
  Placement,
} from '../core/domain/entities.js';

export interface ListQuery {
  /** Restrict to objects owned by this advertiser (advertisers: the advertiser itself). */
  advertiser_id?: string;
  /** Return objects whose id sorts after this one (keyset pagination). */
  after?: string;
  limit: number;
  include_archived?: boolean;
}

/** What the decision path needs, loaded in one call and held in memory between refreshes. */
export interface ServingSnapshot {
  campaigns: Campaign[]; // status active
  creatives: Creative[]; // status active and approval approved
  placements: Placement[]; // status active
}

/**
 * CampaignStore: durable storage of the management domain.
 *
 * Guarantees
 * - `create` assigns `id` (unless a caller-chosen id is given, used by seeding), `created_at`
 *   and `updated_at`; it rejects a duplicate id with ADS_ERR_CONFLICT.
 * - `update` applies the patch atomically and bumps `updated_at`; it returns null for an
 *   unknown id. It does not check ownership or state: the caller (management API) does.
 * - `list` is ordered by id and paginated by keyset (`after`); archived objects are left out
 *   unless `include_archived`.
 * - API keys are stored only as SHA-256 hashes; the store never sees a raw key.
 * Left out on purpose: deletes (objects are archived, never removed), optimistic locking.
 * Every adapter passes test/contract/campaign-store.contract.ts.
 */
export interface CampaignStore {
  create<K extends EntityKind>(kind: K, input: NewEntity<K>): Promise<EntityByKind[K]>;
  get<K extends EntityKind>(kind: K, id: string): Promise<EntityByKind[K] | null>;
  list<K extends EntityKind>(kind: K, q: ListQuery): Promise<EntityByKind[K][]>;
  update<K extends EntityKind>(
    kind: K,
    id: string,
    patch: EntityPatch<K>,
  ): Promise<EntityByKind[K] | null>;

  /** Creates an advertiser and stores its API key hash atomically (both or neither). */
  createAdvertiserWithKey(input: NewEntity<'advertisers'>, keyHash: string): Promise<Advertiser>;
  putApiKey(keyHash: string, advertiserId: string): Promise<void>;
  /** The key's advertiser and that advertiser's current status, or null for an unknown key. */
  findApiKey(
    keyHash: string,
  ): Promise<{ advertiser_id: string; advertiser_status: Advertiser['status'] } | null>;

  loadServingSnapshot(): Promise<ServingSnapshot>;
}
