/**
 * Auction macro substitution in `nurl`, `burl`, `lurl` and `adm` (OpenRTB 2.6 §4.4; RULES.md
 * rules 58–60).
 *
 * Implementation notes
 * - Plain string replacement "without regard to syntax" (2.6 §4.4): one regex pass finds
 *   `${AUCTION_…}` and `${AUCTION_…:X}`; nothing is parsed or escaped.
 * - A macro we support but have no value for becomes the empty string (2.6 §4.4); in audit mode
 *   it becomes "AUDIT" (rule 59: for test or quality checks). A `${…}` that is not an auction
 *   macro is left alone: it may be the buyer's own template.
 * - `:X` suffixes request an encoding agreed with the buyer (rule 59). `B64` is base64 of the
 *   UTF-8 value (RFC 4648 §4); an encoding we do not know yields the empty string rather than
 *   the raw value, because the buyer expects an encoded value there.
 * - Prices are rendered from integer micros as plain decimals (no exponent, no binary-float
 *   noise): 1_250_000 µ → "1.25".
 */

export const MACROS = [
  'AUCTION_ID',
  'AUCTION_BID_ID',
  'AUCTION_IMP_ID',
  'AUCTION_SEAT_ID',
  'AUCTION_AD_ID',
  'AUCTION_PRICE',
  'AUCTION_CURRENCY',
  'AUCTION_MBR',
  'AUCTION_LOSS',
  'AUCTION_MIN_TO_WIN',
  'AUCTION_MULTIPLIER',
  'AUCTION_IMP_TS',
  'AUCTION_DISCOUNT_PCT',
  'AUCTION_DISCOUNT_CPM',
] as const;
export type MacroName = (typeof MACROS)[number];
export type MacroValues = Partial<Record<MacroName, string>>;

const KNOWN: ReadonlySet<string> = new Set(MACROS);
const MACRO_RE = /\$\{(AUCTION_[A-Z_]+)(?::([A-Za-z0-9_]+))?\}/g;

function base64Utf8(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

export interface MacroOptions {
  /** Render absent values as "AUDIT" (test and quality checks; 2.6 §4.4). */
  audit?: boolean;
}

export function substituteMacros(
  text: string,
  values: MacroValues,
  opts: MacroOptions = {},
): string {
  if (!text.includes('${')) return text;
  return text.replace(MACRO_RE, (whole, name: string, encoding: string | undefined) => {
    if (!KNOWN.has(name)) return whole;
    const raw = values[name as MacroName] ?? (opts.audit === true ? 'AUDIT' : '');
    if (encoding === undefined) return raw;
    return encoding.toUpperCase() === 'B64' ? base64Utf8(raw) : '';
  });
}

/** Integer micros → a plain decimal string: 1_250_000 → "1.25", 5 → "0.000005". */
export function formatMicros(micros: number): string {
  const neg = micros < 0;
  const abs = Math.abs(Math.trunc(micros));
  const whole = Math.floor(abs / 1_000_000);
  const frac = (abs % 1_000_000).toString().padStart(6, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole}${frac.length > 0 ? `.${frac}` : ''}`;
}

export interface NoticeFacts {
  auctionId: string;
  bidResponseId?: string;
  impId: string;
  seat: string;
  adId?: string;
  /** Clearing price in the bid's currency, integer micros (2.6 §4.4 AUCTION_PRICE). */
  clearingPriceMicros?: number;
  bidPriceMicros?: number;
  currency?: string;
  lossReason?: number;
  minToWinMicros?: number;
  multiplier?: number;
  impTsMs?: number;
}

/** The macro values for one bid's notices, from the auction's facts. */
export function macroValues(f: NoticeFacts): MacroValues {
  const v: MacroValues = {
    AUCTION_ID: f.auctionId,
    AUCTION_IMP_ID: f.impId,
    AUCTION_SEAT_ID: f.seat,
  };
  if (f.bidResponseId !== undefined) v.AUCTION_BID_ID = f.bidResponseId;
  if (f.adId !== undefined) v.AUCTION_AD_ID = f.adId;
  if (f.clearingPriceMicros !== undefined) v.AUCTION_PRICE = formatMicros(f.clearingPriceMicros);
  if (f.currency !== undefined) v.AUCTION_CURRENCY = f.currency;
  if (
    f.clearingPriceMicros !== undefined &&
    f.bidPriceMicros !== undefined &&
    f.bidPriceMicros > 0
  ) {
    // Market bid ratio: clearing price / bid price (2.6 §4.4).
    v.AUCTION_MBR = (f.clearingPriceMicros / f.bidPriceMicros).toString();
  }
  if (f.lossReason !== undefined) v.AUCTION_LOSS = String(f.lossReason);
  if (f.minToWinMicros !== undefined) v.AUCTION_MIN_TO_WIN = formatMicros(f.minToWinMicros);
  if (f.multiplier !== undefined) v.AUCTION_MULTIPLIER = String(f.multiplier);
  if (f.impTsMs !== undefined) v.AUCTION_IMP_TS = String(f.impTsMs);
  return v;
}
