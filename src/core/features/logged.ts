/**
 * The text form of a `CtrInput` as the decision feature log stores it (src/ports/decision-features.ts)
 * and training from the ledger reads it back. JSON, with absent fields left out; NaN would
 * become null, and null reads back as absent (missing), which is what NaN means to `vectorize`.
 * A number survives exactly (JSON writes the shortest text that reads back to the same double).
 */
import type { CtrInput } from './input.js';

export function encodeCtrInput(input: CtrInput): string {
  return JSON.stringify(input);
}

export class LoggedInputError extends Error {}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

/** Parses a logged input; throws `LoggedInputError` when the text is not a `CtrInput`. */
export function decodeCtrInput(text: string): CtrInput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, (_k, v: unknown) => (v === null ? undefined : v));
  } catch (e) {
    throw new LoggedInputError(`not JSON: ${(e as Error).message}`);
  }
  if (
    !isObject(parsed) ||
    !isObject(parsed.user) ||
    !isObject(parsed.ad) ||
    !isObject(parsed.context) ||
    (parsed.history !== undefined && !isObject(parsed.history))
  )
    throw new LoggedInputError('expected an object with user, ad and context objects');
  return parsed as unknown as CtrInput;
}
