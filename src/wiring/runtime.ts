/**
 * Composition root: config → adapters → services → HTTP app. The ONLY place that chooses
 * adapters (PostgreSQL or PGlite, Redis and NATS when configured).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { createNatsConnection } from '../adapters/nats/health.js';
import { systemClock } from '../adapters/memory/clock.js';
import {
  createPgCampaignStore,
  type PgCampaignStore,
} from '../adapters/postgres/campaign-store.js';
import { createPgDriver, createPgliteDriver, type SqlDriver } from '../adapters/postgres/driver.js';
import { createPgLedger } from '../adapters/postgres/ledger.js';
import { migrate } from '../adapters/postgres/migrate.js';
import { createRedisConnection } from '../adapters/redis/health.js';
import type { Config } from '../config/config.js';
import { DecisionService } from '../exchange/decision.js';
import { EventService } from '../exchange/events.js';
import { ServingIndex } from '../exchange/serving-index.js';
import { TrackingSigner } from '../exchange/tracking.js';
import type { Clock } from '../ports/clock.js';
import type { DependencyCheck } from '../ports/health.js';
import type { Ledger } from '../ports/ledger.js';
import { build, REDACT_PATHS, serializeRequest } from '../server/app.js';
import type { LoadShedOptions } from '../server/plugins/load-shed.js';
import { seedDemo } from './demo-data.js';

/** Default CTR/CVR priors until the model issue lands (order of magnitude of display ads). */
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
  close(): Promise<void>;
}

export interface RuntimeOptions {
  logger?: FastifyServerOptions['logger'];
  demo?: boolean;
  progress?: (msg: string) => void;
  clock?: Clock;
  /** Load-shedding overrides (tests force a utilisation). */
  loadShed?: LoadShedOptions;
}

export async function createRuntime(config: Config, opts: RuntimeOptions = {}): Promise<Runtime> {
  const progress = opts.progress ?? (() => undefined);
  const clock = opts.clock ?? systemClock;
  const storage = await openStorage(config, progress);
  if (opts.demo === true) {
    const n = await seedDemo(storage.store);
    if (n > 0) progress(`Loaded the demo data set (${n} objects).`);
  }
  const ledger = createPgLedger(storage.driver);
  const checks: DependencyCheck[] = [
    { name: 'database', check: async () => void (await storage.driver.query('SELECT 1')) },
  ];
  const closers: (() => Promise<void>)[] = [];
  if (config.redisUrl !== null) {
    const redis = createRedisConnection(config.redisUrl);
    checks.push(redis.check);
    closers.push(() => redis.close());
  }
  if (config.natsUrl !== null) {
    const nats = createNatsConnection(config.natsUrl);
    checks.push(nats.check);
    closers.push(() => nats.close());
  }

  let onRefreshError = (_e: unknown): void => undefined;
  const index = new ServingIndex({
    store: storage.store,
    nowMs: () => clock.nowMs(),
    onError: (e) => onRefreshError(e),
  });
  await index.refresh();

  const signer = new TrackingSigner(config.trackingSecret);
  const decisions = new DecisionService({
    index,
    signer,
    clock,
    config: {
      publicUrl: config.publicUrl,
      trackingTtlMs: config.trackingTtlMs,
      priors: DEFAULT_PRIORS,
      incrementMicros: 0,
    },
  });
  const events = new EventService({ ledger, signer, clock });
  const app = await build(
    {
      store: storage.store,
      decisions,
      events,
      checks,
      adminKey: config.adminKey,
      onCatalogChange: () => index.refresh().catch((e: unknown) => onRefreshError(e)),
    },
    {
      logger: opts.logger ?? false,
      ...(opts.loadShed !== undefined ? { loadShed: opts.loadShed } : {}),
    },
  );
  onRefreshError = (e) =>
    app.log.warn({ err: e }, 'serving index refresh failed; keeping the last snapshot');
  index.start(config.refreshIntervalMs);

  let closing: Promise<void> | null = null;
  return {
    app,
    storage,
    ledger,
    close() {
      closing ??= (async () => {
        index.stop();
        await app.close(); // stops accepting, waits for in-flight requests
        await ledger.close(); // waits for queued ledger writes
        for (const c of closers) await c();
        await storage.driver.close();
      })();
      return closing;
    },
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
