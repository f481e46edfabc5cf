/**
 * Maps everything a handler can throw to `{"error":{code,message,field}}` with the right status.
 * `field` is always present (null when no one field is at fault), so clients and the fuzzer can
 * rely on one shape for every 4xx, also for those fastify and Node's HTTP parser make themselves.
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../../core/errors.js';
import { ApiError, ERRORS } from '../../core/errors.js';

export function errorBody(code: string, message: string, field?: string | null, details?: unknown) {
  return { error: { code, message, field: field ?? null, ...(details ? { details } : {}) } };
}

export function sendError(reply: FastifyReply, err: ApiError): FastifyReply {
  if (err.code === 'unauthorized' || err.code === 'invalid_credentials') {
    reply.header('www-authenticate', 'Bearer realm="smsgw", Basic realm="smsgw"');
  }
  const retry = (err.details as { retry_after_s?: unknown } | undefined)?.retry_after_s;
  if (typeof retry === 'number') reply.header('retry-after', String(retry));
  return reply.status(err.status).send(errorBody(err.code, err.message, err.field, err.details));
}

/** A code for a 4xx status some plugin (static files, swagger) chose itself. */
function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 408:
      return 'request_timeout';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 429:
      return 'rate_limited';
    case 431:
      return 'headers_too_large';
    default:
      return 'validation_failed';
  }
}

export function errorHandler(err: FastifyError | ApiError | Error, req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof ApiError) return sendError(reply, err);
  const fe = err as FastifyError;
  if (fe.validation) {
    const first = fe.validation[0];
    const extra = (first?.params as { additionalProperty?: string } | undefined)?.additionalProperty;
    if (first?.keyword === 'additionalProperties' && extra !== undefined) {
      const prefix = (first.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
      const field = prefix ? `${prefix}.${extra}` : extra;
      return sendError(
        reply,
        new ApiError(
          'unknown_field',
          `Unknown field "${field}" in the ${fe.validationContext ?? 'request'}: it would be ignored, so nothing was done.`,
          field,
        ),
      );
    }
    const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty;
    const path = (first?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    const field = missing ?? (path || undefined);
    const where = fe.validationContext ?? 'request';
    const message = `Invalid ${where}${field ? ` field "${field}"` : ''}: ${first?.message ?? 'does not match the schema'}.`;
    return sendError(reply, new ApiError('validation_failed', message, field));
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return sendError(reply, new ApiError('invalid_json', `The body is not valid JSON: ${fe.message}`));
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendError(reply, new ApiError('payload_too_large'));
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendError(
        reply,
        new ApiError('unsupported_media_type', 'Send application/json or application/x-www-form-urlencoded.'),
      );
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return sendError(
        reply,
        new ApiError('validation_failed', 'The Content-Length does not match the body.'),
      );
  }
  // JSON.parse's own SyntaxError (a parser that does not wrap it) is still the client's JSON.
  if (err instanceof SyntaxError) {
    return sendError(reply, new ApiError('invalid_json', `The body is not valid JSON: ${err.message}`));
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    return reply.status(status).send(errorBody(codeForStatus(status), fe.message));
  }
  req.log.error({ err }, 'unhandled error');
  return reply.status(500).send(errorBody('internal', ERRORS.internal.message));
}

/**
 * Node's HTTP parser answers some requests before fastify sees them: headers over the limit
 * (431), a request not received within requestTimeout/headersTimeout (408), a malformed request
 * line (400). Answer those with the same JSON shape, then close: the stream is out of sync.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  // As Node's own handler: answer unless a response already started on this socket.
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || current?.headersSent) {
    socket.destroy();
    return;
  }
  const code: ErrorCode =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? 'headers_too_large'
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'request_timeout'
        : 'validation_failed';
  const message = code === 'validation_failed' ? 'The request is not valid HTTP.' : ERRORS[code].message;
  const body = JSON.stringify(errorBody(code, message));
  const reason = { headers_too_large: 'Request Header Fields Too Large', request_timeout: 'Request Timeout' };
  socket.end(
    `HTTP/1.1 ${ERRORS[code].status} ${reason[code as keyof typeof reason] ?? 'Bad Request'}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}
