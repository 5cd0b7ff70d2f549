/**
 * Composition root: config → adapters → services → HTTP app. The ONLY place that chooses
 * adapters (PostgreSQL or PGlite, Redis and NATS when configured).
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { createMemoryBudgetCounters } from '../adapters/memory/budget-counters.js';
import { createMemoryEventLog } from '../adapters/memory/event-log.js';
import { createMemoryFrequencyCounters } from '../adapters/memory/frequency-counters.js';
import { createNatsEventLog } from '../adapters/nats/event-log.js';
import { createNatsConnection, type NatsHandle } from '../adapters/nats/health.js';
import { systemClock } from '../adapters/memory/clock.js';
import {
  createPgCampaignStore,
  type PgCampaignStore,
} from '../adapters/postgres/campaign-store.js';
import { createPgBudgetLedger } from '../adapters/postgres/budget-ledger.js';
import { createPgDriver, createPgliteDriver, type SqlDriver } from '../adapters/postgres/driver.js';
import { createPgDecisionFeatureLog } from '../adapters/postgres/decision-features.js';
import { createPgLedger } from '../adapters/postgres/ledger.js';
import { migrate } from '../adapters/postgres/migrate.js';
import { createRedisBudgetCounters } from '../adapters/redis/budget-counters.js';
import { createRedisFrequencyCounters } from '../adapters/redis/frequency-counters.js';
import { createPgProfileStore } from '../adapters/postgres/profile-store.js';
import { createPgReportStore } from '../adapters/postgres/report-store.js';
import { createPgBillingOutbox } from '../adapters/postgres/billing-outbox.js';
import { createRedisCache } from '../adapters/redis/cache.js';
import { createMemoryFeatureStore } from '../adapters/memory/feature-store.js';
import { createRedisFeatureStore } from '../adapters/redis/feature-store.js';
import type { FeatureStore } from '../ports/feature-store.js';
import { WindowedAggregates } from '../stream/aggregates.js';
import { ProfileInterests } from '../stream/profile-interests.js';
import { TieredCache } from '../core/cache/tiered.js';
import type { ProfileStore, UserProfile } from '../ports/profile-store.js';
import type { DecisionFeatureLog } from '../ports/decision-features.js';
import {
  ErasureGuardedFrequency,
  PROFILE_NAMESPACE,
  TOMBSTONE_NAMESPACE,
  UserService,
} from '../exchange/users.js';
import {
  InvalidationListener,
  invalidationEvent,
  type Invalidatable,
} from '../stream/invalidations.js';
import { createRedisConnection, type RedisConnection } from '../adapters/redis/health.js';
import type { Config } from '../config/config.js';
import { degradationName } from '../core/resilience/degradation.js';
import { BudgetManager } from '../exchange/budget.js';
import { HourlyTrafficHistory } from '../core/pacing/index.js';
import { createPgPacingTraffic } from '../adapters/postgres/pacing-traffic.js';
import { DecisionService } from '../exchange/decision.js';
import { EventService } from '../exchange/events.js';
import { PredictionStage, ServingModel } from '../exchange/prediction.js';
import { UserFeatureReader } from '../exchange/user-features.js';
import { ServingIndex } from '../exchange/serving-index.js';
import { TrackingSigner } from '../exchange/tracking.js';
import { assembleRtb, type RtbOptions } from '../exchange/rtb/assemble.js';
import { DecisionDeadline } from '../exchange/resilient/deadline.js';
import { BreakerOpenError } from '../exchange/resilient/guard.js';
import {
  guardBudgetCounters,
  guardCampaignStoreReads,
  guardEventLog,
  guardFrequencyCounters,
  guardLedger,
  guardRemoteCache,
} from '../exchange/resilient/ports.js';
import { ladderExternalDemand } from '../exchange/resilient/ladder.js';
import { Resilience } from '../exchange/resilient/resilience.js';
import { DecisionTracer } from '../exchange/resilient/tracing.js';
import { tracingFromConfig, type TracingHandle } from './tracing.js';
import type { BudgetCounters } from '../ports/budget-counters.js';
import type { Clock } from '../ports/clock.js';
import { newEvent, type EventLog } from '../ports/event-log.js';
import type { FrequencyCounters } from '../ports/frequency-counters.js';
import type { DependencyCheck } from '../ports/health.js';
import type { Ledger } from '../ports/ledger.js';
import { build, REDACT_PATHS, serializeRequest } from '../server/app.js';
import type { LoadShedOptions } from '../server/plugins/load-shed.js';
import { openSpoolSlot } from '../stream/disk-spool.js';
import { startEventPipeline } from '../stream/pipeline.js';
import { SpoolingEventLog } from '../stream/spooling-event-log.js';
import { ledgerRebuildSource, reconcileBudgets, type ReconciliationRow } from './budget.js';
import { seedDemo } from './demo-data.js';

/**
 * Default CTR/CVR priors (order of magnitude of display ads): the CTR when no model is loaded
 * (ADSTACK_MODEL_PATH), and the CVR when no CVR model is loaded (ADSTACK_CVR_MODEL_PATH; only CPA
 * candidates are scored by it).
 */
export const DEFAULT_PRIORS = { ctr: 0.01, cvr: 0.05 };

export interface StorageHandle {
  driver: SqlDriver;
  store: PgCampaignStore;
  describe: string;
}

/** Opens PostgreSQL when configured, else PGlite under the data folder; runs migrations. */
export async function openStorage(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  progress: (msg: string) => void = () => undefined,
): Promise<StorageHandle> {
  let driver: SqlDriver;
  let describe: string;
  if (config.databaseUrl !== null) {
    driver = createPgDriver({ connectionString: config.databaseUrl });
    describe = `PostgreSQL at ${new URL(config.databaseUrl).host}`;
  } else {
    // 'memory://' keeps the database in memory (tests); anything else is a folder.
    const inMemory = config.dataDir.startsWith('memory://');
    if (!inMemory) await mkdir(config.dataDir, { recursive: true });
    const fresh = !inMemory && !existsSync(join(config.dataDir, 'PG_VERSION'));
    progress(
      `Starting embedded PostgreSQL (PGlite) in ${config.dataDir}${
        fresh ? ' (a new data folder: the first start takes several seconds)' : ''
      }…`,
    );
    driver = await createPgliteDriver({ dataDir: config.dataDir });
    describe = `PGlite in ${config.dataDir}`;
  }
  const m = await migrate(driver);
  if (m.applied.length > 0) progress(`Applied migrations: ${m.applied.join(', ')}`);
  return { driver, store: createPgCampaignStore(driver), describe };
}

export interface Runtime {
  app: FastifyInstance;
  storage: StorageHandle;
  ledger: Ledger;
  /** The user-data stores (issue 7), exposed so tests can check an erasure store by store. */
  userData: UserData;
  /** This process's budget leases (issue 6). */
  budgets: BudgetManager;
  budgetCounters: BudgetCounters;
  /** The decision feature log (null when off: ADSTACK_FEATURE_LOG_MAX_PENDING=0, or PGlite). */
  featureLog: DecisionFeatureLog | null;
  /** Runs the reconciliation job once (also on its interval) and returns its rows. */
  reconcileBudgets(): Promise<ReconciliationRow[]>;
  /** Breakers and the degradation ladder (issue 8); `pin` forces a ladder level. */
  resilience: Resilience;
  close(): Promise<void>;
}

/** How long past its TTL a cached profile may be served stale (degradation ladder step 1). */
export const PROFILE_STALE_MS = 60_000;
/** Whole past days the pacing traffic forecast is learned from (and seeded with on start). */
export const TRAFFIC_KEEP_DAYS = 7;

export interface UserData {
  service: UserService;
  profiles: ProfileStore;
  profileCache: TieredCache<UserProfile>;
  tombstoneCache: TieredCache<true>;
  frequency: FrequencyCounters;
  features: FeatureStore;
  eventLog: EventLog;
}

export interface RuntimeOptions {
  logger?: FastifyServerOptions['logger'];
  demo?: boolean;
  progress?: (msg: string) => void;
  clock?: Clock;
  /** Load-shedding overrides (tests force a utilisation). */
  loadShed?: LoadShedOptions;
  /** The OpenRTB endpoint's DSPs and settings; without it the endpoint runs internal demand only. */
  rtb?: RtbOptions;
  /** Traces to this tracer instead of the one ADSTACK_OTEL chooses (tests: in-memory exporter). */
  tracing?: TracingHandle;
}

export async function createRuntime(config: Config, opts: RuntimeOptions = {}): Promise<Runtime> {
  const progress = opts.progress ?? (() => undefined);
  const clock = opts.clock ?? systemClock;
  const storage = await openStorage(config, progress);
  if (opts.demo === true) {
    const n = await seedDemo(storage.store);
    if (n > 0) progress(`Loaded the demo data set (${n} objects).`);
  }
  // Circuit breakers on every dependency (issue 8): one per dependency, shared by the ports
  // that use it, in front of the adapters (src/exchange/resilient/ports.ts). An open breaker
  // fails fast into each caller's existing fail-closed path.
  const resilience = new Resilience({
    clock,
    callTimeoutMs: config.dependencyTimeoutMs,
    postgresTimeoutMs: config.postgresTimeoutMs,
    natsTimeoutMs: config.natsTimeoutMs,
  });
  const ledger = createPgLedger(storage.driver);
  const guardedLedger = guardLedger(ledger, resilience.guard('postgres'));
  const checks: DependencyCheck[] = [
    { name: 'database', check: async () => void (await storage.driver.query('SELECT 1')) },
  ];
  const closers: (() => Promise<void>)[] = [];
  let redis: RedisConnection | null = null;
  if (config.redisUrl !== null) {
    const handle = createRedisConnection(config.redisUrl);
    redis = handle;
    checks.push(handle.check);
    // Wait (≤ 1 s) for the socket before the budget and frequency counters' first calls: the
    // client does not queue commands while connecting, and failures at start-up would open the
    // Redis breaker before the first request. Unreachable: start anyway, fail closed, retry.
    await handle.check
      .check()
      .catch((e: unknown) =>
        progress(
          `Redis is not reachable yet (${String(e)}); budgets and caps fail closed until it is.`,
        ),
      );
    closers.push(() => handle.close());
  }
  let nats: NatsHandle | null = null;
  if (config.natsUrl !== null) {
    const handle = createNatsConnection(config.natsUrl);
    nats = handle;
    checks.push(handle.check);
    closers.push(() => handle.close());
  }
  // Event log (issue 7): JetStream when NATS is configured (durable), else in-process. Its
  // dedup window covers a tracking token's life (capped at a day), so a repeated open of one
  // URL is recognised as a duplicate by the log. The stream belongs to the ledger it feeds
  // (named after the database's identity), so two deployments or test runs sharing one NATS
  // server never consume each other's events. While NATS is unreachable, events go to a
  // bounded spool on local disk (one slot per process) and are replayed in order.
  let onPipelineError = (_e: unknown): void => undefined;
  let eventLog: EventLog;
  let spoolFill = (): number => 0;
  if (nats !== null) {
    const id = await ledgerIdentity(storage.driver);
    const natsLog = await createNatsEventLog({
      connection: await nats.connection(),
      stream: `ADSTACK_EVENTS_${id}`,
      subjectPrefix: `adstack.${id}.events`,
      dedupWindowMs: Math.min(config.trackingTtlMs, 86_400_000),
    });
    const spoolBase = config.dataDir.startsWith('memory://')
      ? join(tmpdir(), 'adstack-spool')
      : join(config.dataDir, 'spool');
    const slot = await openSpoolSlot(join(spoolBase, id));
    closers.push(() => slot.release());
    const natsGuard = resilience.guard('nats');
    const spooling = new SpoolingEventLog({
      inner: guardEventLog(natsLog, natsGuard),
      spool: slot.spool,
      // While the breaker is open, straight to the spool; half-open lets one append probe.
      isAvailable: () => natsLog.connected && natsGuard.allows(),
      onError: (e) => onPipelineError(e),
    });
    eventLog = spooling;
    spoolFill = () => spooling.fill();
  } else {
    eventLog = createMemoryEventLog({ clock });
  }
  const pipeline = await startEventPipeline({
    log: eventLog,
    ledger: guardedLedger,
    onError: (e) => onPipelineError(e),
  });

  let onRefreshError = (_e: unknown): void => undefined;
  // The serving index's reads go through the PostgreSQL breaker (a failed or refused refresh
  // keeps the last snapshot); the management API uses the store directly.
  const index = new ServingIndex({
    store: guardCampaignStoreReads(storage.store, resilience.guard('postgres')),
    nowMs: () => clock.nowMs(),
    onError: (e) => onRefreshError(e),
  });
  await index.refresh();

  const signer = new TrackingSigner(config.trackingSecret);
  // Frequency counters (issue 6 item 7): in process memory by default (each process counts
  // its own impressions); on Redis when configured, shared by every process, on the readiness
  // probe's client. Like the event stream, the keys belong to the ledger (prefixed with its
  // identity), so deployments or test runs sharing one Redis never count each other's
  // impressions.
  const rawFrequency: FrequencyCounters =
    redis === null
      ? createMemoryFrequencyCounters()
      : guardFrequencyCounters(
          createRedisFrequencyCounters(redis.client, {
            keyPrefix: `adstack:freq:${await ledgerIdentity(storage.driver)}:`,
          }),
          resilience.guard('redis'),
        );
  // User profiles and erasure (issue 7): profiles and tombstones in the SQL store (PostgreSQL
  // or PGlite), read through L1 (W-TinyLFU) → L2 (Redis when configured) → the store, with
  // invalidation events so every process drops a changed or erased user at once. Frequency
  // counting skips erased users (a tracking URL issued before the erasure).
  const profiles = createPgProfileStore(storage.driver);
  const l2 =
    redis === null
      ? null
      : guardRemoteCache(
          createRedisCache(redis.client, {
            keyPrefix: `adstack:cache:${await ledgerIdentity(storage.driver)}:`,
          }),
          resilience.guard('redis'),
        );
  const profileCache = new TieredCache<UserProfile>({
    namespace: PROFILE_NAMESPACE,
    schemaVersion: 1,
    l1MaxEntries: 10_000,
    l2,
    // Ladder step 1: an entry up to a minute past its L1 TTL is served instead of a refresh
    // while the ladder is at stale_cache or beyond, and whenever the refresh fails.
    staleMs: PROFILE_STALE_MS,
    serveStale: () => resilience.serveStale(),
    load: (key) => profiles.get(key),
    random: Math.random,
  });
  const tombstoneCache = new TieredCache<true>({
    namespace: TOMBSTONE_NAMESPACE,
    schemaVersion: 1,
    l1MaxEntries: 10_000,
    l2,
    load: async (key) => ((await profiles.isTombstoned(key)) ? true : null),
    hotKeys: false,
    random: Math.random,
  });
  let onErasureUnknown = (_e: unknown): void => undefined;
  const frequency = new ErasureGuardedFrequency(rawFrequency, tombstoneCache, clock, (e) =>
    onErasureUnknown(e),
  );
  const invalidations = new InvalidationListener({
    log: eventLog,
    caches: new Map<string, Invalidatable>([
      [PROFILE_NAMESPACE, profileCache],
      [TOMBSTONE_NAMESPACE, tombstoneCache],
    ]),
    onError: (e) => onPipelineError(e),
  });
  await invalidations.start();
  // Feature store (issue 7 item 6b): Redis when configured (shared, TTLs), else this process's
  // memory; filled by the windowed aggregates consumer (per-ad CTR, advertiser spend pace,
  // per-user engagement over 7 days — skipped for erased users, read through the tombstone
  // cache).
  const features: FeatureStore =
    redis === null
      ? createMemoryFeatureStore({ clock })
      : createRedisFeatureStore(redis.client, {
          keyPrefix: `adstack:features:${await ledgerIdentity(storage.driver)}:`,
        });
  const aggregates = new WindowedAggregates({
    log: eventLog,
    features,
    clock,
    isErased: async (key) => (await tombstoneCache.get(key, clock.nowMs())) === true,
    onError: (e) => onPipelineError(e),
  });
  await aggregates.start();
  const users = new UserService({
    profiles,
    profileCache,
    tombstoneCache,
    hasL2: l2 !== null,
    frequency,
    // The erasure drops this process's 7-day window of the user before the stored features.
    features: {
      forgetUser: (key) => {
        aggregates.forgetUser(key);
        return features.forgetUser(key);
      },
    },
    // A unique id per publish: two changes of one key in the same millisecond (an update,
    // then its erasure) must not be deduplicated into one event by the log.
    publishInvalidation: async (namespace, key, reason, nowMs) =>
      void (await pipeline.pipeline.publisher.publish({
        ...invalidationEvent(namespace, key, reason, nowMs),
        id: `invalidation:${namespace}:${key}:${randomUUID()}`,
      })),
    clock,
  });
  // Interest events (issue 7 item 4): clicks carrying the hashed profile key raise a consenting
  // user's interests in the clicked campaign's targeted interests (src/stream/profile-interests.ts),
  // through the same update + invalidation as the HTTP route. One durable consumer shared by
  // every process; off the decision path.
  const profileInterests = new ProfileInterests({
    log: eventLog,
    getProfile: (key) => profiles.get(key),
    apply: (key, deltas) => users.addInterestsByKey(key, deltas),
    categoriesOf: (campaignId) =>
      index.current().campaigns.find((c) => c.id === campaignId)?.targeting.interests ?? [],
    onError: (e) => onPipelineError(e),
  });
  await profileInterests.start();
  // Budgets (issue 6): counters in process memory by default (one process: its own budget),
  // on Redis when configured, shared by every process; keys belong to the ledger like the
  // frequency counters. Lease grants/returns go to the lease log in the ledger database
  // (written off the hot path); counters that are missing (first start, a restart with memory
  // counters, Redis restarted empty) are rebuilt from the ledger + open leases before the
  // campaign serves again. See src/exchange/budget.ts.
  const budgetCounters: BudgetCounters =
    redis === null
      ? createMemoryBudgetCounters()
      : guardBudgetCounters(
          createRedisBudgetCounters(redis.client, {
            keyPrefix: `adstack:budget:${await ledgerIdentity(storage.driver)}:`,
          }),
          // Its own breaker (not the decision path's `redis`): background refills probe it.
          resilience.guard('redis_budget'),
        );
  const budgetLedger = createPgBudgetLedger(storage.driver);
  let onBudgetError = (_e: unknown, _what: string): void => undefined;
  const leaseWrites = new Set<Promise<void>>();
  let trafficSeedError: unknown = null;
  const budgetServerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  // The learned hourly traffic is stored per whole day and seeded on start, so a restarted
  // process paces on the learned forecast at once (not flat for a day).
  const pacingTraffic = createPgPacingTraffic(storage.driver);
  const traffic = new HourlyTrafficHistory(TRAFFIC_KEEP_DAYS, (campaignId, dayKey, counts) => {
    void pacingTraffic
      .recordDay(campaignId, dayKey, budgetServerId, counts)
      .catch((err: unknown) => onBudgetError(err, 'pacing traffic'));
  });
  try {
    for (const [id, days] of await pacingTraffic.recentDays(TRAFFIC_KEEP_DAYS)) {
      traffic.seed(id, days);
    }
  } catch (e) {
    // Not fatal: pacing starts on the flat forecast, as with no history (logged once the
    // logger exists, below).
    trafficSeedError = e;
  }
  const budgets = new BudgetManager({
    counters: budgetCounters,
    clock,
    serverId: budgetServerId,
    traffic,
    trackingTtlMs: config.trackingTtlMs,
    servers: config.workers,
    rebuild: ledgerRebuildSource(budgetLedger, clock),
    onError: (e, what) => onBudgetError(e, what),
    // A grant serves only once its row is written (awaited by the manager; a failed write
    // returns the lease unused); returns are written in the background.
    onLease: (e) => {
      // The lease event: offered to the bounded publisher, never awaited (the lease table
      // below stays the record budgets are rebuilt from).
      pipeline.offer(
        newEvent('lease', `lease:${e.leaseId}:${e.kind}`, e.atMs, {
          lease_id: e.leaseId,
          campaign_id: e.campaignId,
          period: e.period,
          server_id: e.serverId,
          action: e.kind,
          amount_micros: e.micros,
          ...(e.kind === 'grant' ? { expires_at: new Date(e.expiresAtMs).toISOString() } : {}),
        }),
      );
      const write = budgetLedger.recordLease({
        ...e,
        expiresAtMs: e.kind === 'grant' ? e.expiresAtMs : null,
      });
      const w = write
        .catch((err: unknown) => onBudgetError(err, 'lease log'))
        .finally(() => leaseWrites.delete(w));
      leaseWrites.add(w);
      return e.kind === 'grant' ? write : undefined;
    },
  });
  await budgets.sync(index.current().campaigns);
  let differences: ReconciliationRow[] = [];
  const reconcile = async (): Promise<ReconciliationRow[]> => {
    differences = await reconcileBudgets(budgets, budgetCounters, budgetLedger);
    for (const d of differences) {
      if (d.differenceMicros !== 0) onReconcileDifference(d);
    }
    return differences;
  };
  let onReconcileDifference = (_d: ReconciliationRow): void => undefined;
  // CTR model (issue 5): verified against the trusted key at start-up (below, once the logger
  // exists) and on POST /v1/admin/models/reload; a refused file leaves the previous one serving.
  let onModelEvent = (_level: 'info' | 'error', _obj: object, _msg: string): void => undefined;
  const servingModel =
    config.modelPath === null || config.modelPublicKeyPem === null
      ? null
      : new ServingModel({
          path: config.modelPath,
          publicKeyPem: config.modelPublicKeyPem,
          onReject: (reason, message, path) =>
            onModelEvent(
              'error',
              { reason, detail: message, path },
              'model refused; the previous model (or the constant prior) keeps serving',
            ),
          onLoad: (model, path) => onModelEvent('info', { model, path }, 'model loaded'),
        });
  // CVR model (issue 5): the same key and reload route; the slot refuses non-CVR targets.
  const cvrServingModel =
    config.cvrModelPath === null || config.modelPublicKeyPem === null
      ? null
      : new ServingModel({
          path: config.cvrModelPath,
          publicKeyPem: config.modelPublicKeyPem,
          target: 'cvr',
          onReject: (reason, message, path) =>
            onModelEvent(
              'error',
              { reason, detail: message, path, slot: 'cvr' },
              'CVR model refused; the previous CVR model (or the CVR prior) keeps serving',
            ),
          onLoad: (model, path) =>
            onModelEvent('info', { model, path, slot: 'cvr' }, 'CVR model loaded'),
        });
  const tracing = opts.tracing ?? tracingFromConfig(config.otel);
  if (tracing !== null && opts.tracing === undefined) closers.push(() => tracing.close());
  let onBillingStoreError = (_e: unknown): void => undefined;
  // OpenRTB (issue 4): the endpoint's DSPs also serve RTB-enabled placements in decisions.
  const rtb = assembleRtb({
    options: opts.rtb ?? rtbFromConfig(config),
    index,
    signer,
    wallMs: () => clock.nowMs(),
    priors: DEFAULT_PRIORS,
    publicUrl: config.publicUrl,
    trackingTtlMs: config.trackingTtlMs,
    // Our campaigns in OpenRTB auctions pass the same budget and frequency steps as decisions.
    budgets,
    frequency,
    billingOutbox: createPgBillingOutbox(storage.driver),
    onBillingStoreError: (e) => onBillingStoreError(e),
    // Win / loss / billing events: offered to the bounded publisher, never awaited.
    emit: (e) => void pipeline.offer(e),
  });
  closers.push(() => rtb.close());
  // Each fill's feature input, for training from the ledger without skew (issue 5). Off by
  // default on PGlite: its inserts run on this thread (bench/README.md, ml-featurelog).
  const featureLogMax = config.featureLogMaxPending ?? (config.databaseUrl !== null ? 10_000 : 0);
  const featureLog =
    featureLogMax > 0
      ? createPgDecisionFeatureLog(storage.driver, {
          maxPending: featureLogMax,
          onError: (e) => app.log.warn({ err: e }, 'decision feature log: write failed'),
        })
      : null;
  const decisions = new DecisionService({
    ...(featureLog !== null ? { featureLog } : {}),
    // The model's breaker and the ladder's "skip ML" step both fall back to the priors.
    prediction: new PredictionStage(
      DEFAULT_PRIORS,
      servingModel,
      servingModel === null && cvrServingModel === null
        ? {}
        : { skipModel: () => resilience.skipModel(), guard: resilience.guard('model') },
      cvrServingModel,
    ),
    ...(tracing !== null ? { observer: new DecisionTracer(tracing.tracer, clock) } : {}),
    degradationLevel: () => resilience.levelName(),
    // The user feature group (issue 7): profile through L1 → L2 → the store, and the 7-day
    // engagement from the feature store; read only when a model scores the candidates.
    userFeatures: new UserFeatureReader({
      profile: (key, nowMs) => profileCache.get(key, nowMs),
      engagement: (key) => features.get('user', key),
    }),
    index,
    signer,
    clock,
    frequency,
    budgets,
    config: {
      publicUrl: config.publicUrl,
      trackingTtlMs: config.trackingTtlMs,
      priors: DEFAULT_PRIORS,
      incrementMicros: 0,
    },
    // The ladder's steps 3 and 4 act on the DSP fan-out (src/exchange/resilient/ladder.ts).
    ...(rtb.decisionDemand !== null
      ? {
          external: ladderExternalDemand(
            rtb.decisionDemand,
            resilience,
            rtb.fanOut?.bidderIds.length ?? 1,
          ),
        }
      : {}),
    // Decision events (ADSTACK_DECISION_EVENTS=on): handed to the bounded publisher, never
    // awaited; a full publisher refuses and counts instead of slowing decisions.
    ...(config.decisionEvents ? { emit: (e) => void pipeline.offer(e) } : {}),
  });
  const events = new EventService({
    ledger,
    signer,
    clock,
    frequency,
    pipeline: pipeline.pipeline,
    onImpression: [rtb.onImpression],
    budgets: { counters: budgetCounters, manager: budgets },
  });
  const app = await build(
    {
      store: storage.store,
      decisions,
      events,
      checks,
      adminKey: config.adminKey,
      onCatalogChange: () =>
        index
          .refresh()
          .then(() => budgets.sync(index.current().campaigns))
          .catch((e: unknown) => onRefreshError(e)),
      rtb,
      model: servingModel,
      cvrModel: cvrServingModel,
      featureLog,
      users,
      reports: createPgReportStore(storage.driver),
      resilience,
      newDeadline: (spentMs) =>
        new DecisionDeadline(
          clock,
          config.decisionBudgetMs,
          spentMs,
          { frequency: config.frequencyBudgetMs, profile: config.profileBudgetMs },
          // Ladder step 4 (house ads only): decide from memory, no counter read and no wait
          // for a budget setup.
          () => resilience.houseOnly(),
        ),
      publisher: { stats: () => pipeline.stats().publisher },
      caches: [
        { namespace: PROFILE_NAMESPACE, cache: profileCache },
        { namespace: TOMBSTONE_NAMESPACE, cache: tombstoneCache },
      ].map(({ namespace, cache }) => ({
        namespace,
        stats: () => cache.stats(),
        hotKeys: (nowMs: number) => cache.hotKeys(nowMs),
        nowMs: () => clock.nowMs(),
      })),
      budget: {
        differences: () => differences,
        exposureOverrunMicros: () => budgets.exposureOverrunMicros,
        leases: () => ({ granted: budgets.leasesGranted, returned: budgets.leasesReturned }),
      },
    },
    {
      logger: opts.logger ?? false,
      // Decisions stop while the event spool is nearly full (NATS away for long).
      loadShed: {
        eventBacklog: () => spoolFill(),
        lagTargetMs: config.shedLagTargetMs,
        ...opts.loadShed,
      },
    },
  );
  onBillingStoreError = (e) =>
    app.log.warn({ err: e }, 'billing outbox (rtb_billing_notices) failed; notice kept in memory');
  onRefreshError = (e) =>
    app.log.warn({ err: e }, 'serving index refresh failed; keeping the last snapshot');
  onPipelineError = (e) =>
    app.log.warn({ err: e }, 'event pipeline: log, spool or ledger failed; will retry');
  onModelEvent = (level, obj, msg) => app.log[level](obj, msg);
  onErasureUnknown = (e) => {
    const n = frequency.unknownErasureState; // logged on the 1st and every 1,000th
    if (n === 1 || n % 1000 === 0)
      app.log.warn({ err: e, count: n }, 'erasure state unreadable; frequency counted anyway');
  };
  resilience.onBreakerTransition((t) =>
    app.log[t.to === 'closed' ? 'info' : 'warn'](
      { dependency: t.dependency, from: t.from, to: t.to, opened: t.opened },
      `circuit breaker ${t.dependency}: ${t.from} -> ${t.to}`,
    ),
  );
  resilience.onLadderChange((c) =>
    app.log[c.to > c.from ? 'warn' : 'info'](
      { from: c.from, to: c.to, cause: c.cause, level: degradationName(c.to) },
      `degradation ladder: level ${c.from} -> ${c.to} (${c.cause})`,
    ),
  );
  if (servingModel !== null) await servingModel.reload();
  if (cvrServingModel !== null) await cvrServingModel.reload();
  // A call refused by the open budget breaker is not logged (one refill per decision would be
  // a line per request): the breaker's transitions are, and /metrics counts the refusals.
  onBudgetError = (e, what) => {
    if (!(e instanceof BreakerOpenError)) app.log.warn({ err: e }, `${what} failed; will retry`);
  };
  if (trafficSeedError !== null) onBudgetError(trafficSeedError, 'pacing traffic seed');
  onReconcileDifference = (d) =>
    app.log.warn(
      {
        campaign_id: d.campaignId,
        period: d.period,
        counters_spent_micros: d.countersSpentMicros,
        ledger_spent_micros: d.ledgerSpentMicros,
        difference_micros: d.differenceMicros,
      },
      'budget reconciliation: counters and ledger differ',
    );
  index.start(config.refreshIntervalMs);
  // The budget timeout monitor: adopts the periodically refreshed catalog, reclaims expired
  // leases (a dead process's too), returns drained ones, refreshes spend for pacing, detects
  // lost counters. One run at a time.
  let monitorRun: Promise<void> | null = null;
  const monitor = setInterval(() => {
    monitorRun ??= budgets
      .sync(index.current().campaigns)
      .then(() => budgets.tick())
      .catch((e: unknown) => onBudgetError(e, 'budget monitor'))
      .finally(() => {
        monitorRun = null;
      });
  }, config.budgetMonitorIntervalMs);
  monitor.unref();
  let reconcileRun: Promise<unknown> | null = null;
  const reconciler = setInterval(() => {
    reconcileRun ??= reconcile()
      .catch((e: unknown) => onBudgetError(e, 'budget reconciliation'))
      .finally(() => {
        reconcileRun = null;
      });
  }, config.budgetReconcileIntervalMs);
  reconciler.unref();

  let closing: Promise<void> | null = null;
  return {
    app,
    storage,
    ledger: pipeline.ledger, // totals() read after the ledger writer caught up
    userData: {
      service: users,
      profiles,
      profileCache,
      tombstoneCache,
      frequency,
      features,
      eventLog,
    },
    budgets,
    budgetCounters,
    featureLog,
    reconcileBudgets: reconcile,
    resilience,
    close() {
      closing ??= (async () => {
        index.stop();
        clearInterval(monitor);
        clearInterval(reconciler);
        await app.close(); // stops accepting, waits for in-flight requests
        await invalidations.stop();
        await aggregates.stop();
        await profileInterests.stop();
        await monitorRun;
        await reconcileRun;
        await budgets.close(); // returns leases with every reservation settled
        await Promise.allSettled([...leaseWrites]);
        await pipeline.close(); // in-flight appends; drains a non-durable log into the ledger
        await ledger.close(); // waits for queued ledger writes
        await featureLog?.close(); // writes the queued decision feature inputs
        for (const c of closers) await c();
        await storage.driver.close();
      })();
      return closing;
    },
  };
}

/**
 * A short, stable id of the ledger database: PostgreSQL's system identifier (the same on a
 * physical replica, new for a new cluster), the database and the schema. Moving the ledger to
 * a new cluster therefore starts a new event stream: drain the ledger writer (lag 0) first.
 * The stream is `ADSTACK_EVENTS_<id>`, the spool `<data dir>/spool/<id>` (exported for tests
 * that clean up after themselves).
 */
export async function ledgerIdentity(driver: SqlDriver): Promise<string> {
  const [row] = await driver.query<{ sys: string; db: string; schema: string }>(
    `SELECT system_identifier::text AS sys, current_database() AS db, current_schema() AS schema
       FROM pg_control_system()`,
  );
  const raw = `${row?.sys ?? ''}:${row?.db ?? ''}:${row?.schema ?? ''}`;
  return createHash('sha256').update(raw).digest('hex').slice(0, 12);
}

/** The DSPs of ADSTACK_DSPS (none when unset). */
function rtbFromConfig(config: Config): RtbOptions {
  const d = config.dsps;
  if (d === null) return { dsps: [] };
  return {
    dsps: d.dsps,
    ...(d.decisionBudgetMs !== null ? { decisionBudgetMs: d.decisionBudgetMs } : {}),
  };
}

/** pino options for the server: JSON logs with API keys redacted. */
export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { req: serializeRequest },
  };
}
