/**
 * The per-recipient refusals of a send answer (`messages[].error`) in the client's language, as
 * every other API sentence is (errors.ts): the `code` never changes; the `message` is the code's
 * catalogue sentence in the language Accept-Language prefers. English keeps the detailed sentence
 * the send path wrote (e.g. which cap was reached, what the balance lacked), which is also what
 * the message's history stores.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fromAcceptLanguage, hasKey, tr } from '../../i18n/index.js';
import type { SendResult } from '../../services/messages.js';

export function recipientErrorsInLanguage(
  req: FastifyRequest,
  reply: FastifyReply,
  result: SendResult,
): SendResult {
  const lang = fromAcceptLanguage(req.headers['accept-language']);
  reply.header('content-language', lang).header('vary', 'Accept-Language');
  if (lang === 'en') return result;
  for (const m of result.messages) {
    if (m.error && hasKey(`errors.${m.error.code}`)) m.error.message = tr(lang, `errors.${m.error.code}`);
  }
  return result;
}
