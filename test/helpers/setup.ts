/**
 * Property tests (fast-check) use one fixed seed in every run, so `npm test` is deterministic
 * on CI; set FC_SEED to explore other inputs locally (a failure prints its seed and path).
 */
import fc from 'fast-check';

fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261125) });
