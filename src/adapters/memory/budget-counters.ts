/**
 * MemoryBudgetCounters: the BudgetCounters port in process memory (embedded default, tests).
 * Each operation runs synchronously inside one call, so it is atomic within this process; the
 * counters are shared only by this process (one ad server), and lost with it.
 */
import type {
  BudgetCounters,
  BudgetState,
  CampaignPeriod,
  GrantLeaseRequest,
  GrantLeaseResult,
  ReclaimResult,
  RecordSpendRequest,
  RestoreRequest,
  ReturnLeaseResult,
  SpendStatus,
} from '../../ports/budget-counters.js';

interface Lease {
  grantedMicros: number;
  spentMicros: number;
  open: boolean;
  expiresAtMs: number;
  serverId: string;
}

interface Counters {
  budget: number;
  remaining: number;
  leased: number;
  spent: number;
  leases: Map<string, Lease>;
  /** The open ones (closed leases stay in `leases` for idempotency; ticks scan only these). */
  openLeases: Set<Lease>;
  spendKeys: Set<string>;
}

export function createMemoryBudgetCounters(): MemoryBudgetCounters {
  return new MemoryBudgetCounters();
}

function micros(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer of micros`);
  }
  return v;
}

/** A new open lease (the caller has moved the micros into `leased`). */
function addOpenLease(
  c: Counters,
  leaseId: string,
  micros: number,
  expiresAtMs: number,
  serverId: string,
): void {
  const lease: Lease = { grantedMicros: micros, spentMicros: 0, open: true, expiresAtMs, serverId };
  c.leases.set(leaseId, lease);
  c.openLeases.add(lease);
}

export class MemoryBudgetCounters implements BudgetCounters {
  private readonly periods = new Map<string, Counters>();

  private get(key: CampaignPeriod): Counters | undefined {
    return this.periods.get(`${key.campaignId}\u0000${key.period}`);
  }

  private snapshot(c: Counters): BudgetState {
    const open = c.openLeases.size;
    return {
      budgetMicros: c.budget,
      remainingMicros: c.remaining,
      leasedMicros: c.leased,
      spentMicros: c.spent,
      openLeases: open,
    };
  }

  async setBudget(key: CampaignPeriod, budgetMicros: number): Promise<BudgetState> {
    micros('budgetMicros', budgetMicros);
    let c = this.get(key);
    if (c === undefined) {
      c = {
        budget: budgetMicros,
        remaining: budgetMicros,
        leased: 0,
        spent: 0,
        leases: new Map(),
        openLeases: new Set(),
        spendKeys: new Set(),
      };
      this.periods.set(`${key.campaignId}\u0000${key.period}`, c);
    } else {
      c.remaining += budgetMicros - c.budget;
      c.budget = budgetMicros;
    }
    return this.snapshot(c);
  }

  async grantLease(req: GrantLeaseRequest): Promise<GrantLeaseResult> {
    micros('requestedMicros', req.requestedMicros);
    const c = this.get(req);
    if (c === undefined) {
      return { status: 'unknown_budget', grantedMicros: 0, remainingMicros: 0, duplicate: false };
    }
    const existing = c.leases.get(req.leaseId);
    if (existing !== undefined) {
      return {
        status: 'granted',
        grantedMicros: existing.grantedMicros,
        remainingMicros: c.remaining,
        duplicate: true,
      };
    }
    const granted = Math.min(req.requestedMicros, Math.max(0, c.remaining));
    if (granted <= 0) {
      return {
        status: 'exhausted',
        grantedMicros: 0,
        remainingMicros: c.remaining,
        duplicate: false,
      };
    }
    c.remaining -= granted;
    c.leased += granted;
    addOpenLease(c, req.leaseId, granted, req.expiresAtMs, req.serverId);
    return {
      status: 'granted',
      grantedMicros: granted,
      remainingMicros: c.remaining,
      duplicate: false,
    };
  }

  async recordSpend(req: RecordSpendRequest): Promise<{ status: SpendStatus }> {
    micros('amountMicros', req.amountMicros);
    const c = this.get(req);
    const lease = c?.leases.get(req.leaseId);
    if (c === undefined || lease === undefined) return { status: 'unknown_lease' };
    if (c.spendKeys.has(req.spendKey)) return { status: 'duplicate' };
    if (lease.open) {
      if (lease.spentMicros + req.amountMicros > lease.grantedMicros) {
        return { status: 'exceeds_lease' };
      }
      c.spendKeys.add(req.spendKey);
      lease.spentMicros += req.amountMicros;
      c.leased -= req.amountMicros;
      c.spent += req.amountMicros;
      return { status: 'recorded' };
    }
    c.spendKeys.add(req.spendKey);
    lease.spentMicros += req.amountMicros;
    c.remaining -= req.amountMicros;
    c.spent += req.amountMicros;
    return { status: 'late' };
  }

  private close(c: Counters, lease: Lease): number {
    const unspent = lease.grantedMicros - lease.spentMicros;
    lease.open = false;
    c.openLeases.delete(lease);
    c.leased -= unspent;
    c.remaining += unspent;
    return unspent;
  }

  async returnLease(key: CampaignPeriod, leaseId: string): Promise<ReturnLeaseResult> {
    const c = this.get(key);
    const lease = c?.leases.get(leaseId);
    if (c === undefined || lease === undefined)
      return { status: 'unknown_lease', returnedMicros: 0 };
    if (!lease.open) return { status: 'already_closed', returnedMicros: 0 };
    return { status: 'returned', returnedMicros: this.close(c, lease) };
  }

  async shrinkLease(
    key: CampaignPeriod,
    leaseId: string,
    giveMicros: number,
  ): Promise<ReturnLeaseResult> {
    const want = micros('giveMicros', giveMicros);
    const c = this.get(key);
    const lease = c?.leases.get(leaseId);
    if (c === undefined || lease === undefined)
      return { status: 'unknown_lease', returnedMicros: 0 };
    if (!lease.open) return { status: 'already_closed', returnedMicros: 0 };
    const give = Math.max(0, Math.min(want, lease.grantedMicros - lease.spentMicros));
    lease.grantedMicros -= give;
    c.leased -= give;
    c.remaining += give;
    return { status: 'returned', returnedMicros: give };
  }

  async reclaimExpired(key: CampaignPeriod, nowMs: number): Promise<ReclaimResult> {
    const c = this.get(key);
    const out: ReclaimResult = { leases: 0, returnedMicros: 0 };
    if (c === undefined) return out;
    for (const lease of [...c.openLeases]) {
      if (lease.expiresAtMs <= nowMs) {
        out.returnedMicros += this.close(c, lease);
        out.leases++;
      }
    }
    return out;
  }

  async state(key: CampaignPeriod): Promise<BudgetState | null> {
    const c = this.get(key);
    return c === undefined ? null : this.snapshot(c);
  }

  async restore(req: RestoreRequest): Promise<'restored' | 'exists'> {
    const b = micros('budgetMicros', req.budgetMicros);
    const s = micros('spentMicros', req.spentMicros);
    const h = micros('heldMicros', req.heldMicros);
    const open = req.openLeases ?? [];
    const leased = open.reduce((a, l) => a + micros('lease micros', l.micros), h);
    if (this.get(req) !== undefined) return 'exists';
    const c: Counters = {
      budget: b,
      remaining: b - s - leased,
      leased,
      spent: s,
      leases: new Map(),
      openLeases: new Set(),
      spendKeys: new Set(req.spendKeys),
    };
    // The spent lease exists even when s = 0: late spend of lost leases can be recorded on it.
    c.leases.set(req.spentLeaseId, {
      grantedMicros: s,
      spentMicros: s,
      open: false,
      expiresAtMs: 0,
      serverId: req.serverId,
    });
    if (h > 0) addOpenLease(c, req.holdLeaseId, h, req.holdUntilMs, req.serverId);
    for (const l of open) {
      if (l.micros > 0) addOpenLease(c, l.leaseId, l.micros, l.expiresAtMs, l.serverId);
    }
    this.periods.set(`${req.campaignId}\u0000${req.period}`, c);
    return 'restored';
  }
}
