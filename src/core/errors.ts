/**
 * Stable error codes: the one list of every error a client can see (docs/errors.md mirrors it).
 *
 * Every error response has the shape `{"error": {"code": "ADS_ERR_…", "message": "…"}}`.
 * Codes never change meaning once released; new failure kinds get new codes.
 */
export const ERROR_CODES = {
  ADS_ERR_VALIDATION: { status: 400, message: 'The request does not match the schema' },
  ADS_ERR_MALFORMED_JSON: { status: 400, message: 'The body is not valid JSON' },
  ADS_ERR_FORBIDDEN_KEY: {
    status: 400,
    message: 'The body contains a __proto__ or constructor key',
  },
  ADS_ERR_EMPTY_BODY: { status: 400, message: 'The request needs a JSON body' },
  ADS_ERR_OPENRTB_INVALID: {
    status: 400,
    message: 'The body is not a valid OpenRTB 2.5/2.6 BidRequest',
  },
  ADS_ERR_OPENRTB_TOO_LARGE: {
    status: 400,
    message: 'The OpenRTB request is larger than the endpoint accepts',
  },
  ADS_ERR_TOKEN_INVALID: {
    status: 400,
    message: 'The tracking token is malformed or its signature does not match',
  },
  ADS_ERR_CURSOR_INVALID: {
    status: 400,
    message: 'The cursor is not one this endpoint produced',
  },
  ADS_ERR_UNAUTHENTICATED: { status: 401, message: 'A valid API key is required' },
  ADS_ERR_FORBIDDEN: { status: 403, message: 'This API key may not do that' },
  ADS_ERR_NOT_FOUND: { status: 404, message: 'No such object' },
  ADS_ERR_ROUTE_NOT_FOUND: { status: 404, message: 'No such route' },
  ADS_ERR_PLACEMENT_NOT_FOUND: { status: 404, message: 'No active placement has this id' },
  ADS_ERR_CONFLICT: {
    status: 409,
    message: 'The object is in a state that does not allow this change',
  },
  ADS_ERR_MODEL_NOT_CONFIGURED: {
    status: 409,
    message: 'No model file is configured (ADSTACK_MODEL_PATH)',
  },
  ADS_ERR_USER_ERASED: {
    status: 409,
    message: 'This user was erased; send a new profile before updating it',
  },
  ADS_ERR_TOKEN_EXPIRED: { status: 410, message: 'The tracking token has expired' },
  ADS_ERR_BODY_TOO_LARGE: { status: 413, message: 'The body is larger than this route accepts' },
  ADS_ERR_URI_TOO_LONG: {
    status: 414,
    message: 'A path segment is longer than 100 characters',
  },
  ADS_ERR_MODEL_REJECTED: {
    status: 422,
    message: 'The model file was refused; the previous model keeps serving',
  },
  ADS_ERR_OVERLOADED: {
    status: 429,
    message: 'The server is shedding load; retry after the Retry-After delay',
  },
  ADS_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send the body as application/json' },
  ADS_ERR_NOT_READY: { status: 503, message: 'A dependency is not ready' },
  ADS_ERR_INTERNAL: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The one error type thrown across layers; the HTTP layer maps it to status + body. */
export class AdsError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;

  constructor(code: ErrorCode, message?: string) {
    super(message ?? ERROR_CODES[code].message);
    this.name = 'AdsError';
    this.code = code;
    this.statusCode = ERROR_CODES[code].status;
  }
}

export function isAdsError(e: unknown): e is AdsError {
  return e instanceof AdsError;
}
