/**
 * mulberry32: a small seeded PRNG (32-bit state, period 2^32), so simulations, the DSP
 * simulator, benchmarks and property-style tests are reproducible from their seed. Plenty for
 * simulation; not for cryptography and not for the trainer (src/ml/random.ts has a stronger
 * generator for that).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
