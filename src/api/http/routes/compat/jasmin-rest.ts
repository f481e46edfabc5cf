/**
 * Jasmin's REST API shapes (issue 16) on the main port: `POST /secure/send`,
 * `POST /secure/sendbatch`, `GET /secure/balance`, `GET /secure/rate`, with HTTP Basic auth (an
 * smsgw user's login and password) and JSON bodies whose names may use `_` for `-`
 * (`dlr_url`). Answers as Jasmin's: `{"data": ...}` on success, `{"message": "Error \"...\""}`
 * with the HTTP API's status otherwise.
 *
 * A batch (`globals`, `messages` with one or a list of `to`, `batch_config` with `callback_url`,
 * `errback_url`, `schedule_at`) is sent before the answer (Jasmin queues it and answers at
 * once): every message is committed when `{batchId, messageCount}` comes back. The callback of
 * each message (`batchId`, `to`, `status` 1 or 0, `statusText`) is a GET queued in the webhook
 * outbox, so it survives restarts and is retried like any callback.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { faceErrors, rawBodies } from './raw-face.js';
import { randomUUID } from 'node:crypto';
import { ApiError } from '../../../../core/errors.js';
import type { Store } from '../../../../store/index.js';
import type { UserRow } from '../../../../store/schema.js';
import { jasminBalance } from './jasmin-credit.js';
import type { JasminArgs } from './jasmin-params.js';
import { argsFromJson, argsFromQuery, JasminError, readSend } from './jasmin-params.js';
import { jasminRate } from './jasmin.js';
import {
  JASMIN_REST_BALANCE_RESPONSES,
  JASMIN_REST_BATCH_RESPONSES,
  JASMIN_REST_RATE_RESPONSES,
  JASMIN_REST_SEND_RESPONSES,
} from './responses.js';
import type { JasminDeps } from './jasmin-send.js';
import { jasminSend, jasminUser } from './jasmin-send.js';

export interface JasminRestDeps extends JasminDeps {
  store: Store;
  urlGuard?: { check(url: string, field: string): Promise<void> } | undefined;
}

/** A batch body: up to 2 MiB, up to MAX_BATCH messages in all (a list of `to` counts each). */
const BODY_LIMIT = 2 * 1024 * 1024;
const MAX_BATCH = 10_000;
/** Messages of a batch sent at once: the group commit takes them together. */
const PARALLEL = 50;
const GIVE_UP_MS = 24 * 3_600_000;

class Unauthorized extends Error {}

export function jasminRestRoutes(app: FastifyInstance, deps: JasminRestDeps): void {
  void app.register(async (child) => {
    rawBodies(child, BODY_LIMIT);
    faceErrors(child, 'jasmin REST request failed', (status, err, _req, reply) =>
      reply.status(status).send({ message: status >= 500 ? 'Unknown error' : err.message }),
    );
    const tags = ['compat'];
    const handle =
      (fn: (req: FastifyRequest, user: UserRow, login: string, password: string) => Promise<unknown>) =>
      async (req: FastifyRequest, reply: FastifyReply) => {
        try {
          const { login, password } = basic(req);
          const user = await jasminUser(deps.auth, login, password, req.ip);
          return await reply.status(200).send({ data: await fn(req, user, login, password) });
        } catch (err) {
          if (err instanceof Unauthorized) {
            return reply
              .status(401)
              .header('www-authenticate', 'Basic realm="Jasmin"')
              .send({ title: 'Authentication required', description: err.message });
          }
          if (err instanceof JasminError) {
            if (err.retryAfterS !== undefined) reply.header('retry-after', String(err.retryAfterS));
            return reply.status(err.status).send({ message: `Error "${err.message}"` });
          }
          throw err;
        }
      };

    child.post(
      '/secure/send',
      {
        schema: {
          tags,
          summary: 'Jasmin REST send (see docs/migrating.md)',
          response: JASMIN_REST_SEND_RESPONSES,
        },
      },
      handle(async (req, user, login, password) => {
        const args = withCredentials(argsFromJson(jsonBody(req), { underscores: true }), login, password);
        return `Success "${await jasminSend(deps.messages, user, readSend(args))}"`;
      }),
    );
    child.post(
      '/secure/sendbatch',
      { schema: { tags, summary: 'Jasmin REST batch send', response: JASMIN_REST_BATCH_RESPONSES } },
      handle(async (req, user, login, password) => sendBatch(deps, req, user, login, password)),
    );
    child.get(
      '/secure/balance',
      { schema: { tags, summary: 'Jasmin REST balance', response: JASMIN_REST_BALANCE_RESPONSES } },
      handle(async (_req, user) => jasminBalance(user)),
    );
    child.get(
      '/secure/rate',
      { schema: { tags, summary: 'Jasmin REST rate', response: JASMIN_REST_RATE_RESPONSES } },
      handle(async (req, _user, login, password) => {
        const url = req.raw.url ?? '';
        const q = url.indexOf('?');
        const args = q < 0 ? new Map<string, string>() : argsFromQuery(url.slice(q + 1));
        for (const [k, v] of argsFromJson(jsonBody(req, true), { underscores: true })) args.set(k, v);
        for (const [k, v] of [...args]) {
          args.delete(k);
          args.set(k.replace(/_/g, '-'), v);
        }
        return jasminRate(deps, withCredentials(args, login, password), req.ip);
      }),
    );
  });
}

function basic(req: FastifyRequest): { login: string; password: string } {
  const h = req.headers.authorization ?? '';
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h);
  if (!m) throw new Unauthorized('Please provide username and password (HTTP Basic auth).');
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) throw new Unauthorized('Please provide username and password (HTTP Basic auth).');
  return { login: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function withCredentials(args: JasminArgs, login: string, password: string): JasminArgs {
  args.set('username', login);
  args.set('password', password);
  return args;
}

/** The body as JSON; Jasmin answers 412 for a body it cannot read. */
function jsonBody(req: FastifyRequest, optional = false): unknown {
  const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
  if (optional && raw.trim() === '') return {};
  try {
    return JSON.parse(raw);
  } catch {
    throw new JasminError(412, `Cannot parse JSON data: ${raw.slice(0, 100)}`);
  }
}

/** `YYYY-MM-DD hh:mm:ss` (UTC) or `<n>s`: seconds from now, or undefined for at once. */
function scheduleAt(value: unknown, now: number): number {
  if (value === undefined || value === null) return 0;
  const s = String(value);
  const secs = /^(\d{1,9})s$/.exec(s);
  if (secs) return Number(secs[1]);
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/.exec(s);
  const at = m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : NaN;
  if (!Number.isFinite(at))
    throw new JasminError(
      412,
      `Cannot parse scheduled_at value: got unknown format: ${s}, correct formats are 'YYYY-MM-DD hh:mm:ss' or number of seconds`,
    );
  if (at < now) throw new JasminError(412, `Cannot schedule batch in past date: ${s}`);
  return Math.ceil((at - now) / 1000);
}

async function sendBatch(
  deps: JasminRestDeps,
  req: FastifyRequest,
  user: UserRow,
  login: string,
  password: string,
): Promise<{ batchId: string; messageCount: number; scheduled?: string }> {
  const body = jsonBody(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new JasminError(412, 'Cannot parse JSON data');
  const b = body as { globals?: unknown; messages?: unknown; batch_config?: unknown };
  const config = (b.batch_config ?? {}) as Record<string, unknown>;
  const globals = b.globals ?? {};
  if (typeof config !== 'object' || typeof globals !== 'object' || !Array.isArray(b.messages ?? []))
    throw new JasminError(400, 'globals and batch_config are objects, messages a list');
  const now = Date.now();
  const countdown = scheduleAt(config.schedule_at, now);
  const sendAt = countdown > 0 ? new Date(now + countdown * 1000) : undefined;
  const callbacks: Record<'callback_url' | 'errback_url', string | undefined> = {
    callback_url: undefined,
    errback_url: undefined,
  };
  for (const field of ['callback_url', 'errback_url'] as const) {
    const url = config[field];
    if (url === undefined || url === null) continue;
    if (typeof url !== 'string' || !/^https?:\/\/./i.test(url) || url.length > 2048)
      throw new JasminError(400, `Argument [${field}] has an invalid value: [${String(url)}].`);
    try {
      await deps.urlGuard?.check(url, field);
    } catch (err) {
      if (err instanceof ApiError) throw new JasminError(400, `Argument [${field}]: ${err.message}`);
      throw err;
    }
    callbacks[field] = url;
  }

  // Every destination, checked before anything is sent, so a batch over the limit sends nothing.
  const jobs: JasminArgs[] = [];
  for (const raw of (b.messages ?? []) as unknown[]) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) continue;
    const merged = { ...(globals as object), ...(raw as object) } as Record<string, unknown>;
    const to = merged.to;
    if (
      to === undefined ||
      (merged.content === undefined &&
        merged['hex-content'] === undefined &&
        merged.hex_content === undefined)
    )
      continue;
    const list = Array.isArray(to) ? to : [to];
    for (const one of list) {
      if (jobs.length >= MAX_BATCH)
        throw new JasminError(400, `A batch holds at most ${MAX_BATCH} messages.`);
      jobs.push(
        withCredentials(argsFromJson({ ...merged, to: one }, { underscores: true }), login, password),
      );
    }
  }

  const batchId = randomUUID();
  const outcomes: { to: string; ok: boolean; text: string }[] = [];
  for (let i = 0; i < jobs.length; i += PARALLEL) {
    const chunk = jobs.slice(i, i + PARALLEL);
    outcomes.push(
      ...(await Promise.all(
        chunk.map(async (args) => {
          const to = args.get('to') ?? '';
          try {
            const id = await jasminSend(deps.messages, user, readSend(args), sendAt);
            return { to, ok: true, text: `Success "${id}"` };
          } catch (err) {
            if (err instanceof JasminError)
              return { to, ok: false, text: `HTTPAPI error: Error "${err.message}"` };
            throw err;
          }
        }),
      )),
    );
  }
  let n = 0;
  for (const o of outcomes) {
    const url = o.ok ? callbacks.callback_url : callbacks.errback_url;
    n++;
    if (!url) continue;
    const query = new URLSearchParams({ batchId, to: o.to, status: o.ok ? '1' : '0', statusText: o.text });
    await deps.store.webhooks.enqueue({
      event_id: `batch_${batchId}_${n}`,
      owner_id: user.id,
      kind: 'dlr',
      ordering_key: `batch:${batchId}`,
      url: url + (url.includes('?') ? '&' : '?') + query.toString(),
      payload: '',
      next_attempt_at: Date.now(),
      give_up_at: Date.now() + GIVE_UP_MS,
      created_at: Date.now(),
    });
  }
  return {
    batchId,
    messageCount: outcomes.length,
    ...(countdown > 0 ? { scheduled: `${countdown}s` } : {}),
  };
}
