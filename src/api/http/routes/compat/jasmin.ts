/**
 * Jasmin-compatible HTTP API (issue 16): `GET|POST /send`, `GET /balance`, `GET /rate` and
 * `GET /ping` on the main port, so an application written for Jasmin's HTTP API (port 1401)
 * moves to smsgw by changing the base URL. `username`/`password` are an smsgw user's login and
 * password. `/send` answers `Success "<id>"` (200) or `Error "<reason>"` with Jasmin's statuses
 * (400 bad argument, 403 authentication, 500); `/balance` and `/rate` answer JSON.
 *
 * A `dlr-url` is called by the webhook outbox with Jasmin's parameters (`id`, `message_status`,
 * `level`, and for receipts `id_smsc`, `sub`, `dlvrd`, `subdate`, `donedate`, `err`, `text`), by
 * GET or a form POST as `dlr-method` asks, and retried until the receiver answers `ACK/Jasmin`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { faceErrors, rawBodies } from './raw-face.js';
import { preview } from '../../../../codec/index.js';
import { normalizeNumber } from '../../../../core/phone.js';
import { jasminBalance, jasminUnitRate } from './jasmin-credit.js';
import type { JasminArgs } from './jasmin-params.js';
import {
  argsFromJson,
  argsFromQuery,
  JasminError,
  readBalance,
  readRate,
  readSend,
} from './jasmin-params.js';
import type { JasminDeps } from './jasmin-send.js';
import { jasminSend, jasminUser } from './jasmin-send.js';
import {
  JASMIN_BALANCE_RESPONSES,
  JASMIN_PING_RESPONSES,
  JASMIN_RATE_RESPONSES,
  JASMIN_SEND_RESPONSES,
} from './responses.js';

/** A /send is a text and a few arguments. */
const BODY_LIMIT = 64 * 1024;

export function jasminRoutes(app: FastifyInstance, deps: JasminDeps): void {
  void app.register(async (child) => {
    // Bodies arrive raw and are read here (forms and JSON as Jasmin reads them).
    rawBodies(child, BODY_LIMIT);
    faceErrors(child, 'jasmin request failed', (status, err, req, reply) => {
      const message =
        status >= 500 ? 'Unknown error' : status === 413 ? 'Request body too large' : err.message;
      const a = new JasminError(status, message);
      return req.url.startsWith('/send') ? sendText(reply, a) : sendJson(reply, a.status, a.message, a);
    });

    const send = async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        const r = readSend(readArgs(req));
        const user = await jasminUser(deps.auth, r.username, r.password, req.ip);
        const id = await jasminSend(deps.messages, user, r);
        return await reply.status(200).type('text/plain; charset=utf-8').send(`Success "${id}"`);
      } catch (err) {
        if (err instanceof JasminError) return sendText(reply, err);
        throw err;
      }
    };
    const tags = ['compat'];
    // No automatic HEAD twin: a HEAD (a link checker's) must not send a message.
    const schema = {
      tags,
      summary: 'Jasmin-compatible send (see docs/migrating.md)',
      response: JASMIN_SEND_RESPONSES,
    };
    child.get('/send', { schema, exposeHeadRoute: false }, send);
    child.post('/send', { schema }, send);

    child.get(
      '/balance',
      { schema: { tags, summary: 'Jasmin-compatible balance', response: JASMIN_BALANCE_RESPONSES } },
      async (req, reply) => {
        try {
          const r = readBalance(readArgs(req));
          const user = await jasminUser(deps.auth, r.username, r.password, req.ip);
          return await sendJson(reply, 200, await jasminBalance(user));
        } catch (err) {
          if (err instanceof JasminError) return sendJson(reply, err.status, err.message, err);
          throw err;
        }
      },
    );
    child.get(
      '/rate',
      { schema: { tags, summary: 'Jasmin-compatible rate', response: JASMIN_RATE_RESPONSES } },
      async (req, reply) => {
        try {
          return await sendJson(reply, 200, await jasminRate(deps, readArgs(req), req.ip));
        } catch (err) {
          if (err instanceof JasminError) return sendJson(reply, err.status, err.message, err);
          throw err;
        }
      },
    );
    child.get(
      '/ping',
      { schema: { tags, summary: 'Jasmin-compatible ping', response: JASMIN_PING_RESPONSES } },
      async (_req, reply) => reply.type('text/plain; charset=utf-8').send('Jasmin/PONG'),
    );
  });
}

/** `{unit_rate, submit_sm_count}`: the price of a part and how many parts the text needs. */
export async function jasminRate(
  deps: JasminDeps,
  args: JasminArgs,
  ip: string,
): Promise<{ unit_rate: number; submit_sm_count: number }> {
  const r = readRate(args);
  const user = await jasminUser(deps.auth, r.username, r.password, ip);
  const n = normalizeNumber(r.to);
  if (!n.ok) throw new JasminError(412, 'No route found');
  return { unit_rate: await jasminUnitRate(user, n.e164), submit_sm_count: preview(r.text).segments || 1 };
}

/** The query string, then (POST) a form or JSON body: the first value of a name wins. */
function readArgs(req: FastifyRequest): JasminArgs {
  const url = req.raw.url ?? '';
  const q = url.indexOf('?');
  const args: JasminArgs = new Map();
  if (req.method === 'POST' && Buffer.isBuffer(req.body) && req.body.length > 0) {
    const type = String(req.headers['content-type'] ?? '')
      .split(';')[0]
      ?.trim()
      .toLowerCase();
    if (type === 'application/x-www-form-urlencoded') argsFromQuery(req.body.toString('utf8'), args);
    else if (type === 'application/json') {
      let json: unknown;
      try {
        json = JSON.parse(req.body.toString('utf8'));
      } catch {
        throw new JasminError(400, 'Cannot parse JSON data');
      }
      for (const [k, v] of argsFromJson(json, { underscores: false })) args.set(k, v);
    }
  }
  return q < 0 ? args : argsFromQuery(url.slice(q + 1), args);
}

function sendText(reply: FastifyReply, e: JasminError) {
  if (e.retryAfterS !== undefined) reply.header('retry-after', String(e.retryAfterS));
  return reply.status(e.status).type('text/plain; charset=utf-8').send(`Error "${e.message}"`);
}

function sendJson(reply: FastifyReply, status: number, body: unknown, e?: JasminError) {
  if (e?.retryAfterS !== undefined) reply.header('retry-after', String(e.retryAfterS));
  return reply.status(status).type('application/json').send(JSON.stringify(body));
}
