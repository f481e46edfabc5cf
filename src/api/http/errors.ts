/** Maps everything a handler can throw to `{"error":{code,message,field}}` with the right status. */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, ERRORS } from '../../core/errors.js';

export function errorBody(code: string, message: string, field?: string, details?: unknown) {
  return { error: { code, message, ...(field ? { field } : {}), ...(details ? { details } : {}) } };
}

export function sendError(reply: FastifyReply, err: ApiError): FastifyReply {
  if (err.code === 'unauthorized' || err.code === 'invalid_credentials') {
    reply.header('www-authenticate', 'Bearer realm="smsgw", Basic realm="smsgw"');
  }
  return reply.status(err.status).send(errorBody(err.code, err.message, err.field, err.details));
}

export function errorHandler(err: FastifyError | ApiError | Error, req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof ApiError) return sendError(reply, err);
  const fe = err as FastifyError;
  if (fe.validation) {
    const first = fe.validation[0];
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
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return sendError(reply, new ApiError('validation_failed', fe.message));
  }
  req.log.error({ err }, 'unhandled error');
  return reply.status(500).send(errorBody('internal', ERRORS.internal.message));
}
