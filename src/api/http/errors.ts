/**
 * Maps everything a handler can throw to `{"error":{code,message,field}}` with the right status.
 * `field` is always present (null when no one field is at fault), so clients and the fuzzer can
 * rely on one shape for every 4xx, also for those fastify and Node's HTTP parser make themselves.
 * The `message` is in the language the request's Accept-Language prefers among the six we have
 * (src/i18n/), named in Content-Language; the `code` never changes.
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../../core/errors.js';
import { ApiError, ERRORS, say } from '../../core/errors.js';
import { type Lang, fromAcceptLanguage, hasKey, tr } from '../../i18n/index.js';

export function errorBody(code: string, message: string, field?: string | null, details?: unknown) {
  return { error: { code, message, field: field ?? null, ...(details ? { details } : {}) } };
}

export function sendError(reply: FastifyReply, err: ApiError, status = err.status): FastifyReply {
  if (err.code === 'unauthorized' || err.code === 'invalid_credentials') {
    reply.header('www-authenticate', 'Bearer realm="smsgw", Basic realm="smsgw"');
  }
  const retry = (err.details as { retry_after_s?: unknown } | undefined)?.retry_after_s;
  if (typeof retry === 'number') reply.header('retry-after', String(retry));
  const lang = fromAcceptLanguage(reply.request.headers['accept-language']);
  reply.header('content-language', lang).header('vary', 'Accept-Language');
  return reply.status(status).send(errorBody(err.code, err.messageIn(lang), err.field, err.details));
}

/** ajv's words for a failed keyword, as a catalogue sentence (its English text when we have none). */
function rule(keyword: string | undefined, params: Record<string, unknown>, message: string | undefined) {
  const plural = ['minLength', 'maxLength', 'minItems', 'maxItems'];
  if (keyword && plural.includes(keyword)) return say(`api.rule.${keyword}`, { count: params.limit });
  if (keyword === 'enum') {
    return say('api.rule.enum', { values: ((params.allowedValues as unknown[]) ?? []).join(', ') });
  }
  if (keyword && keyword !== 'other' && hasKey(`api.rule.${keyword}`))
    return say(`api.rule.${keyword}`, params);
  return say('api.rule.other', { detail: message ?? 'does not match the schema' });
}

const where = (context: string | undefined) =>
  say(`api.where.${context && hasKey(`api.where.${context}`) ? context : 'request'}`);

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
      const at = where(fe.validationContext);
      return sendError(
        reply,
        new ApiError('unknown_field', say('api.unknownField', { field, where: at }), field),
      );
    }
    const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty;
    const path = (first?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    const field = missing ?? (path || undefined);
    const why =
      missing !== undefined
        ? say('api.rule.required')
        : rule(first?.keyword, (first?.params ?? {}) as Record<string, unknown>, first?.message);
    const at = where(fe.validationContext);
    const sentence = field
      ? say('api.invalidField', { where: at, field, rule: why })
      : say('api.invalidWhole', { where: at, rule: why });
    return sendError(reply, new ApiError('validation_failed', sentence, field));
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return sendError(reply, new ApiError('invalid_json', say('api.invalidJson', { detail: fe.message })));
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendError(reply, new ApiError('payload_too_large'));
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendError(reply, new ApiError('unsupported_media_type', say('api.mediaType')));
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return sendError(reply, new ApiError('validation_failed', say('api.contentLength')));
  }
  // JSON.parse's own SyntaxError (a parser that does not wrap it) is still the client's JSON.
  if (err instanceof SyntaxError) {
    return sendError(reply, new ApiError('invalid_json', say('api.invalidJson', { detail: err.message })));
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    // A plugin's own English sentence: the code's sentence in the client's language, the
    // plugin's words after it as a detail.
    const code = codeForStatus(status);
    const sentence = say('api.withDetail', { what: say(`errors.${code}`), detail: fe.message });
    return sendError(reply, new ApiError(code, sentence), status);
  }
  if (concurrentChange(err)) {
    // Checked, then changed by someone else before the write (a group deleted while a contact
    // was being put in it; two transactions locking in opposite orders): the request can be
    // tried again, so a 409 with the code's sentence, not a 500.
    req.log.warn({ err }, 'a concurrent change refused the write');
    return sendError(reply, new ApiError('conflict'));
  }
  req.log.error({ err }, 'unhandled error');
  return sendError(reply, new ApiError('internal'));
}

/**
 * A database refusal caused by a concurrent change: a foreign key whose row was deleted
 * meanwhile (SQLite `SQLITE_CONSTRAINT_FOREIGNKEY`, PostgreSQL 23503), a deadlock (40P01) or a
 * serialization failure (40001).
 */
function concurrentChange(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === '23503' || code === '40P01' || code === '40001';
}

/**
 * Node's HTTP parser answers some requests before fastify sees them: headers over the limit
 * (431), a request not received within requestTimeout/headersTimeout (408), a malformed request
 * line (400). Answer those with the same JSON shape, then close: the stream is out of sync. The
 * message is in the client's language when its Accept-Language line is among the bytes the
 * parser hands over, else in English (see languageOfRaw).
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
  const lang = languageOfRaw((err as { rawPacket?: unknown }).rawPacket);
  const message = tr(lang, code === 'validation_failed' ? 'api.notHttp' : `errors.${code}`);
  const body = JSON.stringify(errorBody(code, message));
  const reason = { headers_too_large: 'Request Header Fields Too Large', request_timeout: 'Request Timeout' };
  socket.end(
    `HTTP/1.1 ${ERRORS[code].status} ${reason[code as keyof typeof reason] ?? 'Bad Request'}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Content-Language: ${lang}\r\nConnection: close\r\n\r\n${body}`,
  );
}

// After a line break only: a chunk may begin in the middle of another header's value.
const ACCEPT_LANGUAGE = /\naccept-language[ \t]*:[ \t]*([^\r\n]*)\r?\n/i;

/**
 * The language of a request Node's parser refused, from the bytes it hands over: Accept-Language
 * when its whole line is among them, else English. Those bytes are only the chunk being parsed
 * when the parser gave up (`rawPacket`): a malformed request line or headers sent in one write
 * carry the header, a header block over the limit spread over several reads may not (the
 * Accept-Language line was in an earlier chunk, already consumed in C++), and a timeout
 * (ERR_HTTP_REQUEST_TIMEOUT) carries no bytes at all, so those are answered in English. Reading
 * the socket ourselves to see more would take the bytes from the parser.
 */
export function languageOfRaw(raw: unknown): Lang {
  if (!Buffer.isBuffer(raw)) return 'en';
  // Headers are latin1 on the wire; 64 KiB is far above any header limit we configure.
  const m = ACCEPT_LANGUAGE.exec(raw.toString('latin1', 0, Math.min(raw.length, 65536)));
  return m ? fromAcceptLanguage(m[1]) : 'en';
}
