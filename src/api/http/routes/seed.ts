/**
 * The original design's API (seed 002): `/smsc.php?login=&pass=&tel=&msg=&flash=&replacemessages_id=&attempts=`,
 * GET or POST, with its status codes and `{"success","description"}` bodies, plus the new
 * message ids. Parameters may come from the query string or a form/JSON body ($_REQUEST).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../../../core/errors.js';
import { ApiError, say } from '../../../core/errors.js';
import { fromAcceptLanguage, tr } from '../../../i18n/index.js';
import type { AuthService } from '../../../services/auth.js';
import type { MessageService } from '../../../services/messages.js';
import { errorBody } from '../errors.js';

const codeFor = (status: number): ErrorCode =>
  status === 401 ? 'invalid_credentials' : status === 403 ? 'unauthorized' : 'validation_failed';

function param(req: FastifyRequest, name: string): string | undefined {
  const pick = (src: unknown) => {
    const v = (src as Record<string, unknown> | undefined)?.[name];
    if (Array.isArray(v)) return v.length ? String(v[v.length - 1]) : undefined;
    return v === undefined || v === null ? undefined : String(v);
  };
  return pick(req.body) ?? pick(req.query);
}

const truthy = (v: string | undefined) =>
  v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';

export function seedRoutes(
  app: FastifyInstance,
  deps: { auth: AuthService; messages: MessageService },
): void {
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    // The seed's body ({success, description}) stays for its clients, its description in
    // English as the seed wrote it; every 4xx also carries the error object every other endpoint
    // answers with, its message in the client's language.
    const lang = fromAcceptLanguage(req.headers['accept-language']);
    const answer = (
      status: number,
      body: Record<string, unknown>,
      code?: ErrorCode,
      field?: string,
      message = String(body.description),
    ) => {
      if (status < 400) return reply.status(status).send(body);
      reply.header('content-language', lang).header('vary', 'Accept-Language');
      return reply.status(status).send({ ...body, ...errorBody(code ?? codeFor(status), message, field) });
    };
    /** A refusal of the seed's own: its English description, the same sentence translated. */
    const refuse = (status: number, key: string, code: ErrorCode, field?: string) =>
      answer(status, { success: false, description: tr('en', key) }, code, field, tr(lang, key));
    const login = param(req, 'login');
    const pass = param(req, 'pass');
    if (!login || !pass) return refuse(403, 'api.seed.checkLogin', 'unauthorized', 'login');
    let user;
    try {
      user = await deps.auth.byPassword(login, pass, { ip: req.ip });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'too_many_attempts') {
        reply.header('retry-after', String((err.details as { retry_after_s: number }).retry_after_s));
        return answer(
          429,
          { success: false, description: err.message },
          err.code,
          undefined,
          err.messageIn(lang),
        );
      }
      throw err;
    }
    if (!user || user.status !== 'active') {
      return refuse(401, 'api.seed.wrongLogin', 'invalid_credentials');
    }
    const tel = param(req, 'tel');
    const msg = param(req, 'msg');
    if (!tel || tel.trim() === '') return refuse(400, 'api.seed.noTel', 'missing_parameter', 'tel');
    if (!msg) return refuse(400, 'api.seed.noMsg', 'missing_parameter', 'msg');
    const int = (name: string) => {
      const v = param(req, name);
      if (v === undefined || v === '' || v === '0') return undefined;
      // Strict: `1e400`, `Infinity`, `0x10` and ` 7` are not whole numbers a client meant.
      if (!/^\d{1,9}$/.test(v))
        throw new ApiError('validation_failed', say('api.misc.wholeNumber', { field: name }), name);
      return Number(v);
    };
    // As in the seed: '+' and spaces are stripped, numbers are international, comma-separated.
    const numbers = tel
      .replace(/[ +]/g, '')
      .split(',')
      .filter((n) => n !== '')
      .map((n) => `+${n}`);
    try {
      const attempts = int('attempts');
      const result = await deps.messages.send(
        { user, apiKeyId: null },
        {
          to: numbers,
          text: msg,
          flash: truthy(param(req, 'flash')),
          replaceId: int('replacemessages_id'),
          triesPerAttempt: attempts === undefined ? undefined : Math.min(10, Math.max(1, attempts)),
        },
      );
      const invalid = result.messages.filter((m) => 'error' in m).map((m) => m.input);
      // Numbers the sending policy refused (blacklisted, frequency_limited...): with their codes.
      const refused = result.messages.flatMap((m) =>
        'id' in m && m.error ? [{ tel: m.input, code: m.error.code, description: m.error.message }] : [],
      );
      return answer(200, {
        success: true,
        description: 'Saved to queue',
        ids: result.messages.flatMap((m) => ('id' in m && !('error' in m) ? [m.id] : [])),
        ...(invalid.length ? { invalid } : {}),
        ...(refused.length ? { refused } : {}),
      });
    } catch (err) {
      if (err instanceof ApiError)
        return answer(
          err.status,
          { success: false, description: err.message, code: err.code },
          err.code,
          err.field,
          err.messageIn(lang),
        );
      throw err;
    }
  };
  app.get(
    '/smsc.php',
    {
      schema: {
        tags: ['seed'],
        summary: 'Seed API (login, pass, tel, msg, flash, replacemessages_id, attempts)',
      },
    },
    handler,
  );
  app.post('/smsc.php', { schema: { tags: ['seed'], summary: 'Seed API, POST form or JSON' } }, handler);
}
