/**
 * Loads the Lua scripts next to this file and runs them by EVALSHA, falling back to EVAL (which
 * also caches the script on the server) on NOSCRIPT, e.g. after a Redis restart emptied the
 * script cache. Each script is one atomic operation; its KEYS/ARGV/returns are in its header.
 * The .lua files are read from beside the module: a build that runs from dist/ must copy
 * them there (scripts/copy-assets.mjs does not yet).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

export type ScriptName =
  | 'budget-set'
  | 'budget-state'
  | 'budget-restore'
  | 'lease-grant'
  | 'spend-record'
  | 'lease-return'
  | 'lease-shrink'
  | 'lease-reclaim'
  | 'freq-check'
  | 'freq-increment'
  | 'freq-check-increment';

export interface LuaScript {
  readonly name: ScriptName;
  readonly sha: string;
  /** On a Cluster client the script goes to the node owning its keys (all in one slot). */
  run(
    client: Redis | Cluster,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown>;
}

const cache = new Map<ScriptName, LuaScript>();

export function luaScript(name: ScriptName): LuaScript {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  const source = readFileSync(new URL(`./${name}.lua`, import.meta.url), 'utf8');
  const sha = createHash('sha1').update(source).digest('hex');
  const script: LuaScript = {
    name,
    sha,
    async run(client, keys, args) {
      try {
        return await client.evalsha(sha, keys.length, ...keys, ...args);
      } catch (e) {
        if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
        return client.eval(source, keys.length, ...keys, ...args);
      }
    },
  };
  cache.set(name, script);
  return script;
}
