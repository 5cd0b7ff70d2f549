/**
 * `adstack auction`: one auction as JSON on stdin, the outcome as JSON on stdout (issue 3,
 * item 8). Exit status 0 on success, 2 with a message naming the field on invalid input.
 *
 * Input (decimal currency units; `//` and `/* *\/` comments are allowed, as in the issue):
 *   {"mechanism": "gsp" | "vcg" | "first_price" | "second_price",   required
 *    "slots": [0.3, 0.2, 0.1],     position factors α, in (0, 1], non-increasing; default [1]
 *    "reserve_cpm": 0.5,           seller reserve, eCPM; default 0
 *    "increment": 0.01,            second price/GSP increment, winner's unit; default 0
 *    "seed": 42,                   optional: seeded tie-break instead of bid-then-id
 *    "bids": [{"id": "A", "bid": 10.0, "model": "cpc", "ctr": 0.2},
 *             {"id": "C", "bid": 40, "model": "cpa", "ctr": 0.02, "cvr": 0.05},
 *             {"id": "D", "bid": 3, "model": "cpm", "tier": "deal", "deal_floor_cpm": 2.5}]}
 *   `tier` (guaranteed | deal | open | house; default open) and `deal_floor_cpm` (deal tier
 *   only) are extensions of the issue's contract for priority tiers.
 *
 * Output: {"winners": [{"id": "A", "slot": 0, "price": 6.833333}, …]}: winners in slot order,
 * price in the winner's own unit (per mille for cpm, per click for cpc, per action for cpa),
 * rounded half-up to micros, i.e. at most 6 decimals. `--explain` adds each winner's tier,
 * eCPM and clearing eCPM, and every loser with its IAB loss reason.
 *
 * Money becomes integer micros here, at the boundary (half-up on the decimal as written,
 * core/auction/money.ts); the engine never sees a decimal amount.
 */
import {
  MECHANISMS,
  microsToUnits,
  roundMicros,
  runAuction,
  TIERS,
  unitsToMicros,
  type AuctionBid,
  type AuctionConfig,
  type AuctionResult,
  type Mechanism,
  type Tier,
} from '../core/auction/index.js';
import type { PricingModel } from '../core/domain/entities.js';
import { lossReasonName } from '../core/reasons.js';

/** Shown by `adstack auction --help`. */
export const AUCTION_HELP = `
Input (stdin, JSON; amounts in currency units):
  {"mechanism": "gsp",              gsp | vcg | first_price | second_price (required)
   "slots": [0.3, 0.2, 0.1],        position factors in (0, 1], non-increasing (default [1])
   "reserve_cpm": 0.5,              minimum eCPM to take part and to clear at (default 0)
   "increment": 0.01,               added to second-price/GSP prices, winner's unit (default 0)
   "seed": 42,                      optional: seeded random tie-break
   "bids": [{"id": "A", "bid": 10.0, "model": "cpc", "ctr": 0.2},
            {"id": "B", "bid": 2.5, "model": "cpm"},
            {"id": "C", "bid": 40, "model": "cpa", "ctr": 0.02, "cvr": 0.05}]}
  optional per bid: "tier" (guaranteed | deal | open | house), "deal_floor_cpm" (deal tier)

Output (stdout): {"winners": [{"id": "A", "slot": 0, "price": 0.21}, ...]}
  winners in slot order; price per mille (cpm), per click (cpc) or per action (cpa), 6 decimals.
Exit status: 0, or 2 with a message on stderr for invalid input.
`;

/** Invalid input: the message names the field and what was expected. */
export class AuctionInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuctionInputError';
  }
}

export interface AuctionInput {
  bids: AuctionBid[];
  config: AuctionConfig;
}

export interface CommandResult {
  exitCode: 0 | 2;
  stdout: string;
  stderr: string;
}

const MAX_INPUT_BYTES = 16 * 1024 * 1024;
const MAX_BIDS = 100_000;
const MAX_SLOTS = 100;
const MAX_ID_LENGTH = 256;
/** Largest amount in currency units: keeps every micros value a safe integer with headroom. */
const MAX_AMOUNT = 1e9;
const MODELS: readonly PricingModel[] = ['cpm', 'cpc', 'cpa'];
const TOP_KEYS = ['mechanism', 'slots', 'reserve_cpm', 'increment', 'seed', 'bids'];
const BID_KEYS = ['id', 'bid', 'model', 'ctr', 'cvr', 'tier', 'deal_floor_cpm'];

const fail = (message: string): never => {
  throw new AuctionInputError(message);
};

const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 40)}…` : s;
};

/** Removes `//` and `/* *\/` comments outside JSON strings (the issue's example has them). */
export function stripJsonComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const start = i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      out += text.slice(start, ++i);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) fail('unterminated /* comment');
      out += ' ';
      i = end + 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) {
      fail(`${where}unknown field ${show(k)} (allowed: ${allowed.join(', ')})`);
    }
  }
}

/** A decimal amount ≥ 0 → integer micros. */
function amount(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    fail(`${field} must be a number, got ${show(v)}`);
  const n = v as number;
  if (n < 0) fail(`${field} must be ≥ 0, got ${n}`);
  if (n > MAX_AMOUNT) fail(`${field} must be at most ${MAX_AMOUNT}, got ${n}`);
  return unitsToMicros(n);
}

function probability(v: unknown, field: string): number {
  if (typeof v !== 'number' || !(v > 0 && v <= 1)) {
    fail(`${field} must be a probability in (0, 1], got ${show(v)}`);
  }
  return v as number;
}

function parseSlots(v: unknown): number[] {
  if (v === undefined) return [1];
  if (!Array.isArray(v) || v.length === 0) fail('slots must be a non-empty array of numbers');
  const slots = v as unknown[];
  if (slots.length > MAX_SLOTS) fail(`slots: at most ${MAX_SLOTS} slots, got ${slots.length}`);
  return slots.map((a, k) => {
    if (typeof a !== 'number' || !(a > 0 && a <= 1)) {
      fail(`slots[${k}] must be a position factor in (0, 1], got ${show(a)}`);
    }
    const prev = k > 0 ? (slots[k - 1] as number) : 1;
    if ((a as number) > prev) {
      fail(
        `slots must be non-increasing (α₁ ≥ α₂ ≥ …): slots[${k}] = ${show(a)} is above slots[${k - 1}] = ${prev}`,
      );
    }
    return a as number;
  });
}

function parseBid(v: unknown, i: number, seen: Set<string>): AuctionBid {
  const at = `bids[${i}]`;
  if (!isPlainObject(v)) return fail(`${at} must be an object, got ${show(v)}`);
  checkKeys(v, BID_KEYS, `${at}: `);
  const { id, model, tier } = v;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    fail(`${at}.id must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
  if (seen.has(id as string))
    fail(`${at}.id ${show(id)} is used by an earlier bid; ids are unique`);
  seen.add(id as string);
  if (!MODELS.includes(model as PricingModel)) {
    fail(`${at}.model must be one of ${MODELS.join(', ')}, got ${show(model)}`);
  }
  if (v.bid === undefined) fail(`${at}.bid is required`);
  const bidMicros = amount(v.bid, `${at}.bid`);
  const m = model as PricingModel;
  if ((m === 'cpc' || m === 'cpa') && v.ctr === undefined) {
    fail(
      `${at}.ctr is required for a ${m} bid (its eCPM is bid × ctr${m === 'cpa' ? ' × cvr' : ''} × 1000)`,
    );
  }
  if (m === 'cpa' && v.cvr === undefined) {
    fail(`${at}.cvr is required for a cpa bid (its eCPM is bid × ctr × cvr × 1000)`);
  }
  const ctr = v.ctr === undefined ? 1 : probability(v.ctr, `${at}.ctr`);
  const cvr = v.cvr === undefined ? 1 : probability(v.cvr, `${at}.cvr`);
  if (tier !== undefined && !TIERS.includes(tier as Tier)) {
    fail(`${at}.tier must be one of ${TIERS.join(', ')}, got ${show(tier)}`);
  }
  const bid: AuctionBid = {
    id: id as string,
    model: m,
    bid_micros: bidMicros,
    prediction: { ctr, cvr },
  };
  if (tier !== undefined) bid.tier = tier as Tier;
  if (v.deal_floor_cpm !== undefined) {
    if (tier !== 'deal') fail(`${at}.deal_floor_cpm is only allowed with "tier": "deal"`);
    bid.deal_floor_cpm_micros = amount(v.deal_floor_cpm, `${at}.deal_floor_cpm`);
  }
  return bid;
}

/** Parses and validates the command's input; throws AuctionInputError with a precise message. */
export function parseAuctionInput(text: string): AuctionInput {
  if (text.trim() === '') fail('no input: send one auction as JSON on stdin');
  let raw: unknown;
  try {
    raw = JSON.parse(stripJsonComments(text));
  } catch (e) {
    if (e instanceof AuctionInputError) throw e;
    fail(`stdin is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isPlainObject(raw)) return fail('the input must be a JSON object');
  checkKeys(raw, TOP_KEYS, '');
  if (raw.mechanism === undefined) fail(`mechanism is required: one of ${MECHANISMS.join(', ')}`);
  if (!MECHANISMS.includes(raw.mechanism as Mechanism)) {
    fail(`unknown mechanism ${show(raw.mechanism)}: use one of ${MECHANISMS.join(', ')}`);
  }
  const config: AuctionConfig = {
    mechanism: raw.mechanism as Mechanism,
    slot_factors: parseSlots(raw.slots),
    reserve_cpm_micros: raw.reserve_cpm === undefined ? 0 : amount(raw.reserve_cpm, 'reserve_cpm'),
    increment_micros: raw.increment === undefined ? 0 : amount(raw.increment, 'increment'),
  };
  if (raw.seed !== undefined) {
    if (!Number.isSafeInteger(raw.seed)) fail(`seed must be an integer, got ${show(raw.seed)}`);
    config.tie_break = { kind: 'seeded', seed: raw.seed as number };
  }
  if (!Array.isArray(raw.bids)) return fail('bids is required: an array of bids');
  if (raw.bids.length > MAX_BIDS) fail(`bids: at most ${MAX_BIDS} bids, got ${raw.bids.length}`);
  const seen = new Set<string>();
  const bids = (raw.bids as unknown[]).map((b, i) => parseBid(b, i, seen));
  return { bids, config };
}

const units = (micros: number): number => microsToUnits(roundMicros(micros));

/** The outcome as the contract's JSON (or the longer `--explain` form). */
export function formatOutcome(result: AuctionResult, explain: boolean): string {
  if (!explain) {
    const winners = result.winners.map((w) => ({
      id: w.id,
      slot: w.slot,
      price: microsToUnits(w.price_micros),
    }));
    return JSON.stringify({ winners });
  }
  return JSON.stringify({
    winners: result.winners.map((w) => ({
      id: w.id,
      slot: w.slot,
      price: microsToUnits(w.price_micros),
      tier: w.tier,
      model: w.model,
      ecpm: units(w.ecpm_micros),
      clearing_ecpm: units(w.clearing_ecpm_micros),
    })),
    losers: result.losers.map((l) => ({
      id: l.id,
      tier: l.tier,
      ecpm: units(l.ecpm_micros),
      reason: l.reason,
      reason_name: lossReasonName(l.reason),
    })),
  });
}

/** The whole command without process I/O: stdin text in, exit status and output out. */
export function runAuctionCommand(
  stdinText: string,
  opts: { explain?: boolean } = {},
): CommandResult {
  try {
    const { bids, config } = parseAuctionInput(stdinText);
    const result = runAuction(bids, config);
    return { exitCode: 0, stdout: `${formatOutcome(result, opts.explain === true)}\n`, stderr: '' };
  } catch (e) {
    if (!(e instanceof AuctionInputError)) throw e;
    return { exitCode: 2, stdout: '', stderr: `adstack auction: invalid input: ${e.message}\n` };
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_INPUT_BYTES) fail(`input is larger than ${MAX_INPUT_BYTES} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The commander action: process I/O around runAuctionCommand. */
export async function auctionAction(opts: { explain?: boolean }): Promise<void> {
  if (process.stdin.isTTY === true) {
    process.stderr.write(
      'adstack auction reads one auction as JSON on stdin, e.g.\n' +
        `  echo '{"mechanism":"gsp","bids":[{"id":"A","bid":2.5,"model":"cpm"}]}' | adstack auction\n`,
    );
    process.exitCode = 2;
    return;
  }
  let text: string;
  try {
    text = await readStdin();
  } catch (e) {
    if (!(e instanceof AuctionInputError)) throw e;
    process.stderr.write(`adstack auction: invalid input: ${e.message}\n`);
    process.exitCode = 2;
    return;
  }
  const out = runAuctionCommand(text, opts);
  process.stdout.write(out.stdout);
  process.stderr.write(out.stderr);
  process.exitCode = out.exitCode;
}
