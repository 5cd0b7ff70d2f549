/**
 * IEEE-754 helpers used to turn a library's comparison semantics into one rule: "go left iff
 * x < threshold", with x the float64 feature value as our feature pipeline produces it.
 *
 * - XGBoost stores features and split conditions as float32 and goes left iff
 *   `float32(x) < split_condition` (XGBoost `RegTree::GetNext`, src/tree/... in 1.7). Because
 *   rounding to float32 is monotonic, the set {x : fround(x) < t} is a half-line; its float64
 *   end point is computed by `float32LessThanCut`, so the hot loop never rounds its input.
 * - LightGBM goes left iff `x <= threshold` in double (LightGBM `Tree::NumericalDecision`);
 *   for doubles, `x <= t` is the same as `x < nextUp(t)`.
 */

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The smallest float64 greater than `x` (x finite or -Infinity). */
export function nextUp64(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE; // both +0 and -0
  f64[0] = x;
  u64[0] = x > 0 ? u64[0]! + 1n : u64[0]! - 1n;
  return f64[0]!;
}

/** The largest float32 smaller than the float32 value `t` (t must be exactly a float32). */
export function prevFloat32(t: number): number {
  if (Number.isNaN(t) || t === -Infinity) return t;
  if (t === 0) return -1.401298464324817e-45; // -2^-149, the negative subnormal nearest 0
  f32[0] = t;
  u32[0] = t > 0 ? u32[0]! - 1 : u32[0]! + 1;
  return f32[0]!;
}

/** True when the float32 `t`'s last significand bit is 0 ("even" for round-half-to-even). */
function float32IsEven(t: number): boolean {
  f32[0] = t;
  return (u32[0]! & 1) === 0;
}

/**
 * The float64 cut c such that, for every non-NaN float64 x, `Math.fround(x) < t` ⇔ `x < c`.
 *
 * With p the float32 just below t, values below the midpoint m = (p + t) / 2 round to p or less
 * and values above it round to t or more; m itself rounds half-to-even (ECMAScript
 * `Math.fround`, IEEE-754 roundTiesToEven, as C's float conversion does). m is exact in float64
 * because adjacent float32 values differ only in their 24th significant bit.
 */
export function float32LessThanCut(t: number): number {
  if (Number.isNaN(t) || Math.fround(t) !== t)
    throw new RangeError(`threshold ${t} is not a float32 value`);
  if (t === -Infinity) return -Infinity;
  const p = prevFloat32(t);
  // +Infinity behaves as the (even) float32 after the largest finite one: a tie at the midpoint
  // above FLT_MAX overflows to Infinity, so that midpoint itself is not below the cut.
  const m = t === Infinity ? 3.4028235677973366e38 : (p + t) / 2;
  const tieGoesLow = t !== Infinity && !float32IsEven(t) && float32IsEven(p);
  return tieGoesLow ? nextUp64(m) : m;
}
