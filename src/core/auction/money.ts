/**
 * Decimal currency units ↔ integer micros, for the boundaries where money enters or leaves the
 * engine in decimal form (the `adstack auction` CLI, OpenRTB prices). Inside, money is micros.
 *
 * Implementation notes
 * - unitsToMicros rounds the decimal the caller wrote, not its binary double: 0.1250005 is
 *   stored just below …0005, so `Math.floor(x * 1e6 + 0.5)` gives 125000 where half-up on the
 *   written value gives 125001. JavaScript's Number→string conversion yields the shortest
 *   decimal that round-trips (ECMA-262 Number::toString), which is the value as written for
 *   any input of up to 15 significant digits; we round that decimal half-up at the 6th place.
 * - microsToUnits divides by 10^6; the nearest double to an integer over 10^6 prints with at
 *   most six decimals, so JSON output shows exactly the rounded price.
 */

export const MICROS_PER_UNIT = 1_000_000;

/**
 * Half-up (away from zero) rounding of a decimal amount to whole micros. Returns NaN for a
 * non-finite input and for amounts whose micros are not safe integers.
 */
export function unitsToMicros(units: number): number {
  if (!Number.isFinite(units)) return Number.NaN;
  if (units < 0) return -unitsToMicros(-units);
  const [mantissa = '0', exp = '0'] = units.toString().split('e');
  const [intPart = '0', fracPart = ''] = mantissa.split('.');
  const digits = intPart + fracPart;
  // Position of the decimal point in `digits`, moved right by 6 to count micros.
  const point = intPart.length + Number(exp) + 6;
  let whole: string;
  let next: string;
  if (point <= 0) {
    whole = '0';
    next = point === 0 ? (digits[0] ?? '0') : '0';
  } else if (point >= digits.length) {
    whole = digits + '0'.repeat(point - digits.length);
    next = '0';
  } else {
    whole = digits.slice(0, point);
    next = digits[point] ?? '0';
  }
  const micros = Number(whole) + (next >= '5' ? 1 : 0);
  return Number.isSafeInteger(micros) ? micros : Number.NaN;
}

export function microsToUnits(micros: number): number {
  return micros / MICROS_PER_UNIT;
}
