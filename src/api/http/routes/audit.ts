/**
 * The admin audit log (issue 18 item 6): every successful change to users, API keys, channels,
 * keyword rules and the sending policy is written to `admin_audit` right after the change, before
 * the answer leaves (an onSend hook: a failed write turns the answer into a 500, so an operator
 * never sees "done" for a change that is not in the log). `GET /v1/audit` (admin) reads it in pages.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { Open } from '../schemas.js';
import type { AdminAuditRow } from '../../../store/admin-audit.js';
import type { Store } from '../../../store/index.js';
import { idCursor } from '../cursor.js';
import { requireAdmin } from '../auth.js';

/** Route prefix → subject kind. Anything else (sending, OTP, simulated inbound) is not audited. */
const AUDITED: [RegExp, string][] = [
  [/^\/v1\/users(\/|$)/, 'users'],
  [/^\/v1\/keys(\/|$)/, 'keys'],
  [/^\/v1\/channels(\/:id)?(\/(enable|disable|counters\/reset))?$/, 'channels'],
  [/^\/v1\/keywords(\/|$)/, 'keywords'],
  [/^\/v1\/(policy|prices|blacklist|whitelist)(\/|$)/, 'policy'],
];
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const SECRET = /pass(word)?|secret|^key$|token/i;
/** Longest details kept: a 100,000-number blacklist upload is logged by its count, not its numbers. */
const MAX_DETAILS = 4000;

export function auditKind(method: string, route: string | undefined): string | undefined {
  if (!MUTATING.has(method) || !route) return undefined;
  return AUDITED.find(([re]) => re.test(route))?.[1];
}

/** The request's fields with secrets replaced; long arrays summarised by their length. */
export function redact(value: unknown, depth = 0): unknown {
  if (Array.isArray(value))
    return value.length > 20 ? { count: value.length } : value.map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object' && depth < 4) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        SECRET.test(k) && v !== null && v !== undefined ? '[redacted]' : redact(v, depth + 1),
      ]),
    );
  }
  return value;
}

function details(req: FastifyRequest): string | null {
  const body = req.body && typeof req.body === 'object' ? redact(req.body) : undefined;
  const params = req.params && typeof req.params === 'object' ? req.params : {};
  const all = { ...params, ...(body ? { body } : {}) };
  if (Object.keys(all).length === 0) return null;
  const s = JSON.stringify(all);
  return s.length > MAX_DETAILS ? JSON.stringify({ ...params, truncated: true }) : s;
}

function subjectOf(req: FastifyRequest, payload: unknown): string | null {
  const params = (req.params ?? {}) as Record<string, string | undefined>;
  const fromParams = params.id ?? params.prefix ?? params.number;
  if (fromParams) return fromParams;
  // A create answers with the new object: its id is the subject.
  if (typeof payload === 'string' && payload.startsWith('{')) {
    try {
      const id = (JSON.parse(payload) as { id?: unknown }).id;
      if (typeof id === 'string') return id;
    } catch {
      // not JSON: no subject id
    }
  }
  return null;
}

function auditView(r: AdminAuditRow) {
  return {
    id: r.id,
    at: new Date(Number(r.created_at)).toISOString(),
    actor_id: r.actor_id,
    actor_login: r.actor_login,
    action: r.action,
    subject_kind: r.subject_kind,
    subject_id: r.subject_id,
    status: r.status,
    details: r.details ? (JSON.parse(r.details) as unknown) : null,
  };
}

export function auditRoutes(untyped: FastifyInstance, deps: { store: Store }): void {
  const app = untyped.withTypeProvider<TypeBoxTypeProvider>();
  const { store } = deps;
  app.addHook('onSend', async (req, reply, payload) => {
    const kind = auditKind(req.method, req.routeOptions.url);
    if (!kind || reply.statusCode >= 300 || !req.principal) return payload;
    await store.audit.append({
      actor_id: req.principal.user.id,
      actor_login: req.principal.user.login,
      action: `${req.method} ${req.routeOptions.url}`,
      subject_kind: kind,
      subject_id: subjectOf(req, payload),
      status: reply.statusCode,
      details: details(req),
    });
    return payload;
  });

  app.get(
    '/v1/audit',
    {
      schema: {
        response: {
          200: Open({ data: Type.Array(Open({})) }, 'Admin actions, newest first, with next_cursor.'),
        },
        tags: ['admin'],
        summary: 'Admin actions, newest first (paged by next_cursor)',
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
          cursor: Type.Optional(Type.String({ maxLength: 64 })),
          actor_id: Type.Optional(Type.String({ maxLength: 64 })),
          subject_kind: Type.Optional(
            Type.Union(['users', 'keys', 'channels', 'keywords', 'policy'].map((k) => Type.Literal(k))),
          ),
        }),
      },
    },
    async (req) => {
      requireAdmin(req);
      const q = req.query;
      const limit = q.limit ?? 50;
      const rows = await store.audit.page({
        limit: limit + 1,
        before: idCursor(q.cursor),
        actorId: q.actor_id,
        kind: q.subject_kind,
      });
      const page = rows.slice(0, limit);
      return {
        data: page.map(auditView),
        next_cursor: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null,
      };
    },
  );
}
