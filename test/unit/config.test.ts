import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

describe('configuration', () => {
  it('runs on embedded defaults with no variables set', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      databaseUrl: null,
      dataDir: './data',
      redisUrl: null,
      natsUrl: null,
    });
    expect(c.adminKeyIsDefault).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
    expect(c.shedLagTargetMs).toBe(50);
    expect(loadConfig({ ADSTACK_SHED_LAG_TARGET_MS: '20' }).shedLagTargetMs).toBe(20);
  });

  it('reads the service URLs', () => {
    const c = loadConfig({
      ADSTACK_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      ADSTACK_REDIS_URL: 'redis://127.0.0.1:6379',
      ADSTACK_NATS_URL: 'nats://127.0.0.1:4222',
      ADSTACK_PORT: '9000',
    });
    expect(c).toMatchObject({
      port: 9000,
      publicUrl: 'http://127.0.0.1:9000',
      redisUrl: 'redis://127.0.0.1:6379',
    });
  });

  it.each([
    [{ ADSTACK_PORT: 'eighty' }, 'ADSTACK_PORT'],
    [{ ADSTACK_PORT: '70000' }, 'ADSTACK_PORT'],
    [{ ADSTACK_DATABASE_URL: 'mysql://x' }, 'ADSTACK_DATABASE_URL'],
    [{ ADSTACK_REDIS_URL: 'not a url' }, 'ADSTACK_REDIS_URL'],
    [{ ADSTACK_NATS_URL: 'http://x' }, 'ADSTACK_NATS_URL'],
    [{ ADSTACK_ADMIN_KEY: 'short' }, 'ADSTACK_ADMIN_KEY'],
    [{ ADSTACK_LOG_LEVEL: 'loud' }, 'ADSTACK_LOG_LEVEL'],
    [{ ADSTACK_TRACKING_TTL_S: '1' }, 'ADSTACK_TRACKING_TTL_S'],
    [{ NODE_ENV: 'production' }, 'ADSTACK_ADMIN_KEY'],
    [{ ADSTACK_WORKERS: '2' }, 'ADSTACK_WORKERS'],
    [{ ADSTACK_WORKERS: '0', ADSTACK_DATABASE_URL: 'postgres://x@h/db' }, 'ADSTACK_WORKERS'],
    [{ NODE_ENV: 'production', ADSTACK_ADMIN_KEY: 'a-long-admin-key' }, 'ADSTACK_TRACKING_SECRET'],
    [{ ADSTACK_SHED_LAG_TARGET_MS: '0' }, 'ADSTACK_SHED_LAG_TARGET_MS'],
  ])('names the bad variable: %j', (env, variable) => {
    let err: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(variable);
    expect((err as Error).message).toMatch(new RegExp(`^${variable}: `));
  });
});
