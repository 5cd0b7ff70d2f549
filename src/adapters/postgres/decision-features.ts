/**
 * The decision feature log on PostgreSQL / PGlite (migration 006, `decision_features`).
 *
 * `record` only pushes onto an in-memory queue (the decision's hot path does no I/O and no JSON
 * work); a timer (and a full batch) writes the queue in multi-row inserts, serializing each input
 * there. The queue is bounded: beyond `maxPending` records are dropped and counted, as are the
 * records of a failed write — the port's best-effort contract (src/ports/decision-features.ts).
 * One row per decision id (`ON CONFLICT DO NOTHING`).
 */
import { encodeCtrInput } from '../../core/features/logged.js';
import type { DecisionFeatureLog, DecisionFeatureRecord } from '../../ports/decision-features.js';
import type { SqlDriver } from './driver.js';

export interface PgDecisionFeatureLogOptions {
  /** Queue bound (default 10,000 records). */
  maxPending?: number;
  /** Rows per insert (default 500). */
  batchSize?: number;
  /** How often the queue is written (default 1,000 ms). */
  flushIntervalMs?: number;
  /** Called with the error of a failed write (its records are dropped and counted). */
  onError?: (e: unknown) => void;
}

export function createPgDecisionFeatureLog(
  db: Pick<SqlDriver, 'query'>,
  opts: PgDecisionFeatureLogOptions = {},
): DecisionFeatureLog {
  const maxPending = opts.maxPending ?? 10_000;
  const batchSize = opts.batchSize ?? 500;
  let pending: DecisionFeatureRecord[] = [];
  let written = 0;
  let dropped = 0;
  let closed = false;
  let draining: Promise<void> | null = null;

  async function write(batch: readonly DecisionFeatureRecord[]): Promise<void> {
    const params: unknown[] = [];
    const tuples = batch.map((r) => {
      const b = params.length;
      params.push(r.decisionId, r.decidedAtMs, encodeCtrInput(r.input));
      return `($${b + 1}, to_timestamp($${b + 2}::float8 / 1000), $${b + 3})`;
    });
    await db.query(
      `INSERT INTO decision_features (decision_id, decided_at, input) VALUES ${tuples.join(', ')}
       ON CONFLICT (decision_id) DO NOTHING`,
      params,
    );
  }

  async function drain(): Promise<void> {
    while (pending.length > 0) {
      const batch = pending.slice(0, batchSize);
      pending = pending.slice(batch.length);
      try {
        await write(batch);
        written += batch.length;
      } catch (e) {
        dropped += batch.length;
        opts.onError?.(e);
      }
    }
  }

  function flush(): Promise<void> {
    draining ??= drain().finally(() => {
      draining = null;
    });
    return draining;
  }

  const timer = setInterval(() => void flush(), opts.flushIntervalMs ?? 1000);
  timer.unref();

  return {
    record(r) {
      if (closed || pending.length >= maxPending) {
        dropped++;
        return;
      }
      pending.push(r);
      if (pending.length >= batchSize) void flush();
    },
    flush,
    async close() {
      closed = true;
      clearInterval(timer);
      await flush();
    },
    get written() {
      return written;
    },
    get dropped() {
      return dropped;
    },
  };
}
