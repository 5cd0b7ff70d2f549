/**
 * RedisFrequencyCounters: the FrequencyCounters port on Redis / Redis Cluster, one Lua script
 * per operation (./scripts/freq-*.lua).
 *
 * - One sorted set per user × target, `<prefix>{user:ID}:<scope>:<id>`: member = impression
 *   key (so a duplicate is not counted twice), score = epoch ms. A window count is ZCOUNT over
 *   (now − window, now]. All keys of one user share the hash tag `{user:ID}`, so a script over
 *   several targets is single-slot on Redis Cluster.
 * - Increment trims entries older than the target's `retainMs` and sets the key's expiry to it.
 * - User ids must not contain `{` or `}` (they would break the hash tag).
 * - `forgetUser` finds the user's keys with SCAN over `<prefix>{user:ID}:*` and UNLINKs them.
 *   SCAN walks the whole keyspace of the server it is sent to (O(keys), in small steps that
 *   do not block Redis). With a Redis Cluster client (ioredis `Cluster`) SCAN is sent to every
 *   master in turn, since each node scans only its own keys; the user's keys share one hash
 *   tag, so they are all found on the master owning that slot. A slot migrating during the
 *   erasure can hide keys from both nodes' SCAN: run the erasure again after resharding
 *   (it is idempotent). Tested on a private 3-master cluster
 *   (test/contract/frequency-counters.redis-cluster.test.ts).
 */
import { Cluster, type Redis } from 'ioredis';
import type {
  CapCount,
  FrequencyCapRule,
  FrequencyCheckResult,
  FrequencyCounters,
  FrequencyTarget,
  IncrementTarget,
} from '../../ports/frequency-counters.js';
import { luaScript } from './scripts/index.js';

export interface RedisFrequencyCountersOptions {
  keyPrefix?: string;
}

export function createRedisFrequencyCounters(
  client: Redis | Cluster,
  opts: RedisFrequencyCountersOptions = {},
): RedisFrequencyCounters {
  return new RedisFrequencyCounters(client, opts.keyPrefix ?? 'adstack:freq:');
}

const ms = (v: number | null): string => (v === null ? '-1' : String(Math.max(0, Math.floor(v))));

export class RedisFrequencyCounters implements FrequencyCounters {
  constructor(
    private readonly client: Redis | Cluster,
    private readonly prefix: string,
  ) {}

  /** Every key of one user starts with this (and shares its hash tag). */
  private userPrefix(userId: string): string {
    if (/[{}]/.test(userId)) throw new RangeError('userId must not contain { or }');
    return `${this.prefix}{user:${userId}}:`;
  }

  private key(userId: string, t: FrequencyTarget): string {
    return `${this.userPrefix(userId)}${t.scope}:${t.id}`;
  }

  private result(
    rules: readonly FrequencyCapRule[],
    counts: readonly unknown[],
  ): FrequencyCheckResult {
    const out: CapCount[] = rules.map((rule, i) => {
      const count = Number(counts[i] ?? 0);
      return { rule, count, allowed: count < rule.maxImpressions };
    });
    return { allowed: out.every((c) => c.allowed), counts: out };
  }

  async check(
    userId: string,
    rules: readonly FrequencyCapRule[],
    nowMs: number,
  ): Promise<FrequencyCheckResult> {
    if (rules.length === 0) return { allowed: true, counts: [] };
    const reply = (await luaScript('freq-check').run(
      this.client,
      rules.map((r) => this.key(userId, r)),
      [String(Math.floor(nowMs)), ...rules.map((r) => ms(r.windowMs))],
    )) as unknown[];
    return this.result(rules, reply);
  }

  async increment(
    userId: string,
    targets: readonly IncrementTarget[],
    impressionKey: string,
    nowMs: number,
  ): Promise<{ recorded: boolean }> {
    if (targets.length === 0) return { recorded: false };
    const added = await luaScript('freq-increment').run(
      this.client,
      targets.map((t) => this.key(userId, t)),
      [String(Math.floor(nowMs)), impressionKey, ...targets.map((t) => ms(t.retainMs))],
    );
    return { recorded: Number(added) > 0 };
  }

  async checkAndIncrement(
    userId: string,
    rules: readonly FrequencyCapRule[],
    targets: readonly IncrementTarget[],
    impressionKey: string,
    nowMs: number,
  ): Promise<FrequencyCheckResult & { recorded: boolean }> {
    const reply = (await luaScript('freq-check-increment').run(
      this.client,
      [...rules.map((r) => this.key(userId, r)), ...targets.map((t) => this.key(userId, t))],
      [
        String(Math.floor(nowMs)),
        impressionKey,
        String(rules.length),
        ...rules.map((r) => ms(r.windowMs)),
        ...rules.map((r) => String(r.maxImpressions)),
        ...targets.map((t) => ms(t.retainMs)),
      ],
    )) as unknown[];
    return { ...this.result(rules, reply.slice(1)), recorded: Number(reply[0]) === 1 };
  }

  async forgetUser(userId: string): Promise<{ removed: number }> {
    const pattern = `${globEscape(this.userPrefix(userId))}*`;
    // Each cluster node scans only its own keys: walk every master (see the header).
    const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    let removed = 0;
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        // One hash tag: the keys are in one slot, owned by the node that listed them.
        if (keys.length > 0) removed += await node.unlink(...keys);
      } while (cursor !== '0');
    }
    return { removed };
  }
}

/** Escapes Redis glob metacharacters so a key prefix matches only itself. */
function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
