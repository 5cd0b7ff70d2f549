/**
 * Bad input never becomes a 5xx: our own JSON parser (distinct codes for malformed JSON and
 * forbidden keys), one error handler mapping every known failure to
 * `{"error": {"code": "ADS_ERR_…", "message": "…"}}`, and a JSON 404 for unknown routes.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AdsError, ERROR_CODES, isAdsError, type ErrorCode } from '../../core/errors.js';

export function errorBody(
  code: ErrorCode,
  message?: string,
): { error: { code: ErrorCode; message: string } } {
  return { error: { code, message: message ?? ERROR_CODES[code].message } };
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor']);

/**
 * JSON.parse, then refuse `__proto__` / `constructor` keys at any depth (prototype poisoning
 * guard). The reviver only runs when the raw text could contain such a key (or a \u escape
 * that could spell one), so ordinary bodies pay nothing extra.
 */
export function parseJsonStrict(text: string): unknown {
  if (text.length === 0) throw new AdsError('ADS_ERR_EMPTY_BODY');
  const suspicious = text.includes('proto') || text.includes('constructor') || text.includes('\\u');
  let forbidden: string | null = null;
  let value: unknown;
  try {
    value = suspicious
      ? JSON.parse(text, function (key, v: unknown) {
          if (FORBIDDEN_KEYS.has(key)) forbidden = key;
          return v;
        })
      : JSON.parse(text);
  } catch {
    throw new AdsError('ADS_ERR_MALFORMED_JSON');
  }
  if (forbidden !== null) {
    throw new AdsError('ADS_ERR_FORBIDDEN_KEY', `The body contains a forbidden key: ${forbidden}`);
  }
  return value;
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'ADS_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'ADS_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'ADS_ERR_VALIDATION',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'ADS_ERR_EMPTY_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'ADS_ERR_MALFORMED_JSON',
};

/**
 * Fastify's `frameworkErrors` option: router failures that happen before any route or error
 * handler runs (a path parameter over `maxParamLength`, an undecodable URL) in our shape.
 */
export function frameworkErrors(
  err: FastifyError,
  _req: FastifyRequest,
  reply: FastifyReply,
): void {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    reply.code(414).send(errorBody('ADS_ERR_URI_TOO_LONG'));
    return;
  }
  reply.code(400).send(errorBody('ADS_ERR_VALIDATION', 'The URL could not be decoded'));
}

export function installErrorHandling(app: FastifyInstance): void {
  // JSON only: text/plain and everything else answer 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonStrict(body as string));
    } catch (e) {
      done(e as Error, undefined);
    }
  });

  app.setErrorHandler((err: FastifyError | AdsError, req, reply) => {
    if (isAdsError(err)) {
      return reply.code(err.statusCode).send(errorBody(err.code, err.message));
    }
    if (err.validation !== undefined) {
      const first = err.validation[0];
      const where = `${err.validationContext ?? 'input'}${first?.instancePath ?? ''}`;
      const detail =
        first?.keyword === 'additionalProperties'
          ? `unknown field '${String((first.params as { additionalProperty?: unknown }).additionalProperty)}'`
          : (first?.message ?? err.message);
      return reply.code(400).send(errorBody('ADS_ERR_VALIDATION', `${where}: ${detail}`));
    }
    const mapped = err.code !== undefined ? FASTIFY_CODES[err.code] : undefined;
    if (mapped !== undefined) return reply.code(ERROR_CODES[mapped].status).send(errorBody(mapped));
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.code(status).send(errorBody('ADS_ERR_VALIDATION', err.message));
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send(errorBody('ADS_ERR_INTERNAL'));
  });

  app.setNotFoundHandler((req, reply) => {
    reply
      .code(404)
      .send(
        errorBody('ADS_ERR_ROUTE_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`),
      );
  });
}
