/**
 * Templates and sender signatures with their review (issue 14): a user submits and edits its
 * own; an admin sees every one (`?status=pending` is the review queue) and approves or rejects
 * with a reason. Every change is an audit row, shown as `history` on the item.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError, say } from '../../../core/errors.js';
import { TEMPLATE_CATEGORIES, VARIABLE_TYPES } from '../../../core/template.js';
import type { Principal } from '../../../services/auth.js';
import type { SendInput } from '../../../services/messages.js';
import { MAX_TEMPLATE_TEXT, declared, edit, submit } from '../../../services/templates.js';
import type { Store } from '../../../store/index.js';
import type { PolicyAuditRow, TemplateRow } from '../../../store/schema.js';
import type { TemplateKind } from '../../../store/templates.js';
import { ownerScope, principalOf, requireAdmin } from '../auth.js';
import { NoContent, TemplateDetail, TemplatePage, TemplateView } from '../schemas.js';

/** The fields POST /v1/messages takes instead of `text`. */
export const TemplateSendFields = {
  template_id: Type.Optional(Type.String({ maxLength: 64, description: 'An approved template of yours.' })),
  params: Type.Optional(
    Type.Record(
      Type.String({ maxLength: 32 }),
      Type.Union([Type.String({ maxLength: 1_000 }), Type.Number()]),
      {
        maxProperties: 50,
        description: 'Values of the template variables, e.g. {"code": "123456"}.',
      },
    ),
  ),
  time_zone: Type.Optional(
    Type.String({ maxLength: 64, description: "Recipients' IANA zone for quiet hours (else derived)." }),
  ),
};

export function templateSendInput(b: {
  template_id?: string | undefined;
  params?: Record<string, string | number> | undefined;
  time_zone?: string | undefined;
}): Partial<SendInput> {
  return {
    ...(b.template_id !== undefined ? { templateId: b.template_id, params: b.params } : {}),
    ...(b.time_zone !== undefined ? { timeZone: b.time_zone } : {}),
  };
}

const Category = Type.Union(TEMPLATE_CATEGORIES.map((c) => Type.Literal(c)));
const Variables = Type.Record(
  Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,31}$' }),
  Type.Object(
    {
      type: Type.Optional(Type.Union(VARIABLE_TYPES.map((t) => Type.Literal(t)))),
      max_length: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    },
    { additionalProperties: false },
  ),
  { maxProperties: 20 },
);
const Name = Type.String({ minLength: 1, maxLength: 100 });
const Placement = Type.Union([Type.Literal('prefix'), Type.Literal('suffix')]);
const OwnerId = Type.Optional(Type.String({ maxLength: 64, description: 'Admins: submit for this user.' }));

const TemplateCreate = Type.Object({
  name: Name,
  text: Type.String({ minLength: 1, maxLength: MAX_TEMPLATE_TEXT }),
  category: Category,
  variables: Type.Optional(Variables),
  owner_id: OwnerId,
});
const TemplatePatch = Type.Object({
  name: Type.Optional(Name),
  text: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_TEMPLATE_TEXT })),
  category: Type.Optional(Category),
  variables: Type.Optional(Variables),
});
const SignatureCreate = Type.Object({
  name: Type.Optional(Name),
  text: Type.String({ minLength: 1, maxLength: 32, description: 'e.g. 【Acme】 or Acme:' }),
  placement: Type.Optional(Placement),
  owner_id: OwnerId,
});
const SignaturePatch = Type.Object({
  name: Type.Optional(Name),
  text: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  placement: Type.Optional(Placement),
});
const Reject = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) });
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const ListQuery = Type.Object({
  status: Type.Optional(
    Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected')]),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function templateView(t: TemplateRow) {
  return {
    id: t.id,
    owner_id: t.owner_id,
    name: t.name,
    text: t.text,
    ...(t.kind === 'template'
      ? { category: t.category, variables: declared(t) ?? null }
      : { placement: t.placement }),
    status: t.status,
    reason: t.reason,
    created_at: iso(t.created_at),
    updated_at: iso(t.updated_at),
    decided_at: iso(t.decided_at),
    decided_by: t.decided_by,
  };
}

function auditView(a: PolicyAuditRow) {
  return {
    action: a.action,
    actor_id: a.actor_id,
    before: a.before_status,
    after: a.after_status,
    reason: a.reason,
    at: new Date(a.created_at).toISOString(),
  };
}

export function templateRoutes(app: FastifyInstance, deps: { store: Store }): void {
  const { store } = deps;
  for (const kind of ['template', 'signature'] as const) register(app, store, kind);
}

function register(untyped: FastifyInstance, store: Store, kind: TemplateKind): void {
  const app = untyped.withTypeProvider<TypeBoxTypeProvider>();
  const base = kind === 'template' ? '/v1/templates' : '/v1/signatures';
  const tags = ['templates'];
  const label = kind === 'template' ? 'template' : 'signature';

  const load = async (id: string, p: Principal) => {
    const row = await store.templates.byId(kind, id, ownerScope(p));
    if (!row)
      throw new ApiError(
        'not_found',
        say(kind === 'template' ? 'api.templates.noSuchTemplate' : 'api.templates.noSuchSignature'),
        'id',
      );
    return row;
  };

  app.post(
    base,
    {
      schema: {
        tags,
        summary: `Submit a ${label} for review`,
        body: kind === 'template' ? TemplateCreate : SignatureCreate,
        response: { 201: TemplateView },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const b = req.body;
      let ownerId = p.user.id;
      if (b.owner_id !== undefined && b.owner_id !== p.user.id) {
        requireAdmin(req);
        if (!(await store.users.byId(b.owner_id)))
          throw new ApiError('not_found', say('api.policy.noSuchUser'), 'owner_id');
        ownerId = b.owner_id;
      }
      const row = await submit(store, kind, ownerId, p.user.id, b);
      return reply.status(201).send(templateView(row));
    },
  );

  app.get(
    base,
    {
      schema: {
        tags,
        summary: `${label}s (admins: everyone's; ?status=pending is the review queue)`,
        querystring: ListQuery,
        response: { 200: TemplatePage },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const q = req.query;
      const limit = q.limit ?? 100;
      const rows = await store.templates.list(kind, {
        ownerId: ownerScope(p),
        status: q.status,
        limit,
        before: q.cursor,
      });
      const last = rows[rows.length - 1];
      return { data: rows.map(templateView), next_cursor: rows.length === limit && last ? last.id : null };
    },
  );

  app.get(
    `${base}/:id`,
    {
      schema: {
        tags,
        summary: `A ${label} with its review history`,
        params: IdParams,
        response: { 200: TemplateDetail },
      },
    },
    async (req) => {
      const row = await load(req.params.id, principalOf(req));
      return { ...templateView(row), history: (await store.templates.history(row.id)).map(auditView) };
    },
  );

  app.patch(
    `${base}/:id`,
    {
      schema: {
        tags,
        summary: `Edit a ${label} (it goes back to review)`,
        params: IdParams,
        body: kind === 'template' ? TemplatePatch : SignaturePatch,
        response: { 200: TemplateView },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const row = await load(req.params.id, p);
      return templateView(await edit(store, row, p.user.id, req.body));
    },
  );

  app.delete(
    `${base}/:id`,
    { schema: { tags, summary: `Delete a ${label}`, params: IdParams, response: { 204: NoContent } } },
    async (req, reply) => {
      const p = principalOf(req);
      const row = await load(req.params.id, p);
      await store.templates.remove(row, p.user.id);
      return reply.status(204).send(null);
    },
  );

  const decide = async (
    req: FastifyRequest,
    id: string,
    decision: 'approved' | 'rejected',
    reason: string | null,
  ) => {
    const p = requireAdmin(req);
    const row = await load(id, p);
    const done = await store.templates.decide(kind, row.id, decision, p.user.id, reason);
    if (!done)
      throw new ApiError(
        'conflict',
        say(kind === 'template' ? 'api.templates.notPendingTemplate' : 'api.templates.notPendingSignature', {
          status: row.status,
        }),
      );
    return templateView(done);
  };
  app.post(
    `${base}/:id/approve`,
    {
      schema: {
        tags,
        summary: `Approve a pending ${label} (admin)`,
        params: IdParams,
        response: { 200: TemplateView },
      },
    },
    async (req) => decide(req, req.params.id, 'approved', null),
  );
  app.post(
    `${base}/:id/reject`,
    {
      schema: {
        tags,
        summary: `Reject a pending ${label} with a reason (admin)`,
        params: IdParams,
        body: Reject,
        response: { 200: TemplateView },
      },
    },
    async (req) => decide(req, req.params.id, 'rejected', req.body.reason),
  );
}
