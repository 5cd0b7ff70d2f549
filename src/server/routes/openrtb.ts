/**
 * `POST /openrtb2/auction`: the inbound OpenRTB 2.5/2.6 endpoint (issue 4 item 4).
 *
 * Implementation notes
 * - Registered in its own encapsulated Fastify context, so its parsing and error rules do not
 *   touch the other routes:
 *   - a missing Content-Type is taken as JSON (RULES.md rule 3, 2.6 §2.3);
 *   - a gzip request body is refused (rule 4: only when agreed with the caller; none is);
 *   - the body cap is 256 KiB, prebid-server's `max_request_size` (rule 7), answered 400
 *     `ADS_ERR_OPENRTB_TOO_LARGE` rather than 413, because 2.6 §2.1 answers every invalid
 *     request with 400;
 *   - an invalid request is 400 `ADS_ERR_OPENRTB_INVALID`, the message naming the JSON path and
 *     the rule, the header `x-openrtb-problem` the closed-enum problem (validate-request.ts).
 * - No bid is 204 with no body (2.6 §2.1), unless the caller asked for seat-non-bid reporting
 *   (then 200 with empty `seatbid` and `ext.seatnonbid`).
 * - An unexpected failure inside the auction is logged and answered as no bid (204 with
 *   `x-openrtb-nbr: 1`, "Technical Error"): a supply partner's auction goes on without us, which
 *   is what a 5xx would cost it too, and it never sees our internals.
 * - `x-openrtb-version: 2.6` on every answer (2.6 §2.5).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AdsError, isAdsError } from '../../core/errors.js';
import { validateBidRequest } from '../../core/openrtb/validate-request.js';
import type { RtbAuctionService } from '../../exchange/rtb/auction.js';
import type { RtbMetrics } from '../../exchange/rtb/metrics.js';
import { errorBody, parseJsonStrict } from '../plugins/errors.js';

export const OPENRTB_BODY_LIMIT = 256 * 1024;

export interface OpenRtbRouteDeps {
  rtb: RtbAuctionService;
  metrics: RtbMetrics | null;
  /** Monotonic ms, the clock of the auction deadline. */
  monoMs: () => number;
}

function sendError(reply: FastifyReply, e: AdsError): FastifyReply {
  return reply
    .code(e.statusCode)
    .header('x-openrtb-version', '2.6')
    .send(errorBody(e.code, e.message));
}

export async function registerOpenRtbRoutes(
  app: FastifyInstance,
  deps: OpenRtbRouteDeps,
): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (req) => {
      (req as { receivedAtMs?: number }).receivedAtMs = deps.monoMs();
      // RULES.md rule 3: a missing Content-Type means JSON.
      if (req.headers['content-type'] === undefined)
        req.headers['content-type'] = 'application/json';
    });
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'string', bodyLimit: OPENRTB_BODY_LIMIT },
      (_req, body, done) => {
        done(null, body);
      },
    );
    scope.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
      if (isAdsError(err)) return sendError(reply, err);
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return sendError(
          reply,
          new AdsError(
            'ADS_ERR_OPENRTB_TOO_LARGE',
            `request size exceeded max size of ${OPENRTB_BODY_LIMIT} bytes`,
          ),
        );
      }
      if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
        return sendError(reply, new AdsError('ADS_ERR_OPENRTB_INVALID', err.message));
      }
      req.log.error({ err }, 'openrtb auction failed; answering no bid');
      return reply.code(204).header('x-openrtb-version', '2.6').header('x-openrtb-nbr', '1').send();
    });

    scope.post(
      '/openrtb2/auction',
      {
        bodyLimit: OPENRTB_BODY_LIMIT,
        schema: {
          tags: ['openrtb'],
          summary: 'OpenRTB 2.5/2.6 auction: BidRequest in, BidResponse (200) or no bid (204) out',
        },
      },
      async (req, reply) => {
        const receivedAt = (req as { receivedAtMs?: number }).receivedAtMs ?? deps.monoMs();
        const enc = req.headers['content-encoding'];
        if (enc !== undefined && enc !== 'identity') {
          deps.metrics?.invalid();
          throw new AdsError(
            'ADS_ERR_OPENRTB_INVALID',
            `Content-Encoding of type ${enc} is not supported (RULES.md rule 4)`,
          );
        }
        let body: unknown;
        try {
          body = parseJsonStrict(typeof req.body === 'string' ? req.body : '');
        } catch (e) {
          deps.metrics?.invalid();
          throw e;
        }
        const v = validateBidRequest(body);
        if (!v.ok) {
          deps.metrics?.invalid();
          reply.header('x-openrtb-problem', v.rejection.problem);
          throw new AdsError('ADS_ERR_OPENRTB_INVALID', v.rejection.message);
        }
        const outcome = await deps.rtb.auction(v.request, receivedAt);
        deps.metrics?.observe(outcome);
        reply.header('x-openrtb-version', '2.6');
        if (v.warnings.length > 0) {
          reply.header(
            'x-openrtb-warnings',
            [...new Set(v.warnings.map((w) => w.warning))].join(','),
          );
        }
        if (outcome.response === null) {
          if (outcome.nbr !== null) reply.header('x-openrtb-nbr', String(outcome.nbr));
          return reply.code(204).send();
        }
        return reply.code(200).send(outcome.response);
      },
    );
  });
}
