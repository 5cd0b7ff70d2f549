/**
 * OpenRTB 2.6 objects, as far as the exchange reads or writes them (IAB Tech Lab, OpenRTB 2.6,
 * §3 "Bid Request Specification" and §4 "Bid Response Specification"). Field names are the wire
 * names, verbatim (DESIGN.md §4).
 *
 * Implementation notes
 * - Own types rather than the `iab-openrtb` package: core/ may import nothing outside core/
 *   (docs/ARCHITECTURE.md, rule `core-imports-only-core`), and the validator's output type has
 *   to say what was actually checked. test/openrtb/types-compat.test.ts proves at compile time
 *   that these types are assignable to `iab-openrtb/v26`'s, so they do not drift from it.
 * - Only what the code uses is listed. Every object keeps its unknown fields at run time (a
 *   validated request is the parsed JSON itself, RULES.md rule 8: unknown fields are tolerated
 *   and forwarded); the index signature-free types just do not name them.
 * - Prices on the wire are CPM floats (`price`, `bidfloor`); they become integer micros at the
 *   boundary (price.ts) and nowhere else.
 */

export type Ext = Record<string, unknown>;

export interface Format {
  w?: number;
  h?: number;
  wratio?: number;
  hratio?: number;
  wmin?: number;
  ext?: Ext;
}

export interface Banner {
  format?: Format[];
  w?: number;
  h?: number;
  btype?: number[];
  battr?: number[];
  pos?: number;
  mimes?: string[];
  topframe?: number;
  expdir?: number[];
  api?: number[];
  id?: string;
  vcm?: number;
  ext?: Ext;
}

export interface Video {
  mimes: string[];
  minduration?: number;
  maxduration?: number;
  startdelay?: number;
  protocols?: number[];
  w?: number;
  h?: number;
  plcmt?: number;
  placement?: number;
  battr?: number[];
  rqddurs?: number[];
  mincpmpersec?: number;
  poddur?: number;
  maxseq?: number;
  companionad?: Banner[];
  ext?: Ext;
}

export interface Audio {
  mimes: string[];
  minduration?: number;
  maxduration?: number;
  battr?: number[];
  rqddurs?: number[];
  mincpmpersec?: number;
  ext?: Ext;
}

export interface Native {
  /** The Native Ads request payload, JSON-encoded as a string (2.6 §3.2.9). */
  request: string;
  ver?: string;
  api?: number[];
  battr?: number[];
  ext?: Ext;
}

export interface Deal {
  id: string;
  bidfloor?: number;
  bidfloorcur?: string;
  at?: number;
  wseat?: string[];
  wadomain?: string[];
  ext?: Ext;
}

export interface Pmp {
  private_auction?: number;
  deals?: Deal[];
  ext?: Ext;
}

export interface Imp {
  id: string;
  banner?: Banner;
  video?: Video;
  audio?: Audio;
  native?: Native;
  pmp?: Pmp;
  tagid?: string;
  bidfloor?: number;
  bidfloorcur?: string;
  instl?: number;
  secure?: number;
  rwdd?: number;
  exp?: number;
  ext?: Ext;
}

export interface Publisher {
  id?: string;
  name?: string;
  domain?: string;
  ext?: Ext;
}

export interface Site {
  id?: string;
  name?: string;
  domain?: string;
  page?: string;
  ref?: string;
  cat?: string[];
  keywords?: string;
  publisher?: Publisher;
  ext?: Ext;
}

export interface App {
  id?: string;
  name?: string;
  bundle?: string;
  domain?: string;
  storeurl?: string;
  cat?: string[];
  keywords?: string;
  publisher?: Publisher;
  ext?: Ext;
}

export interface Dooh {
  id?: string;
  name?: string;
  venuetype?: string[];
  publisher?: Publisher;
  ext?: Ext;
}

export interface Geo {
  lat?: number;
  lon?: number;
  type?: number;
  accuracy?: number;
  country?: string;
  region?: string;
  metro?: string;
  city?: string;
  zip?: string;
  utcoffset?: number;
  ext?: Ext;
}

export interface Device {
  ua?: string;
  geo?: Geo;
  dnt?: number;
  lmt?: number;
  ip?: string;
  ipv6?: string;
  devicetype?: number;
  os?: string;
  w?: number;
  h?: number;
  ppi?: number;
  ifa?: string;
  didsha1?: string;
  didmd5?: string;
  dpidsha1?: string;
  dpidmd5?: string;
  macsha1?: string;
  macmd5?: string;
  ext?: Ext;
}

export interface Uid {
  id: string;
  atype?: number;
  ext?: Ext;
}

export interface Eid {
  source: string;
  uids: Uid[];
  ext?: Ext;
}

export interface User {
  id?: string;
  buyeruid?: string;
  yob?: number;
  gender?: string;
  keywords?: string;
  customdata?: string;
  geo?: Geo;
  consent?: string;
  eids?: Eid[];
  ext?: Ext;
}

export interface Regs {
  coppa?: number;
  gdpr?: number;
  us_privacy?: string;
  gpp?: string;
  gpp_sid?: number[];
  ext?: Ext;
}

export interface SupplyChainNode {
  asi: string;
  sid: string;
  rid?: string;
  name?: string;
  domain?: string;
  hp?: number;
  ext?: Ext;
}

export interface SupplyChain {
  complete: number;
  nodes: SupplyChainNode[];
  ver: string;
  ext?: Ext;
}

export interface Source {
  fd?: number;
  tid?: string;
  pchain?: string;
  schain?: SupplyChain;
  ext?: Ext;
}

export interface BidRequest {
  id: string;
  imp: Imp[];
  site?: Site;
  app?: App;
  dooh?: Dooh;
  device?: Device;
  user?: User;
  test?: number;
  at?: number;
  tmax?: number;
  wseat?: string[];
  bseat?: string[];
  allimps?: number;
  cur?: string[];
  wlang?: string[];
  wlangb?: string[];
  acat?: string[];
  bcat?: string[];
  cattax?: number;
  badv?: string[];
  bapp?: string[];
  source?: Source;
  regs?: Regs;
  ext?: Ext;
}

export interface Bid {
  id: string;
  impid: string;
  price: number;
  nurl?: string;
  burl?: string;
  lurl?: string;
  adm?: string;
  adid?: string;
  adomain?: string[];
  bundle?: string;
  iurl?: string;
  cid?: string;
  crid?: string;
  tactic?: string;
  cattax?: number;
  cat?: string[];
  attr?: number[];
  api?: number;
  protocol?: number;
  qagmediarating?: number;
  language?: string;
  langb?: string;
  dealid?: string;
  w?: number;
  h?: number;
  wratio?: number;
  hratio?: number;
  exp?: number;
  dur?: number;
  mtype?: number;
  slotinpod?: number;
  ext?: Ext;
}

export interface SeatBid {
  bid: Bid[];
  seat?: string;
  group?: number;
  ext?: Ext;
}

export interface SeatNonBidEntry {
  impid: string;
  statuscode: number;
  ext?: Ext;
}

export interface SeatNonBid {
  seat: string;
  nonbid: SeatNonBidEntry[];
  ext?: Ext;
}

export interface BidResponse {
  id: string;
  seatbid?: SeatBid[];
  bidid?: string;
  cur?: string;
  customdata?: string;
  nbr?: number;
  ext?: Ext;
}

/** The four media types an Imp can offer and a bid can be; `Bid.mtype` numbers them 1–4. */
export type MediaType = 'banner' | 'video' | 'audio' | 'native';
export const MEDIA_TYPES: readonly MediaType[] = ['banner', 'video', 'audio', 'native'];
