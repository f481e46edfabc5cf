/** Dashboard login and logout: a session cookie plus a CSRF token for the page to send back. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError, say } from '../../../core/errors.js';
import type { AuthService } from '../../../services/auth.js';
import { SESSION_COOKIE } from '../auth.js';
import { UserView } from '../schemas.js';
import { userView } from '../views.js';

const Session = Type.Object({
  user: UserView,
  csrf_token: Type.String({ description: 'Send it back as X-CSRF-Token on every unsafe request' }),
});

export function sessionRoutes(root: FastifyInstance, deps: { auth: AuthService }): void {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const cookieOptions = (secure: boolean, maxAgeS?: number) => ({
    path: '/',
    httpOnly: true,
    sameSite: 'strict' as const,
    secure,
    ...(maxAgeS !== undefined ? { maxAge: maxAgeS } : {}),
  });
  const isHttps = (proto: string) => proto === 'https';

  app.post(
    '/auth/login',
    {
      schema: {
        tags: ['session'],
        summary: 'Log in (dashboard): sets the session cookie, returns the CSRF token',
        body: Type.Object({
          login: Type.String({ minLength: 1, maxLength: 64 }),
          password: Type.String({ minLength: 1, maxLength: 256 }),
        }),
        response: {
          200: Type.Intersect([Session, Type.Object({ expires_at: Type.String({ format: 'date-time' }) })]),
        },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const user = await deps.auth.byPassword(b.login, b.password, { ip: req.ip });
      if (!user) throw new ApiError('invalid_credentials', say('api.auth.wrongLogin'));
      if (user.status !== 'active') throw new ApiError('account_blocked');
      const s = await deps.auth.startSession(user);
      reply.setCookie(
        SESSION_COOKIE,
        s.token,
        cookieOptions(isHttps(req.protocol), Math.floor((s.expiresAt - Date.now()) / 1000)),
      );
      return { user: userView(user), csrf_token: s.csrf, expires_at: new Date(s.expiresAt).toISOString() };
    },
  );

  app.get(
    '/auth/session',
    { schema: { tags: ['session'], summary: 'The current session, if any', response: { 200: Session } } },
    async (req) => {
      const token = req.cookies?.[SESSION_COOKIE];
      const s = token ? await deps.auth.bySession(token) : undefined;
      if (!s) throw new ApiError('unauthorized', say('api.auth.notLoggedIn'));
      return { user: userView(s.user), csrf_token: s.csrf };
    },
  );

  app.post(
    '/auth/logout',
    {
      schema: {
        tags: ['session'],
        summary: 'End the session',
        response: { 200: Type.Object({ logged_out: Type.Literal(true) }) },
      },
    },
    async (req, reply) => {
      const token = req.cookies?.[SESSION_COOKIE];
      if (token) {
        const s = await deps.auth.bySession(token);
        if (s && req.headers['x-csrf-token'] !== s.csrf) {
          throw new ApiError('forbidden', say('api.auth.csrf'), 'X-CSRF-Token');
        }
        await deps.auth.endSession(token);
      }
      reply.clearCookie(SESSION_COOKIE, cookieOptions(isHttps(req.protocol)));
      return { logged_out: true as const };
    },
  );
}
