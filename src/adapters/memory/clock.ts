import { performance } from 'node:perf_hooks';
import type { Clock } from '../../ports/clock.js';

/** The real clock. Tests use their own fake (test/helpers/fake-clock.ts). */
export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
};
