import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Typed, validated, frozen configuration from environment variables.
 * Every error names the variable and what it expected, and the CLI exits with status 2.
 * The variables are listed in README.md ("Configuration").
 */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly publicUrl: string;
  /** PostgreSQL connection string; null = embedded PGlite under `dataDir`. */
  readonly databaseUrl: string | null;
  readonly dataDir: string;
  readonly redisUrl: string | null;
  readonly natsUrl: string | null;
  readonly adminKey: string;
  readonly adminKeyIsDefault: boolean;
  readonly trackingSecret: string;
  readonly trackingSecretIsDefault: boolean;
  readonly trackingTtlMs: number;
  /**
   * Decision feature log (issue 5, training from the ledger): queued records before new ones are
   * dropped; 0 turns the log off. Unset (null): 10,000 with PostgreSQL, off with PGlite (whose
   * inserts would run on the server's own thread).
   */
  readonly featureLogMaxPending: number | null;
  readonly refreshIntervalMs: number;
  /** Budget timeout monitor (lease reclaim/return, spend refresh, lost counters); ms. */
  readonly budgetMonitorIntervalMs: number;
  /** Budget reconciliation job (counters vs ledger); ms. */
  readonly budgetReconcileIntervalMs: number;
  readonly logLevel: string;
  /** Server processes (node:cluster) sharing the port; > 1 needs PostgreSQL. */
  readonly workers: number;
  /** CTR model file (its signature beside it as `<file>.sig`); null = constant priors. */
  readonly modelPath: string | null;
  /** PEM of the Ed25519 public key trusted for model signatures (read at start-up). */
  readonly modelPublicKeyPem: string | null;
  /**
   * CVR model file (target "cvr", same key as the CTR model); null = the CVR prior. Scores the
   * CVR of CPA candidates.
   */
  readonly cvrModelPath: string | null;
  /** The decision deadline when the request names none (issue 8; the seed's 100 ms). */
  readonly decisionBudgetMs: number;
  /** The frequency-cap read's own budget within the decision's (seed: ~10 ms for a counter read). */
  readonly frequencyBudgetMs: number;
  /** The user profile + engagement read's own budget within the decision's (as a feature read). */
  readonly profileBudgetMs: number;
  /** Per-call timeout of Redis calls before they count as a failure for the Redis breaker. */
  readonly dependencyTimeoutMs: number;
  /** Per-call timeout of PostgreSQL calls behind the `postgres` breaker (ADSTACK_POSTGRES_TIMEOUT_MS). */
  readonly postgresTimeoutMs: number;
  /** Per-call timeout of NATS appends behind the `nats` breaker (ADSTACK_NATS_TIMEOUT_MS). */
  readonly natsTimeoutMs: number;
  /** Median event-loop lag that counts as 100% utilisation for load shedding (ADSTACK_SHED_LAG_TARGET_MS). */
  readonly shedLagTargetMs: number;
  /** Trace exporter: off (default), console or otlp. */
  readonly otel: 'off' | 'console' | 'otlp';
  /** Publish one `decision` event per decision to the event log (off by default). */
  readonly decisionEvents: boolean;
  /** OpenRTB DSPs from ADSTACK_DSPS (a JSON file or inline JSON); null = none configured. */
  readonly dsps: DspsConfig | null;
}

/** One DSP of ADSTACK_DSPS: the bidder settings of src/bidders/types.ts `DspConfig`. */
export interface DspSetting {
  id: string;
  endpoint: string;
  ortbVersion?: '2.5' | '2.6';
  mediaTypes?: ('banner' | 'video' | 'audio' | 'native')[];
  currencies?: string[];
  gzip?: boolean;
  bidAdjustment?: number;
  tmaxDeductionMs?: number;
  qpsCap?: number | null;
  maxAdmLength?: number;
  requireCreativeId?: boolean;
  requireMatchingId?: boolean;
}

export interface DspsConfig {
  dsps: DspSetting[];
  /** DSP budget of one POST /v1/decisions on an RTB-enabled placement, ms; null = default. */
  decisionBudgetMs: number | null;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Development defaults, refused when NODE_ENV=production. */
export const DEV_ADMIN_KEY = 'dev-admin-key';
const DEV_TRACKING_SECRET = 'dev-tracking-secret-change-me';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `expected an integer from ${min} to ${max}, got '${raw}'`);
  }
  return Number(raw);
}

function url(env: Env, name: string, protocols: string[]): string | null {
  const raw = str(env, name);
  if (raw === undefined) return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `expected a URL (${protocols.join(' or ')}), got '${raw}'`);
  }
  if (!protocols.includes(parsed.protocol.replace(/:$/, ''))) {
    throw new ConfigError(
      name,
      `expected a ${protocols.join(' or ')} URL, got '${parsed.protocol}'`,
    );
  }
  return raw;
}

export interface LoadOptions {
  /** false for commands that use neither key nor secret (migrate, seed). Default true. */
  requireSecrets?: boolean;
}

export function loadConfig(env: Env = process.env, opts: LoadOptions = {}): Config {
  const production = env.NODE_ENV === 'production' && opts.requireSecrets !== false;
  const port = int(env, 'ADSTACK_PORT', 8080, 0, 65535);
  const host = str(env, 'ADSTACK_HOST') ?? '127.0.0.1';
  const publicUrl = (
    url(env, 'ADSTACK_PUBLIC_URL', ['http', 'https']) ?? `http://${host}:${port}`
  ).replace(/\/+$/, '');

  const adminKey = str(env, 'ADSTACK_ADMIN_KEY');
  if (adminKey !== undefined && adminKey.length < 12) {
    throw new ConfigError('ADSTACK_ADMIN_KEY', 'expected at least 12 characters');
  }
  if (adminKey === undefined && production) {
    throw new ConfigError('ADSTACK_ADMIN_KEY', 'must be set when NODE_ENV=production');
  }
  const trackingSecret = str(env, 'ADSTACK_TRACKING_SECRET');
  if (trackingSecret !== undefined && trackingSecret.length < 16) {
    throw new ConfigError('ADSTACK_TRACKING_SECRET', 'expected at least 16 characters');
  }
  if (trackingSecret === undefined && production) {
    throw new ConfigError('ADSTACK_TRACKING_SECRET', 'must be set when NODE_ENV=production');
  }
  const logLevel = str(env, 'ADSTACK_LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(
      'ADSTACK_LOG_LEVEL',
      `expected one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`,
    );
  }

  const databaseUrl = url(env, 'ADSTACK_DATABASE_URL', ['postgres', 'postgresql']);
  const workers = int(env, 'ADSTACK_WORKERS', 1, 1, 64);
  if (workers > 1 && databaseUrl === null) {
    throw new ConfigError(
      'ADSTACK_WORKERS',
      "more than one worker needs ADSTACK_DATABASE_URL (PGlite is one process's private database)",
    );
  }

  const { modelPath, modelPublicKeyPem, cvrModelPath } = modelConfig(env);
  const otel = str(env, 'ADSTACK_OTEL') ?? 'off';
  if (otel !== 'off' && otel !== 'console' && otel !== 'otlp') {
    throw new ConfigError('ADSTACK_OTEL', `expected off, console or otlp, got '${otel}'`);
  }
  const dsps = dspsConfig(env);
  const decisionEvents = str(env, 'ADSTACK_DECISION_EVENTS') ?? 'off';
  if (decisionEvents !== 'off' && decisionEvents !== 'on') {
    throw new ConfigError('ADSTACK_DECISION_EVENTS', `expected on or off, got '${decisionEvents}'`);
  }

  return Object.freeze({
    port,
    host,
    publicUrl,
    databaseUrl,
    dataDir: str(env, 'ADSTACK_DATA_DIR') ?? './data',
    redisUrl: url(env, 'ADSTACK_REDIS_URL', ['redis', 'rediss']),
    natsUrl: url(env, 'ADSTACK_NATS_URL', ['nats']),
    adminKey: adminKey ?? DEV_ADMIN_KEY,
    adminKeyIsDefault: adminKey === undefined,
    trackingSecret: trackingSecret ?? DEV_TRACKING_SECRET,
    trackingSecretIsDefault: trackingSecret === undefined,
    trackingTtlMs: int(env, 'ADSTACK_TRACKING_TTL_S', 86_400, 60, 30 * 86_400) * 1000,
    refreshIntervalMs: int(env, 'ADSTACK_REFRESH_INTERVAL_MS', 5000, 100, 3_600_000),
    budgetMonitorIntervalMs: int(env, 'ADSTACK_BUDGET_MONITOR_INTERVAL_MS', 5000, 100, 3_600_000),
    featureLogMaxPending:
      str(env, 'ADSTACK_FEATURE_LOG_MAX_PENDING') === undefined
        ? null
        : int(env, 'ADSTACK_FEATURE_LOG_MAX_PENDING', 10_000, 0, 1_000_000),
    budgetReconcileIntervalMs: int(
      env,
      'ADSTACK_BUDGET_RECONCILE_INTERVAL_MS',
      60_000,
      1000,
      86_400_000,
    ),
    logLevel,
    workers,
    modelPath,
    modelPublicKeyPem,
    cvrModelPath,
    decisionBudgetMs: int(env, 'ADSTACK_DECISION_BUDGET_MS', 100, 5, 10_000),
    frequencyBudgetMs: int(env, 'ADSTACK_FREQUENCY_BUDGET_MS', 10, 1, 10_000),
    profileBudgetMs: int(env, 'ADSTACK_PROFILE_BUDGET_MS', 10, 1, 10_000),
    dependencyTimeoutMs: int(env, 'ADSTACK_DEPENDENCY_TIMEOUT_MS', 2000, 10, 60_000),
    postgresTimeoutMs: int(env, 'ADSTACK_POSTGRES_TIMEOUT_MS', 5000, 10, 600_000),
    natsTimeoutMs: int(env, 'ADSTACK_NATS_TIMEOUT_MS', 5000, 10, 600_000),
    shedLagTargetMs: int(env, 'ADSTACK_SHED_LAG_TARGET_MS', 50, 1, 1000),
    otel,
    decisionEvents: decisionEvents === 'on',
    dsps,
  });
}

const DSP_KEYS: Record<keyof DspSetting, (v: unknown) => string | null> = {
  id: (v) =>
    typeof v === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(v)
      ? null
      : 'expected 1 to 64 characters from A-Z a-z 0-9 _ . -',
  endpoint: (v) => {
    if (typeof v !== 'string') return 'expected an http or https URL';
    try {
      return ['http:', 'https:'].includes(new URL(v).protocol)
        ? null
        : 'expected an http or https URL';
    } catch {
      return 'expected an http or https URL';
    }
  },
  ortbVersion: (v) => (v === '2.5' || v === '2.6' ? null : "expected '2.5' or '2.6'"),
  mediaTypes: (v) =>
    Array.isArray(v) &&
    v.length > 0 &&
    v.every((m) => ['banner', 'video', 'audio', 'native'].includes(m as string))
      ? null
      : 'expected a non-empty list of banner, video, audio, native',
  currencies: (v) =>
    Array.isArray(v) &&
    v.length > 0 &&
    v.every((c) => typeof c === 'string' && /^[A-Z]{3}$/.test(c))
      ? null
      : 'expected a non-empty list of ISO 4217 codes (e.g. "USD")',
  gzip: (v) => (typeof v === 'boolean' ? null : 'expected true or false'),
  bidAdjustment: (v) =>
    typeof v === 'number' && v > 0 && v <= 10 ? null : 'expected a number above 0, at most 10',
  tmaxDeductionMs: (v) =>
    Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 1000
      ? null
      : 'expected an integer from 0 to 1000',
  qpsCap: (v) =>
    v === null || (Number.isInteger(v) && (v as number) > 0)
      ? null
      : 'expected a positive integer or null',
  maxAdmLength: (v) =>
    Number.isInteger(v) && (v as number) > 0 ? null : 'expected a positive integer',
  requireCreativeId: (v) => (typeof v === 'boolean' ? null : 'expected true or false'),
  requireMatchingId: (v) => (typeof v === 'boolean' ? null : 'expected true or false'),
};

/**
 * ADSTACK_DSPS: inline JSON (starts with `[` or `{`) or the path of a JSON file. Either a list of
 * DSPs, or `{"dsps": [...], "decisionBudgetMs": 30}`. Each DSP needs `id` (unique) and
 * `endpoint`; the other keys are the bidder settings (docs/operations.md). Unknown keys are
 * refused, so a typo cannot silently fall back to a default.
 */
function dspsConfig(env: Env): DspsConfig | null {
  const name = 'ADSTACK_DSPS';
  const raw = str(env, name);
  if (raw === undefined) return null;
  let text = raw;
  if (!raw.startsWith('[') && !raw.startsWith('{')) {
    try {
      text = readFileSync(raw, 'utf8');
    } catch (e) {
      throw new ConfigError(
        name,
        `cannot read the DSP file '${raw}': ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      );
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(name, `not valid JSON (${(e as Error).message})`);
  }
  let list: unknown = parsed;
  let decisionBudgetMs: number | null = null;
  if (!Array.isArray(parsed)) {
    if (typeof parsed !== 'object' || parsed === null)
      throw new ConfigError(name, 'expected a list of DSPs or {"dsps": [...]}');
    const o = parsed as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (k !== 'dsps' && k !== 'decisionBudgetMs')
        throw new ConfigError(name, `unknown key '${k}' (expected dsps, decisionBudgetMs)`);
    list = o.dsps;
    if (o.decisionBudgetMs !== undefined) {
      const b = o.decisionBudgetMs;
      if (!Number.isInteger(b) || (b as number) < 1 || (b as number) > 1000)
        throw new ConfigError(name, 'decisionBudgetMs: expected an integer from 1 to 1000');
      decisionBudgetMs = b as number;
    }
  }
  if (!Array.isArray(list)) throw new ConfigError(name, 'dsps: expected a list');
  const seen = new Set<string>();
  const dsps = list.map((d: unknown, i): DspSetting => {
    const at = `dsps[${i}]`;
    if (typeof d !== 'object' || d === null || Array.isArray(d))
      throw new ConfigError(name, `${at}: expected an object`);
    const o = d as Record<string, unknown>;
    for (const k of ['id', 'endpoint'])
      if (o[k] === undefined) throw new ConfigError(name, `${at}.${k}: required`);
    for (const [k, v] of Object.entries(o)) {
      const check = DSP_KEYS[k as keyof DspSetting] as ((v: unknown) => string | null) | undefined;
      if (check === undefined)
        throw new ConfigError(
          name,
          `${at}.${k}: unknown key (expected ${Object.keys(DSP_KEYS).join(', ')})`,
        );
      const problem = check(v);
      if (problem !== null) throw new ConfigError(name, `${at}.${k}: ${problem}`);
    }
    const id = o.id as string;
    if (seen.has(id)) throw new ConfigError(name, `${at}.id: '${id}' is used twice`);
    seen.add(id);
    return o as unknown as DspSetting;
  });
  return { dsps, decisionBudgetMs };
}

/**
 * ADSTACK_MODEL_PATH (CTR) and ADSTACK_CVR_MODEL_PATH (CVR) need ADSTACK_MODEL_PUBLIC_KEY: a
 * model is only served when its signature verifies against the trusted key, so a path without
 * a key (or a key without any path) is a configuration error. Either path may be set alone. The
 * key file is read and checked here; the model files are read by the server (at start-up and on
 * `POST /v1/admin/models/reload`).
 */
function modelConfig(env: Env): {
  modelPath: string | null;
  modelPublicKeyPem: string | null;
  cvrModelPath: string | null;
} {
  const ctrPath = str(env, 'ADSTACK_MODEL_PATH');
  const cvrPath = str(env, 'ADSTACK_CVR_MODEL_PATH');
  const keyPath = str(env, 'ADSTACK_MODEL_PUBLIC_KEY');
  if (ctrPath === undefined && cvrPath === undefined && keyPath === undefined)
    return { modelPath: null, modelPublicKeyPem: null, cvrModelPath: null };
  if (keyPath === undefined)
    throw new ConfigError(
      'ADSTACK_MODEL_PUBLIC_KEY',
      `must be set when ${ctrPath !== undefined ? 'ADSTACK_MODEL_PATH' : 'ADSTACK_CVR_MODEL_PATH'} is (models are only served with a verified signature)`,
    );
  if (ctrPath === undefined && cvrPath === undefined)
    throw new ConfigError(
      'ADSTACK_MODEL_PATH',
      'must be set (or ADSTACK_CVR_MODEL_PATH) when ADSTACK_MODEL_PUBLIC_KEY is (the key has no model to verify)',
    );
  const modelPath = ctrPath ?? null;
  const cvrModelPath = cvrPath ?? null;
  let pem: string;
  try {
    pem = readFileSync(keyPath, 'utf8');
  } catch (e) {
    throw new ConfigError(
      'ADSTACK_MODEL_PUBLIC_KEY',
      `cannot read the public key file '${keyPath}': ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  }
  let type: string | undefined;
  try {
    type = createPublicKey(pem).asymmetricKeyType;
  } catch {
    throw new ConfigError('ADSTACK_MODEL_PUBLIC_KEY', `'${keyPath}' is not a PEM public key`);
  }
  if (type !== 'ed25519')
    throw new ConfigError(
      'ADSTACK_MODEL_PUBLIC_KEY',
      `'${keyPath}' is a ${String(type)} key; model signatures are Ed25519`,
    );
  return { modelPath, modelPublicKeyPem: pem, cvrModelPath };
}
