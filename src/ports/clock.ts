/**
 * Clock: the only source of "now" for code outside core/ (core takes `nowMs` as an argument).
 * Guarantees: `nowMs()` is wall-clock milliseconds since the epoch; `monotonicMs()` never goes
 * backwards and is for measuring durations only. Tests inject a fake clock.
 */
export interface Clock {
  nowMs(): number;
  monotonicMs(): number;
}
