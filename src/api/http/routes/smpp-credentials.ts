/**
 * SMPP credentials of a user (services/smpp-credentials.ts): an admin for anyone, a user for
 * itself. POST issues a system_id and a generated 8-character password, shown only in that
 * answer; DELETE removes them (the user binds with its login and password again).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { ApiError, say } from '../../../core/errors.js';
import type { AuthService } from '../../../services/auth.js';
import { issueSmppCredentials } from '../../../services/smpp-credentials.js';
import type { Store } from '../../../store/index.js';
import { principalOf } from '../auth.js';
import { NoContent, SmppCredentials } from '../schemas.js';
import type { FastifyRequest } from 'fastify';

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

async function target(store: Store, req: FastifyRequest, id: string) {
  const p = principalOf(req);
  // Another user's id answers 404 to a non-admin, as if it did not exist.
  const user = p.user.role === 'admin' || p.user.id === id ? await store.users.byId(id) : undefined;
  if (!user) throw new ApiError('not_found', say('api.admin.noSuchUser'), 'id');
  return user;
}

export function smppCredentialRoutes(
  untyped: FastifyInstance,
  deps: { store: Store; auth: AuthService },
): void {
  const app = untyped.withTypeProvider<TypeBoxTypeProvider>();
  const { store, auth } = deps;
  app.post(
    '/v1/users/:id/smpp-credentials',
    {
      schema: {
        tags: ['admin'],
        summary: 'Issue SMPP credentials (system_id and an 8-character password, shown once)',
        params: IdParams,
        body: Type.Optional(
          Type.Object({
            system_id: Type.Optional(
              Type.String({ minLength: 1, maxLength: 15, pattern: '^[\\x21-\\x7e]+$' }),
            ),
          }),
        ),
        response: { 201: SmppCredentials },
      },
    },
    async (req, reply) => {
      const user = await target(store, req, req.params.id);
      const body = (req.body ?? {}) as { system_id?: string };
      const issued = await issueSmppCredentials(store, user, body.system_id);
      auth.forget();
      return reply.code(201).send({ ...issued, note: 'The password is shown only once; store it now.' });
    },
  );
  app.delete(
    '/v1/users/:id/smpp-credentials',
    {
      schema: {
        tags: ['admin'],
        summary: 'Remove SMPP credentials (bind with login and password again)',
        params: IdParams,
        response: { 204: NoContent },
      },
    },
    async (req, reply) => {
      const user = await target(store, req, req.params.id);
      await store.users.update(user.id, { smpp_system_id: null, smpp_password_hash: null });
      auth.forget();
      return reply.code(204).send(null);
    },
  );
}
