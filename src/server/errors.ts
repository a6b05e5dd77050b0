/**
 * The API's errors: every failure answers JSON `{ error, message }` with the status that says whose
 * fault it is. `message` is the library's (the same words as the `inpaint run` command's), prefixed
 * with the form part it concerns.
 *
 *  400 bad_request             a missing or repeated part, an unknown field, a bad option value
 *  404 not_found               no such route
 *  413 payload_too_large       a part over the byte limit, an image over the pixel limit
 *  415 unsupported_media_type  not multipart/form-data, or a part the library cannot read (READABLE_FORMATS)
 *  422 unprocessable           readable headers but a corrupt image; a mask of another size; a hole
 *                              that leaves nothing to copy from
 *  503 busy / timeout / closing  the queue is full (Retry-After), the request's time limit passed,
 *                              or the server is shutting down (Retry-After)
 *  500 internal                anything else (a bug, or ONNX Runtime failing)
 */
import { InputError, UsageError } from '../core/errors.ts';
import { CancelledError, QueueFullError } from './queue.ts';

export type ErrorCode =
  | 'bad_request'
  | 'not_found'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unprocessable'
  | 'busy'
  | 'timeout'
  | 'cancelled'
  | 'closing'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  not_found: 404,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  busy: 503,
  timeout: 503,
  // Nobody reads it (the client went away), but a log line might.
  cancelled: 499,
  closing: 503,
  internal: 500,
};

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = STATUS[code];
  }

  get body(): { error: ErrorCode; message: string } {
    return { error: this.code, message: this.message };
  }
}

/** Why a request was cancelled: the client closed the connection, or its time limit passed. */
export class TimeLimitError extends Error {
  override readonly name = 'TimeLimitError';
}

/** Fastify's and the multipart plugin's own error codes, by the status we give them. */
const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_REQ_FILE_TOO_LARGE: 'payload_too_large',
  FST_PARTS_LIMIT: 'payload_too_large',
  FST_FILES_LIMIT: 'payload_too_large',
  FST_FIELDS_LIMIT: 'payload_too_large',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_PROTO_VIOLATION: 'bad_request',
  FST_MP_PREMATURE_CLOSE: 'bad_request',
};

/**
 * Maps anything thrown while handling a request to the answer.
 * @param inJob whether it was thrown while the request's inference ran: a UsageError there is about
 *   the images' content (mask size, hole size), 422, while before it is about the request, 400
 */
export function toApiError(err: unknown, inJob = false): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof QueueFullError) return new ApiError('busy', err.message, { 'retry-after': String(err.retryAfterSeconds) });
  if (err instanceof CancelledError) {
    if (err.reason instanceof TimeLimitError) return new ApiError('timeout', err.reason.message + (err.started ? ' (the inference was running; its result is discarded)' : ''), { 'retry-after': '10' });
    return new ApiError('cancelled', err.message);
  }
  if (err instanceof UsageError) return new ApiError(inJob ? 'unprocessable' : 'bad_request', err.message);
  if (err instanceof InputError) return new ApiError('unprocessable', err.message);
  const code = (err as { code?: string }).code;
  if (code && code in FRAMEWORK_CODES) return new ApiError(FRAMEWORK_CODES[code], (err as Error).message);
  const status = (err as { statusCode?: number }).statusCode;
  if (status === 413) return new ApiError('payload_too_large', (err as Error).message);
  if (status === 415) return new ApiError('unsupported_media_type', (err as Error).message);
  if (status !== undefined && status >= 400 && status < 500) return new ApiError('bad_request', (err as Error).message);
  return new ApiError('internal', `internal error: ${(err as Error)?.message ?? String(err)}`);
}
