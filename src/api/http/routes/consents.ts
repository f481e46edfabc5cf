/**
 * Consent, privacy and the sending-policy settings (issue 14): consent records per number with
 * their proof, revocation, a data subject's export, erasure of a number's personal data; a
 * user's policy (templates-only, opt-in required for marketing, quiet hours) and the defaults
 * for new users; a contact's time zone for quiet hours.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { accountView } from './policy.js';
import { Type } from 'typebox';
import { ApiError, say } from '../../../core/errors.js';
import { normalizeNumber } from '../../../core/phone.js';
import { isTime, isZone } from '../../../core/quiet-hours.js';
import type { QuietWindow } from '../../../core/quiet-hours.js';
import { forgetPolicySettings } from '../../../policy/settings.js';
import type { PolicySettings } from '../../../store/consents.js';
import type { Store } from '../../../store/index.js';
import type { ConsentRow } from '../../../store/schema.js';
import { ownerScope, principalOf, requireAdmin } from '../auth.js';
import { csvCell } from './reports.js';
import { ConsentView, PolicySettingsView, PolicyView } from '../schemas.js';

/** Consent records per user, revoked ones included: bounded like every resource a client holds. */
export const MAX_CONSENTS = 1_000_000;
export const MAX_QUIET_WINDOWS = 10;

const NumberField = Type.String({
  minLength: 1,
  maxLength: 32,
  description: 'International format, e.g. +4915112345678.',
});
const ConsentBody = Type.Object({
  number: NumberField,
  source: Type.String({
    minLength: 1,
    maxLength: 100,
    description: 'Where it was given: web form, paper, keyword...',
  }),
  text_shown: Type.Optional(
    Type.String({ maxLength: 2_000, description: 'The words the person agreed to.' }),
  ),
  proof_ip: Type.Optional(Type.String({ maxLength: 64 })),
  form_id: Type.Optional(Type.String({ maxLength: 200 })),
  granted_at: Type.Optional(Type.String({ format: 'date-time' })),
});
const NumberQuery = Type.Object({ number: NumberField });
const ExportQuery = Type.Object({
  number: NumberField,
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
});
const Window = Type.Object(
  {
    category: Type.String({
      minLength: 1,
      maxLength: 32,
      description: 'A template category, or * for every message.',
    }),
    start: Type.String({ pattern: '^\\d\\d:\\d\\d$' }),
    end: Type.String({ pattern: '^\\d\\d:\\d\\d$' }),
  },
  { additionalProperties: false },
);
const PolicyBody = Type.Object({
  user_id: Type.Optional(Type.String({ maxLength: 64, description: "Admins: another user's policy." })),
  templates_only: Type.Optional(Type.Boolean({ description: 'Admins only.' })),
  consent_required: Type.Optional(Type.Boolean()),
  quiet_hours: Type.Optional(Type.Array(Window, { maxItems: MAX_QUIET_WINDOWS })),
});
/** PATCH /v1/policy also takes the lists' switches (policy/blacklist.ts). */
const PolicyPatch = Type.Object({
  ...PolicyBody.properties,
  auto_blacklist_after: Type.Optional(
    Type.Union([Type.Null(), Type.Integer({ minimum: 1, maximum: 100 })], {
      description: 'Blacklist a number after this many unknown_subscriber failures; null = off.',
    }),
  ),
  test_mode: Type.Optional(Type.Boolean({ description: 'Send only to the whitelist (admin).' })),
});
const PolicyQuery = Type.Object({ user_id: Type.Optional(Type.String({ maxLength: 64 })) });
const ContactZone = Type.Object({ time_zone: Type.Union([Type.Null(), Type.String({ maxLength: 64 })]) });

function e164(raw: string, field = 'number'): string {
  const n = normalizeNumber(raw);
  if (!n.ok) throw new ApiError('invalid_number', n.why, field);
  return n.e164;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function consentView(c: ConsentRow) {
  return {
    id: c.id,
    owner_id: c.owner_id,
    number: c.number,
    source: c.source,
    text_shown: c.text_shown,
    proof_ip: c.proof_ip,
    form_id: c.proof_form_id,
    granted_at: iso(c.granted_at),
    revoked_at: iso(c.revoked_at),
    revoked_by: c.revoked_by,
  };
}

function policyView(s: PolicySettings) {
  return { templates_only: s.templatesOnly, consent_required: s.consentRequired, quiet_hours: s.quietHours };
}

function checkWindows(windows: QuietWindow[] | undefined): void {
  for (const [i, w] of (windows ?? []).entries()) {
    for (const k of ['start', 'end'] as const) {
      if (!isTime(w[k]))
        throw new ApiError(
          'validation_failed',
          say('api.policy.hhmm', { field: k }),
          `quiet_hours.${i}.${k}`,
        );
    }
    if (w.start === w.end)
      throw new ApiError('validation_failed', say('api.policy.startEnd'), `quiet_hours.${i}.end`);
  }
}

export function consentRoutes(untyped: FastifyInstance, deps: { store: Store }): void {
  const app = untyped.withTypeProvider<TypeBoxTypeProvider>();
  const { store } = deps;
  const tags = ['consent'];

  app.post(
    '/v1/consents',
    {
      schema: {
        tags,
        summary: 'Record an opt-in with its proof',
        body: ConsentBody,
        response: { 201: ConsentView },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const b = req.body;
      if (!b.proof_ip && !b.form_id) {
        throw new ApiError('missing_parameter', say('api.policy.proof'), 'proof_ip');
      }
      const grantedAt = b.granted_at ? Date.parse(b.granted_at) : Date.now();
      if (!Number.isFinite(grantedAt) || grantedAt > Date.now() + 60_000) {
        throw new ApiError('validation_failed', say('api.policy.grantedFuture'), 'granted_at');
      }
      if ((await store.consents.count(p.user.id)) >= MAX_CONSENTS) {
        throw new ApiError('conflict', say('api.policy.maxConsents', { max: MAX_CONSENTS }));
      }
      const row = await store.consents.grant({
        ownerId: p.user.id,
        number: e164(b.number),
        source: b.source,
        textShown: b.text_shown,
        proofIp: b.proof_ip,
        proofFormId: b.form_id,
        grantedAt,
      });
      return reply.status(201).send(consentView(row));
    },
  );

  app.get(
    '/v1/consents',
    {
      schema: {
        tags,
        summary: "A number's consent records",
        querystring: NumberQuery,
        response: {
          200: Type.Object({
            number: Type.String(),
            consented: Type.Boolean(),
            data: Type.Array(ConsentView),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const number = e164(req.query.number);
      const rows = await store.consents.history(ownerScope(p), number);
      return {
        number,
        consented: rows.some((r) => r.revoked_at === null && r.owner_id === p.user.id),
        data: rows.map(consentView),
      };
    },
  );

  app.delete(
    '/v1/consents/:number',
    {
      schema: {
        tags,
        summary: 'Revoke the standing consent of a number',
        params: NumberQuery,
        response: { 200: Type.Object({ number: Type.String(), revoked: Type.Unknown() }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const number = e164(req.params.number);
      return { number, revoked: await store.consents.revoke(p.user.id, number, 'api') };
    },
  );

  app.get(
    '/v1/consents/export',
    {
      schema: {
        tags,
        summary: "A number's consent history (data-subject request), JSON or CSV",
        querystring: ExportQuery,
        response: {
          200: {
            description: 'The history; CSV with format=csv',
            content: {
              'application/json': {
                schema: Type.Object({
                  number: Type.String(),
                  exported_at: Type.String({ format: 'date-time' }),
                  consents: Type.Array(ConsentView),
                }),
              },
              'text/csv': { schema: Type.String() },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const q = req.query;
      const number = e164(q.number);
      const rows = (await store.consents.history(ownerScope(p), number)).map(consentView);
      if (q.format !== 'csv') return { number, exported_at: new Date().toISOString(), consents: rows };
      const head = [
        'id',
        'owner_id',
        'number',
        'source',
        'text_shown',
        'proof_ip',
        'form_id',
        'granted_at',
        'revoked_at',
        'revoked_by',
      ] as const;
      const lines = [
        head.join(','),
        ...rows.map((r) => head.map((k) => csvCell(String(r[k] ?? ''))).join(',')),
      ];
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="consents-${number.replace(/\D/g, '')}.csv"`)
        .send(`${lines.join('\r\n')}\r\n`);
    },
  );

  app.post(
    '/v1/privacy/erase',
    {
      schema: {
        tags,
        summary: "Erase a number's personal data (messages kept as counts)",
        body: Type.Object({ number: NumberField }),
        response: {
          200: Type.Object({ erased: Type.Unknown({ description: 'What was erased, by kind.' }) }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const number = e164(req.body.number);
      return { erased: await store.consents.erase(ownerScope(p), number, p.user.id) };
    },
  );

  // ---- policy settings
  const target = async (req: FastifyRequest, userId: string | undefined) => {
    const p = principalOf(req);
    if (userId === undefined || userId === p.user.id) return p.user.id;
    requireAdmin(req);
    if (!(await store.users.byId(userId)))
      throw new ApiError('not_found', say('api.policy.noSuchUser'), 'user_id');
    return userId;
  };

  /** One view of a user's sending policy: review and consent settings, lists and credit mode. */
  const fullPolicy = async (userId: string) => ({
    ...policyView(await store.policySettings.get(userId)),
    ...accountView(await store.policy.account(userId)),
  });

  app.get(
    '/v1/policy',
    {
      schema: {
        tags,
        summary: 'Sending policy in force for a user',
        querystring: PolicyQuery,
        response: { 200: PolicyView },
      },
    },
    async (req) => fullPolicy(await target(req, req.query.user_id)),
  );

  app.patch(
    '/v1/policy',
    {
      schema: {
        tags,
        summary: "Change a user's sending policy (templates_only and test_mode: admins only)",
        body: PolicyPatch,
        response: { 200: PolicyView },
      },
    },
    async (req) => {
      const b = req.body;
      const userId = await target(req, b.user_id);
      // Templates-only and test mode are the admin's restrictions on an account; it may not lift them.
      if (b.templates_only !== undefined || b.test_mode !== undefined) requireAdmin(req);
      checkWindows(b.quiet_hours);
      if (b.templates_only !== undefined || b.consent_required !== undefined || b.quiet_hours !== undefined) {
        const now = await store.policySettings.get(userId);
        await store.policySettings.put(userId, {
          templatesOnly: b.templates_only ?? now.templatesOnly,
          consentRequired: b.consent_required ?? now.consentRequired,
          quietHours: b.quiet_hours ?? now.quietHours,
        });
        forgetPolicySettings(userId);
      }
      if (b.auto_blacklist_after !== undefined || b.test_mode !== undefined) {
        await store.policy.updateAccount(userId, {
          ...(b.auto_blacklist_after !== undefined ? { auto_blacklist_after: b.auto_blacklist_after } : {}),
          ...(b.test_mode !== undefined ? { test_mode: b.test_mode ? 1 : 0 } : {}),
        });
      }
      return fullPolicy(userId);
    },
  );

  app.get(
    '/v1/policy/defaults',
    {
      schema: {
        tags,
        summary: 'The policy new users start with (admin)',
        response: { 200: PolicySettingsView },
      },
    },
    async (req) => {
      requireAdmin(req);
      return policyView(await store.policySettings.get('*'));
    },
  );

  app.put(
    '/v1/policy/defaults',
    {
      schema: {
        tags,
        summary: 'Set the policy new users start with (admin); existing users keep theirs',
        body: PolicyBody,
        response: { 200: PolicySettingsView },
      },
    },
    async (req) => {
      requireAdmin(req);
      const b = req.body;
      checkWindows(b.quiet_hours);
      const next: PolicySettings = {
        templatesOnly: b.templates_only ?? false,
        consentRequired: b.consent_required ?? false,
        quietHours: b.quiet_hours ?? [],
      };
      await store.policySettings.putDefaults(next);
      forgetPolicySettings();
      return policyView(next);
    },
  );

  app.put(
    '/v1/contacts/:number/time_zone',
    {
      schema: {
        tags,
        summary: "A contact's time zone for quiet hours (null: derive from the number)",
        params: NumberQuery,
        body: ContactZone,
        response: {
          200: Type.Object({ number: Type.String(), time_zone: Type.Union([Type.String(), Type.Null()]) }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const number = e164(req.params.number);
      const zone = req.body.time_zone;
      if (zone !== null && !isZone(zone)) {
        throw new ApiError('validation_failed', say('api.policy.ianaZone'), 'time_zone');
      }
      await store.policySettings.setContactZone(p.user.id, number, zone);
      return { number, time_zone: zone };
    },
  );
}
