/**
 * Reads the OpenRTB conformance corpus copied into test/fixtures/openrtb-corpus (see ORIGIN.md
 * there) and unwraps each file's payload by its MANIFEST.md format.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CORPUS_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '../fixtures/openrtb-corpus',
);

export interface ManifestRow {
  file: string;
  bytes: number;
  json_parses: boolean;
  format: string;
  expect: string;
}

export const MANIFEST: ManifestRow[] = JSON.parse(
  readFileSync(join(CORPUS_DIR, 'manifest.json'), 'utf8'),
) as ManifestRow[];

export function rows(folder: string): ManifestRow[] {
  return MANIFEST.filter((r) => r.file.startsWith(`${folder}/`));
}

export function readText(file: string): string {
  return readFileSync(join(CORPUS_DIR, file), 'utf8');
}

export function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readText(file)) as Record<string, unknown>;
}

/** A wrapper around a Native 1.2 request payload: one native imp on a site. */
export function wrapNativeRequest(payload: unknown): Record<string, unknown> {
  return {
    id: 'native-wrapper',
    imp: [{ id: '1', native: { request: JSON.stringify(payload), ver: '1.2' } }],
    site: { page: 'https://example.com/' },
  };
}

/**
 * The inbound BidRequest a corpus request file stands for: RAW-REQ as is, PBS-EP
 * `.mockBidRequest`, PBS-EX `.incomingRequest.ortbRequest`, a raw Native 1.2 request wrapped.
 */
export function requestPayload(row: ManifestRow): unknown {
  const j = readJson(row.file);
  if (row.format.startsWith('PBS endpoint')) return j.mockBidRequest;
  if (row.format.startsWith('PBS exchange')) {
    return (j.incomingRequest as { ortbRequest: unknown }).ortbRequest;
  }
  if (row.format.startsWith('RAW Native 1.2 request')) return wrapNativeRequest(j);
  return j;
}

/** The HTTP body to send for a request file (PBS's malformed case is a bare token, not JSON). */
export function requestBodyText(row: ManifestRow): string {
  const p = requestPayload(row);
  return typeof p === 'string' ? p : JSON.stringify(p);
}

/** One DSP reply to replay against the response parser, with the request it answers. */
export interface ResponseCase {
  label: string;
  status: number;
  body: string;
  request: Record<string, unknown>;
  seat: string;
}

type J = Record<string, unknown>;

/** A request that offers every media type on each imp the bids reference (raw responses). */
function syntheticRequest(id: unknown, impids: string[]): J {
  return {
    id: typeof id === 'string' ? id : 'synthetic',
    imp: [...new Set(impids)].map((impid) => ({
      id: impid,
      banner: { w: 300, h: 250 },
      video: { mimes: ['video/mp4'] },
      native: { request: '{"assets":[{"id":1,"title":{"len":20}}]}' },
    })),
  };
}

function impidsOf(resp: unknown): string[] {
  const out: string[] = [];
  const sbs = (resp as J | null)?.seatbid;
  if (!Array.isArray(sbs)) return out;
  for (const sb of sbs as J[]) {
    for (const b of ((sb?.bid as J[] | undefined) ?? []) as J[]) {
      if (typeof b?.impid === 'string') out.push(b.impid);
    }
  }
  return out;
}

/**
 * The replies in one bid-response corpus file: a raw BidResponse (status 200); each PBS-AD
 * `httpCalls[i].mockResponse` against its `expectedRequest.body`; each PBS-EX bidder's mock
 * bids as one BidResponse against the incoming request. PBS-EX mock bids carry no markup (the
 * prebid exchange does not check it), so a neutral `adm` is added there: the fixtures test
 * floors, sizes and secure markup, not markup presence (the secure fixture's own adm is kept).
 */
export function responseCases(row: ManifestRow): ResponseCase[] {
  const label = row.file.slice(row.file.lastIndexOf('/') + 1);
  if (!row.json_parses) {
    return [
      {
        label,
        status: 200,
        body: readText(row.file),
        request: syntheticRequest('x', ['1']),
        seat: 'dsp',
      },
    ];
  }
  const j = readJson(row.file);
  if (row.format.startsWith('PBS adapter')) {
    const calls = (j.httpCalls ?? j.httpcalls) as J[];
    return calls.map((c, i) => {
      const exp = c.expectedRequest as J;
      const mock = c.mockResponse as J;
      const request = (exp.body as J | undefined) ?? (j.mockBidRequest as J);
      const body = mock.body === undefined || mock.body === null ? '' : JSON.stringify(mock.body);
      return { label: `${label}#${i}`, status: mock.status as number, body, request, seat: 'dsp' };
    });
  }
  if (row.format.startsWith('PBS exchange')) {
    const request = (j.incomingRequest as J).ortbRequest as J;
    const out = j.outgoingRequests as Record<string, J>;
    return Object.entries(out).map(([bidder, o]) => {
      const seatBids = ((o.mockResponse as J).pbsSeatBids as J[]) ?? [];
      const bids = seatBids.flatMap((sb) =>
        ((sb.pbsBids as J[]) ?? []).map((pb) => {
          const b = { ...(pb.ortbBid as J) };
          b.adm ??= '<div>ad</div>';
          return b;
        }),
      );
      const resp = { id: request.id, seatbid: [{ seat: bidder, bid: bids }] };
      return {
        label: `${label}#${bidder}`,
        status: 200,
        body: JSON.stringify(resp),
        request,
        seat: bidder,
      };
    });
  }
  if (row.format.startsWith('RAW Native 1.2 response')) {
    const resp = {
      id: 'native-wrapper',
      seatbid: [
        {
          bid: [{ id: 'b1', impid: '1', price: 1.5, crid: 'c1', mtype: 4, adm: JSON.stringify(j) }],
        },
      ],
    };
    return [
      {
        label,
        status: 200,
        body: JSON.stringify(resp),
        request: syntheticRequest('native-wrapper', ['1']),
        seat: 'dsp',
      },
    ];
  }
  return [
    {
      label,
      status: 200,
      body: JSON.stringify(j),
      request: syntheticRequest(j.id, impidsOf(j)),
      seat: 'dsp',
    },
  ];
}
