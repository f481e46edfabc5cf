/**
 * playSMS-compatible webservices (`/index.php?app=ws`), the two operations applications use:
 * `op=pv` (send to one or several comma-separated numbers) and `op=ds` (delivery status, by
 * `smslog_id` or the last `c` messages). `u` is the smsgw login and `h` (playSMS's webservices
 * token) an smsgw API key of that user. Answers are playSMS's JSON: `{"data":[{"status":"OK",
 * "error":"0","smslog_id":…,"queue":…,"to":…}],"error_string":null}`, and `{"status":"ERR",
 * "error":"100","error_string":…}` for a refusal, with HTTP 200 as playSMS answers (PHP clients
 * read the body; a 4xx makes file_get_contents return false).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../../../core/errors.js';
import type { AuthService, Principal } from '../../../../services/auth.js';
import type { MessageService } from '../../../../services/messages.js';
import type { Store } from '../../../../store/index.js';
import type { MessageRow } from '../../../../store/schema.js';
import { PLAYSMS_RESPONSES } from './responses.js';

export interface PlaySmsDeps {
  auth: AuthService;
  messages: MessageService;
  store: Store;
}

class PlaySmsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const ERR = {
  auth: () => new PlaySmsError('100', 'authentication failed'),
  op: () => new PlaySmsError('101', 'type of action is invalid or unknown'),
  empty: () => new PlaySmsError('201', 'destination number or message is empty'),
  none: () => new PlaySmsError('400', 'no delivery status available'),
};

function param(req: FastifyRequest, name: string): string | undefined {
  const pick = (src: unknown) => {
    const v = (src as Record<string, unknown> | undefined)?.[name];
    if (Array.isArray(v)) return v.length ? String(v[0]) : undefined;
    return v === undefined || v === null ? undefined : String(v);
  };
  return pick(req.query) ?? pick(req.body);
}

const now = () => Math.floor(Date.now() / 1000);

/** playSMS's delivery status numbers: 0 pending, 1 sent, 2 failed, 3 delivered. */
function dsStatus(status: string): number {
  if (status === 'delivered') return 3;
  if (status === 'sent') return 1;
  if (['queued', 'scheduled', 'sending'].includes(status)) return 0;
  return 2;
}

const dt = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

export function playSmsRoutes(app: FastifyInstance, deps: PlaySmsDeps): void {
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-cache');
    try {
      const appName = param(req, 'app');
      if (appName !== 'ws' && appName !== 'webservices') throw ERR.op();
      const p = await principal(deps, param(req, 'u'), param(req, 'h'));
      const op = (param(req, 'op') ?? param(req, 'ta') ?? '').toLowerCase();
      if (op === 'pv') return await reply.send(await pv(deps, req, p));
      if (op === 'ds') return await reply.send(await ds(deps, req, p));
      throw ERR.op();
    } catch (err) {
      if (err instanceof PlaySmsError)
        return reply.send({ status: 'ERR', error: err.code, error_string: err.message, timestamp: now() });
      throw err;
    }
  };
  const schema = {
    tags: ['compat'],
    summary: 'playSMS-compatible webservices (see docs/migrating.md)',
    response: PLAYSMS_RESPONSES,
  };
  app.get('/index.php', { schema, exposeHeadRoute: false }, handler);
  app.post('/index.php', { schema }, handler);
}

async function principal(
  deps: PlaySmsDeps,
  u: string | undefined,
  h: string | undefined,
): Promise<Principal> {
  if (!u || !h) throw ERR.auth();
  try {
    const p = await deps.auth.byApiKey(h);
    if (p.user.login !== u) throw ERR.auth();
    return p;
  } catch (err) {
    if (err instanceof ApiError) throw ERR.auth();
    throw err;
  }
}

async function pv(deps: PlaySmsDeps, req: FastifyRequest, p: Principal) {
  const to = (param(req, 'to') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const msg = param(req, 'msg') ?? '';
  if (to.length === 0 || msg === '') throw ERR.empty();
  // `#group` and `@user` destinations name playSMS phonebooks: not numbers smsgw can send to.
  const schedule = param(req, 'schedule');
  const m = schedule ? /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/.exec(schedule) : null;
  if (schedule && !m) throw new PlaySmsError('102', 'one or more field empty or invalid (schedule)');
  let result;
  try {
    result = await deps.messages.send(p, {
      to,
      text: msg,
      from: param(req, 'from') || undefined,
      flash: param(req, 'type') === 'flash',
      sendAt: m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : undefined,
    });
  } catch (err) {
    if (err instanceof ApiError) throw new PlaySmsError('200', `send message failed: ${err.message}`);
    throw err;
  }
  return {
    data: result.messages.map((r) =>
      'id' in r && r.status !== 'rejected'
        ? { status: 'OK', error: '0', smslog_id: r.id, queue: result.batch_id, to: r.input }
        : { status: 'ERR', error: '200', smslog_id: '', queue: result.batch_id, to: r.input },
    ),
    error_string: null,
    timestamp: now(),
  };
}

async function ds(deps: PlaySmsDeps, req: FastifyRequest, p: Principal) {
  const id = param(req, 'smslog_id');
  let rows: MessageRow[];
  if (id) {
    const m = await deps.store.messages.byId(id, p.user.id);
    rows = m ? [m] : [];
  } else {
    const c = Math.min(500, Math.max(1, Number(param(req, 'c') ?? 100) || 100));
    rows = await deps.store.messages.list({
      ownerId: p.user.id,
      limit: c,
      to: param(req, 'dst') || undefined,
    });
  }
  if (rows.length === 0) throw ERR.none();
  return {
    data: rows.map((m) => ({
      smslog_id: m.id,
      src: m.from ?? '',
      dst: m.to,
      msg: m.text,
      dt: dt(Number(m.created_at)),
      update: dt(Number(m.updated_at)),
      status: dsStatus(m.status),
    })),
    error_string: null,
    timestamp: now(),
  };
}
