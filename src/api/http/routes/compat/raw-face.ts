/**
 * What every compatible face (Kannel's sendsms, Jasmin's HTTP and REST APIs) sets up the same
 * way in its own fastify scope: it reads its bodies itself, as its original does (charsets,
 * forms, JSON), and answers its own errors in its original's format.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Every content type arrives as raw bytes, at most `limit`: the JSON and form parsers of the
 * rest of the API do not run (a charset such as UTF-16BE applies to the bytes).
 */
export function rawBodies(child: FastifyInstance, limit: number): void {
  child.removeAllContentTypeParsers();
  child.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limit }, (_req, body, done) =>
    done(null, body),
  );
}

/**
 * Errors fastify raises in the scope (a body over the limit, a broken request) answered by
 * `answer` with a status below 500 as given, or 500; a 5xx is logged with `what`.
 */
export function faceErrors(
  child: FastifyInstance,
  what: string,
  answer: (status: number, err: FastifyError, req: FastifyRequest, reply: FastifyReply) => unknown,
): void {
  child.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) req.log.error({ err }, what);
    return answer(status >= 500 ? 500 : status, err, req, reply);
  });
}
