/**
 * One-time passwords: `POST /v1/otp` sends a code, `POST /v1/otp/verify` checks one,
 * `POST /v1/otp/:id/resend` sends a new code after the cooldown, `GET /v1/otp/:id` shows the
 * state (never the code). Authorized like every /v1 route; one account sees only its own OTPs.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { OtpService } from '../../../services/otp.js';
import { OTP_BOUNDS } from '../../../services/otp.js';
import { principalOf } from '../auth.js';
import { OtpSettings, OtpVerdict, OtpView } from '../schemas.js';

const SendBody = Type.Object({
  to: Type.String({ maxLength: 64 }),
  length: Type.Optional(Type.Integer({ minimum: OTP_BOUNDS.length[0], maximum: OTP_BOUNDS.length[1] })),
  alphabet: Type.Optional(
    Type.String({
      maxLength: 64,
      description: 'numeric (default), alphanumeric, alpha, or the characters to draw from.',
    }),
  ),
  ttl: Type.Optional(
    Type.Integer({
      minimum: OTP_BOUNDS.ttlS[0],
      maximum: OTP_BOUNDS.ttlS[1],
      description: 'Seconds; default 300.',
    }),
  ),
  max_attempts: Type.Optional(
    Type.Integer({ minimum: OTP_BOUNDS.maxAttempts[0], maximum: OTP_BOUNDS.maxAttempts[1] }),
  ),
  template: Type.Optional(
    Type.String({
      maxLength: OTP_BOUNDS.templateChars,
      description: 'Text with {code} (and optionally {ttl}, minutes).',
    }),
  ),
  from: Type.Optional(Type.String({ maxLength: 16 })),
  flash: Type.Optional(Type.Boolean()),
  replace: Type.Optional(
    Type.Boolean({
      description: 'Resends replace the earlier code on the handset (replace-message type 1).',
    }),
  ),
  replace_id: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 })),
});

const VerifyBody = Type.Object({
  id: Type.String({ maxLength: 64 }),
  code: Type.String({ maxLength: 64 }),
});

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export function otpRoutes(untyped: FastifyInstance, deps: { otp: OtpService }): void {
  const app = untyped.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['otp'];
  app.post(
    '/v1/otp',
    {
      schema: {
        tags,
        summary: 'Send a one-time password',
        body: SendBody,
        response: { 201: OtpView },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const view = await deps.otp.send(principalOf(req), {
        to: b.to,
        length: b.length,
        alphabet: b.alphabet,
        ttlS: b.ttl,
        maxAttempts: b.max_attempts,
        template: b.template,
        from: b.from,
        flash: b.flash,
        replaceId: b.replace_id ?? (b.replace ? 1 : undefined),
      });
      return reply.status(201).send(view);
    },
  );
  const SettingsBody = Type.Object({
    template: Type.Optional(Type.Union([Type.String({ maxLength: OTP_BOUNDS.templateChars }), Type.Null()])),
    from: Type.Optional(Type.Union([Type.String({ maxLength: 16 }), Type.Null()])),
  });
  app.get(
    '/v1/otp/settings',
    { schema: { tags, summary: 'Your default OTP template and sender', response: { 200: OtpSettings } } },
    async (req) => deps.otp.settings(principalOf(req)),
  );
  app.put(
    '/v1/otp/settings',
    {
      schema: {
        tags,
        summary: 'Set your default OTP template (with {code}) and sender; null clears one',
        body: SettingsBody,
        response: { 200: OtpSettings },
      },
    },
    async (req) => deps.otp.settings(principalOf(req), req.body),
  );
  app.post(
    '/v1/otp/verify',
    {
      schema: { tags, summary: 'Check a one-time password', body: VerifyBody, response: { 200: OtpVerdict } },
    },
    async (req) => {
      const b = req.body;
      return deps.otp.verify(principalOf(req), b.id, b.code);
    },
  );
  app.post(
    '/v1/otp/:id/resend',
    {
      schema: {
        tags,
        summary: 'Send a new code for the same OTP (after the cooldown)',
        params: IdParams,
        response: { 201: OtpView },
      },
    },
    async (req, reply) => reply.status(201).send(await deps.otp.resend(principalOf(req), req.params.id)),
  );
  app.get(
    '/v1/otp/:id',
    {
      schema: {
        tags,
        summary: 'State of a one-time password (never the code)',
        params: IdParams,
        response: { 200: OtpView },
      },
    },
    async (req) => deps.otp.get(principalOf(req), req.params.id),
  );
}
