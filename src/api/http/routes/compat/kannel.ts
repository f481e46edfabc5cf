/**
 * Kannel-compatible `GET|POST /cgi-bin/sendsms` (issue 16): an application written for Kannel's
 * smsbox moves to smsgw by changing the URL. `username`/`password` are an smsgw user's login and
 * password; answers are Kannel's texts and statuses (`202 0: Accepted for delivery`, `403
 * Authorization failed for sendsms`, `400 Missing receiver number, rejected`, ...).
 *
 * GET takes CGI variables; POST takes a form body (a superset: Kannel itself refuses forms), a
 * text/plain or application/octet-stream body with X-Kannel-* headers, or Kannel's XML
 * (`text/xml`, `<message><submit>…`). `dlr-url` and `dlr-mask` are kept with each message; the
 * event fan-out calls the URL with Kannel's placeholders filled (core/kannel-dlr.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { faceErrors, rawBodies } from './raw-face.js';
import type { Logger } from 'pino';
import { ApiError } from '../../../../core/errors.js';
import type { AuthService } from '../../../../services/auth.js';
import type { MessageService, SendInput } from '../../../../services/messages.js';
import type { KannelParams } from './kannel-params.js';
import { contentTypeCharset, decodeText, paramsFromHeaders, parseUrlEncoded } from './kannel-params.js';
import { KannelXmlError, parseKannelXml } from './kannel-xml.js';
import { KANNEL_RESPONSES } from './responses.js';

export interface KannelDeps {
  auth: AuthService;
  messages: MessageService;
  logger: Logger;
}

/** A sendsms body is a text and a few fields; Kannel's own limit is far lower than the API's 2 MiB. */
const BODY_LIMIT = 64 * 1024;

/** An answer: Kannel's status and text. */
class KannelAnswer extends Error {
  constructor(
    readonly status: number,
    readonly text: string,
    readonly retryAfterS?: number,
  ) {
    super(text);
  }
}

const refuse = (text: string, status = 400) => new KannelAnswer(status, text);

export function kannelRoutes(app: FastifyInstance, deps: KannelDeps): void {
  void app.register(async (child) => {
    // Kannel's charsets (ISO-8859-1, UTF-16BE) apply to the text's bytes.
    rawBodies(child, BODY_LIMIT);
    faceErrors(child, 'sendsms failed', (status, err, _req, reply) =>
      send(
        reply,
        status >= 500
          ? refuse('Sending failed.', 500)
          : refuse(status === 413 ? 'Request body too large, rejected' : `${err.message}, rejected`, status),
      ),
    );
    const handler = async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        await sendsms(deps, req);
        return await send(reply, new KannelAnswer(202, '0: Accepted for delivery'));
      } catch (err) {
        if (err instanceof KannelAnswer) return send(reply, err);
        throw err;
      }
    };
    const schema = {
      tags: ['compat'],
      summary: 'Kannel-compatible sendsms (see docs/migrating.md)',
      response: KANNEL_RESPONSES,
    };
    // No automatic HEAD twin: a HEAD (a link checker's) must not send a message.
    child.get('/cgi-bin/sendsms', { schema, exposeHeadRoute: false }, handler);
    child.post('/cgi-bin/sendsms', { schema }, handler);
  });
}

function send(reply: FastifyReply, a: KannelAnswer) {
  if (a.retryAfterS !== undefined) reply.header('retry-after', String(a.retryAfterS));
  return reply
    .status(a.status)
    .header('cache-control', 'no-cache')
    .header('pragma', 'no-cache')
    .type('text/plain; charset=utf-8')
    .send(a.text);
}

interface Request {
  params: KannelParams;
  /** The text's bytes when the body is the text (POST text/plain, XML `<ud>`). */
  body?: Buffer | undefined;
  /** From the Content-Type or the XML declaration. */
  charset?: string | undefined;
  /** Kannel's wording differs between GET ("receiver number") and POST ("receiver(s) number(s)"). */
  post: boolean;
}

function readRequest(req: FastifyRequest): Request {
  const url = req.raw.url ?? '';
  const q = url.indexOf('?');
  const query = q < 0 ? '' : url.slice(q + 1);
  if (req.method !== 'POST') return { params: parseUrlEncoded(query), post: false };
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const contentType = String(req.headers['content-type'] ?? '');
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const charset = contentTypeCharset(contentType);
  if (type === 'application/x-www-form-urlencoded') {
    // A form carries the variables; the query string may add the ones it lacks.
    const params = parseUrlEncoded(body.toString('latin1'));
    return { params: parseUrlEncoded(query, params), charset, post: false };
  }
  if (type === 'text/plain' || type === 'application/octet-stream') {
    return { params: paramsFromHeaders(req.headers), body, charset, post: true };
  }
  if (type === 'text/xml' || type === 'application/xml') {
    try {
      const xml = parseKannelXml(body);
      return { params: xml.params, body: xml.text, charset: xml.encoding, post: true };
    } catch (err) {
      if (err instanceof KannelXmlError) throw refuse(err.message);
      throw err;
    }
  }
  throw refuse('Invalid content-type');
}

/** Kannel reads numbers with sscanf("%d"); smsgw takes plain decimal only (issue 12). */
function int(p: KannelParams, names: string[], label: string, min: number, max: number): number | undefined {
  for (const name of names) {
    const raw = p.get(name);
    if (raw === undefined) continue;
    const s = raw.toString('utf8').trim();
    if (s === '') return undefined;
    const n = /^-?\d{1,9}$/.test(s) ? Number(s) : NaN;
    if (!(n >= min && n <= max)) throw refuse(`${label} field misformed, rejected`);
    return n === -1 ? undefined : n;
  }
  return undefined;
}

const str = (p: KannelParams, ...names: string[]) => {
  for (const name of names) {
    const v = p.get(name);
    if (v !== undefined) return v.toString('utf8');
  }
  return undefined;
};

async function sendsms(deps: KannelDeps, req: FastifyRequest): Promise<void> {
  const r = readRequest(req);
  const p = r.params;
  const login = str(p, 'username', 'user');
  const password = str(p, 'password', 'pass');
  if (!login || password === undefined) throw refuse('Authorization failed for sendsms', 403);
  let user;
  try {
    user = await deps.auth.byPassword(login, password, { ip: req.ip });
  } catch (err) {
    if (err instanceof ApiError && err.code === 'too_many_attempts') {
      const retry = (err.details as { retry_after_s?: number } | undefined)?.retry_after_s;
      throw new KannelAnswer(429, 'Too many failed logins, try again later.', retry);
    }
    throw err;
  }
  if (!user || user.status !== 'active') throw refuse('Authorization failed for sendsms', 403);

  const to = str(p, 'to');
  if (to === undefined)
    throw refuse(r.post ? 'Missing receiver(s) number(s), rejected' : 'Missing receiver number, rejected');
  const recipients = (to ?? '').split(/\s+/).filter((n) => n !== '');
  if (recipients.length === 0) throw refuse('Empty receiver number not allowed, rejected');

  const dlrMask = int(p, ['dlr-mask', 'dlrmask'], 'DLR-Mask', -1, 63);
  const mclass = int(p, ['mclass'], 'MClass', -1, 3);
  const coding = int(p, ['coding'], 'Coding', -1, 2) ?? 0;
  const validity = int(p, ['validity'], 'Validity', -1, 999_999_999);
  const deferred = int(p, ['deferred'], 'Deferred', -1, 999_999_999);
  int(p, ['priority'], 'Priority', -1, 3);
  int(p, ['pid'], 'PID', -1, 255);
  // account, smsc, meta-data, binfo: accepted and ignored (routing is smsgw's own).
  if (p.get('udh')?.length) throw refuse('UDH field is not supported by smsgw, rejected');
  if (coding === 1) throw refuse('Coding 1 (8-bit binary) is not supported by smsgw, rejected');

  let dlrUrl = str(p, 'dlr-url', 'dlrurl')?.trim() || undefined;
  if (dlrUrl !== undefined && !/^https?:\/\/./i.test(dlrUrl))
    throw refuse('DLR-URL field misformed, rejected');
  // Kannel calls back only for the types in the mask; without one it calls nothing.
  if (!dlrMask) dlrUrl = undefined;

  const bytes = r.body ?? p.get('text');
  if (bytes === undefined) throw refuse('Missing text, rejected');
  const charset = str(p, 'charset')?.trim() || r.charset;
  const text = decodeText(bytes, charset, coding);
  if (text === undefined) throw refuse('Charset or body misformed, rejected');
  if (text === '') throw refuse('Empty text not allowed, rejected');

  const input: SendInput = {
    to: recipients,
    text,
    from: str(p, 'from')?.trim() || undefined,
    flash: mclass === 0,
    validityMinutes: validity ? validity : undefined,
    sendAt: deferred ? new Date(Date.now() + deferred * 60_000) : undefined,
    dlrUrl,
    dlrMask: dlrUrl !== undefined ? dlrMask : undefined,
    // As Kannel asks the SMSC for a receipt only when the mask wants one from the phone
    // (1, 2 or 4); without a mask smsgw's default holds (ask, and follow the message).
    deliveryReport: dlrMask !== undefined ? (dlrMask & 7) !== 0 : undefined,
  };
  try {
    await deps.messages.send({ user, apiKeyId: null }, input);
  } catch (err) {
    if (err instanceof ApiError) throw refuse(answerFor(err), err.status >= 500 ? 500 : 400);
    throw err;
  }
}

/** Kannel's wording where Kannel refuses the same thing; smsgw's reason otherwise. */
function answerFor(err: ApiError): string {
  switch (err.field) {
    case 'validity':
      return 'Validity field misformed, rejected';
    case 'send_at':
      return 'Deferred field misformed, rejected';
    case 'from':
      return `Sender field misformed, rejected (${err.message})`;
    case 'dlr-url':
      return `DLR-URL field misformed, rejected (${err.message})`;
  }
  if (err.code === 'no_valid_recipients' || err.code === 'invalid_number')
    return 'Number(s) has/have been denied by white- and/or black-lists.';
  return `${err.message.replace(/\.$/, '')}, rejected`;
}
