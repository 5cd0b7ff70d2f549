/**
 * MemoryFrequencyCounters: the FrequencyCounters port in process memory (embedded default,
 * tests). A sorted-by-time list of (time, impression key) per user × target; operations are
 * synchronous, hence atomic within this process. Shared only within one process.
 */
import type {
  CapCount,
  FrequencyCapRule,
  FrequencyCheckResult,
  FrequencyCounters,
  FrequencyTarget,
  IncrementTarget,
} from '../../ports/frequency-counters.js';

interface Entry {
  atMs: number;
  key: string;
}

export function createMemoryFrequencyCounters(): MemoryFrequencyCounters {
  return new MemoryFrequencyCounters();
}

export class MemoryFrequencyCounters implements FrequencyCounters {
  private readonly series = new Map<string, Entry[]>();

  private name(userId: string, t: FrequencyTarget): string {
    return `${userId}\u0000${t.scope}\u0000${t.id}`;
  }

  private count(userId: string, rule: FrequencyCapRule, nowMs: number): number {
    const list = this.series.get(this.name(userId, rule)) ?? [];
    let n = 0;
    for (const e of list) {
      if (e.atMs <= nowMs && (rule.windowMs === null || e.atMs > nowMs - rule.windowMs)) n++;
    }
    return n;
  }

  private checkNow(
    userId: string,
    rules: readonly FrequencyCapRule[],
    nowMs: number,
  ): FrequencyCheckResult {
    const counts: CapCount[] = rules.map((rule) => {
      const count = this.count(userId, rule, nowMs);
      return { rule, count, allowed: count < rule.maxImpressions };
    });
    return { allowed: counts.every((c) => c.allowed), counts };
  }

  private add(
    userId: string,
    targets: readonly IncrementTarget[],
    key: string,
    nowMs: number,
  ): boolean {
    let recorded = false;
    for (const t of targets) {
      const name = this.name(userId, t);
      let list = this.series.get(name) ?? [];
      if (t.retainMs !== null) {
        const retain = t.retainMs;
        list = list.filter((e) => e.atMs > nowMs - retain);
      }
      if (!list.some((e) => e.key === key)) {
        list.push({ atMs: nowMs, key });
        recorded = true;
      }
      this.series.set(name, list);
    }
    return recorded;
  }

  async check(
    userId: string,
    rules: readonly FrequencyCapRule[],
    nowMs: number,
  ): Promise<FrequencyCheckResult> {
    return this.checkNow(userId, rules, nowMs);
  }

  async increment(
    userId: string,
    targets: readonly IncrementTarget[],
    impressionKey: string,
    nowMs: number,
  ): Promise<{ recorded: boolean }> {
    return { recorded: this.add(userId, targets, impressionKey, nowMs) };
  }

  async checkAndIncrement(
    userId: string,
    rules: readonly FrequencyCapRule[],
    targets: readonly IncrementTarget[],
    impressionKey: string,
    nowMs: number,
  ): Promise<FrequencyCheckResult & { recorded: boolean }> {
    const result = this.checkNow(userId, rules, nowMs);
    if (!result.allowed) return { ...result, recorded: false };
    return { ...result, recorded: this.add(userId, targets, impressionKey, nowMs) };
  }

  async forgetUser(userId: string): Promise<{ removed: number }> {
    const prefix = `${userId}\u0000`;
    let removed = 0;
    for (const name of [...this.series.keys()]) {
      if (name.startsWith(prefix) && this.series.delete(name)) removed++;
    }
    return { removed };
  }
}
