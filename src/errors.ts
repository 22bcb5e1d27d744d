/** The stable error codes of the contract, with their HTTP status and title. */
export const ERROR_CATALOGUE = {
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication is required' },
  FORBIDDEN: { status: 403, title: 'Not allowed' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  CONFLICT: { status: 409, title: 'Conflict with the current state' },
  IDEMPOTENCY_KEY_REUSED: { status: 409, title: 'Idempotency key reused for another request' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request was not received in time' },
  PRECONDITION_FAILED: { status: 412, title: 'Precondition failed' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  UNPROCESSABLE: { status: 422, title: 'The request cannot be carried out' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request line or headers too large' },
  INTERNAL: { status: 500, title: 'Internal error' },
  UNAVAILABLE: { status: 503, title: 'Temporarily unavailable' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface FieldError {
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    detail: string,
    readonly errors?: FieldError[],
    /** Seconds after which a retry may succeed (Retry-After), for 429 and 503. */
    readonly retryAfterS?: number,
  ) {
    super(detail);
    this.name = 'AppError';
    this.status = ERROR_CATALOGUE[code].status;
  }
}

export const badRequest = (detail: string, errors?: FieldError[]) => new AppError('VALIDATION_FAILED', detail, errors);
export const unauthenticated = (detail: string) => new AppError('UNAUTHENTICATED', detail);
export const forbidden = (detail: string) => new AppError('FORBIDDEN', detail);
export const notFound = (detail: string) => new AppError('NOT_FOUND', detail);
export const conflict = (detail: string) => new AppError('CONFLICT', detail);
export const preconditionFailed = (detail: string) => new AppError('PRECONDITION_FAILED', detail);
export const unprocessable = (detail: string) => new AppError('UNPROCESSABLE', detail);
export const unavailable = (detail: string, retryAfterS = 1) => new AppError('UNAVAILABLE', detail, undefined, retryAfterS);

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  requestId: string;
  errors?: FieldError[];
}

export function toProblem(err: AppError, requestId: string): Problem {
  return {
    type: `urn:consent-service:problem:${err.code.toLowerCase().replace(/_/g, '-')}`,
    title: ERROR_CATALOGUE[err.code].title,
    status: err.status,
    detail: err.message,
    code: err.code,
    requestId,
    ...(err.errors ? { errors: err.errors } : {}),
  };
}
