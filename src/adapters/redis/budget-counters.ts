/**
 * RedisBudgetCounters: the BudgetCounters port on Redis / Redis Cluster, one Lua script per
 * operation (./scripts/*.lua, KEYS/ARGV/returns in each header).
 *
 * - Keys of one campaign period share the hash tag `{campaign:ID}`, so every script touches a
 *   single slot on Redis Cluster: `<prefix>{campaign:ID}:<period>:budget` (hash: budget,
 *   remaining, leased, spent), `…:leases` (hash: lease id → "granted|spent|open|expires|server"),
 *   `…:lease_exp` (zset of open leases by expiry), `…:spends` (set of recorded spend keys).
 * - Micros travel as decimal strings and are stored by HSET/HINCRBY as 64-bit integers; inside
 *   Lua they are doubles, exact below 2^53 (the adapter refuses anything that is not a
 *   non-negative safe integer).
 * - Campaign ids must not contain `{` or `}` (they would break the hash tag).
 */
import type { Redis } from 'ioredis';
import type {
  BudgetCounters,
  BudgetState,
  CampaignPeriod,
  GrantLeaseRequest,
  GrantLeaseResult,
  GrantStatus,
  ReclaimResult,
  RecordSpendRequest,
  RestoreRequest,
  ReturnLeaseResult,
  SpendStatus,
} from '../../ports/budget-counters.js';
import { luaScript } from './scripts/index.js';

export interface RedisBudgetCountersOptions {
  keyPrefix?: string;
}

export function createRedisBudgetCounters(
  client: Redis,
  opts: RedisBudgetCountersOptions = {},
): RedisBudgetCounters {
  return new RedisBudgetCounters(client, opts.keyPrefix ?? 'adstack:budget:');
}

function micros(name: string, v: number): string {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer of micros`);
  }
  return String(v);
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

function toState(reply: unknown): BudgetState | null {
  if (!Array.isArray(reply)) return null;
  const [budget, remaining, leased, spent, open] = reply as unknown[];
  return {
    budgetMicros: num(budget),
    remainingMicros: num(remaining),
    leasedMicros: num(leased),
    spentMicros: num(spent),
    openLeases: num(open),
  };
}

export class RedisBudgetCounters implements BudgetCounters {
  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
  ) {}

  private keys(key: CampaignPeriod) {
    if (/[{}]/.test(key.campaignId)) throw new RangeError('campaignId must not contain { or }');
    const base = `${this.prefix}{campaign:${key.campaignId}}:${key.period}:`;
    return {
      budget: `${base}budget`,
      leases: `${base}leases`,
      leaseExp: `${base}lease_exp`,
      spends: `${base}spends`,
    };
  }

  async setBudget(key: CampaignPeriod, budgetMicros: number): Promise<BudgetState> {
    const k = this.keys(key);
    const reply = await luaScript('budget-set').run(
      this.client,
      [k.budget, k.leaseExp],
      [micros('budgetMicros', budgetMicros)],
    );
    const state = toState(reply);
    if (state === null) throw new Error('budget-set returned no state');
    return state;
  }

  async grantLease(req: GrantLeaseRequest): Promise<GrantLeaseResult> {
    const k = this.keys(req);
    const reply = (await luaScript('lease-grant').run(
      this.client,
      [k.budget, k.leases, k.leaseExp],
      [
        req.leaseId,
        req.serverId,
        micros('requestedMicros', req.requestedMicros),
        String(Math.floor(req.expiresAtMs)),
      ],
    )) as [GrantStatus, number, number, number];
    return {
      status: reply[0],
      grantedMicros: num(reply[1]),
      remainingMicros: num(reply[2]),
      duplicate: num(reply[3]) === 1,
    };
  }

  async recordSpend(req: RecordSpendRequest): Promise<{ status: SpendStatus }> {
    const k = this.keys(req);
    const status = (await luaScript('spend-record').run(
      this.client,
      [k.budget, k.leases, k.spends],
      [req.leaseId, req.spendKey, micros('amountMicros', req.amountMicros)],
    )) as SpendStatus;
    return { status };
  }

  async returnLease(key: CampaignPeriod, leaseId: string): Promise<ReturnLeaseResult> {
    const k = this.keys(key);
    const reply = (await luaScript('lease-return').run(
      this.client,
      [k.budget, k.leases, k.leaseExp],
      [leaseId],
    )) as [ReturnLeaseResult['status'], number];
    return { status: reply[0], returnedMicros: num(reply[1]) };
  }

  async shrinkLease(
    key: CampaignPeriod,
    leaseId: string,
    giveMicros: number,
  ): Promise<ReturnLeaseResult> {
    const k = this.keys(key);
    const reply = (await luaScript('lease-shrink').run(
      this.client,
      [k.budget, k.leases],
      [leaseId, micros('giveMicros', giveMicros)],
    )) as [ReturnLeaseResult['status'], number];
    return { status: reply[0], returnedMicros: num(reply[1]) };
  }

  async reclaimExpired(key: CampaignPeriod, nowMs: number): Promise<ReclaimResult> {
    const k = this.keys(key);
    const reply = (await luaScript('lease-reclaim').run(
      this.client,
      [k.budget, k.leases, k.leaseExp],
      [String(Math.floor(nowMs))],
    )) as [number, number];
    return { leases: num(reply[0]), returnedMicros: num(reply[1]) };
  }

  async restore(req: RestoreRequest): Promise<'restored' | 'exists'> {
    const k = this.keys(req);
    const reply = await luaScript('budget-restore').run(
      this.client,
      [k.budget, k.leases, k.leaseExp, k.spends],
      [
        micros('budgetMicros', req.budgetMicros),
        micros('spentMicros', req.spentMicros),
        micros('heldMicros', req.heldMicros),
        String(Math.floor(req.holdUntilMs)),
        req.spentLeaseId,
        req.holdLeaseId,
        req.serverId,
        String((req.openLeases ?? []).length),
        ...(req.openLeases ?? []).flatMap((l) => [
          l.leaseId,
          micros('lease micros', l.micros),
          String(Math.floor(l.expiresAtMs)),
          l.serverId,
        ]),
        ...req.spendKeys,
      ],
    );
    return reply === 'restored' ? 'restored' : 'exists';
  }

  async state(key: CampaignPeriod): Promise<BudgetState | null> {
    const k = this.keys(key);
    return toState(await luaScript('budget-state').run(this.client, [k.budget, k.leaseExp], []));
  }
}
