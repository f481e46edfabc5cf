/**
 * Authentication for /v1: `Authorization: Bearer <api key>`, Basic login:password, or the
 * dashboard's session cookie (with its CSRF token on unsafe requests).
 */
import type { FastifyRequest } from 'fastify';
import { ApiError, say } from '../../core/errors.js';
import type { AuthService, Principal } from '../../services/auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export const SESSION_COOKIE = 'smsgw_session';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export async function authenticate(auth: AuthService, req: FastifyRequest): Promise<Principal> {
  const header = req.headers.authorization;
  const cookie = req.cookies?.[SESSION_COOKIE];
  if (!header && cookie) return bySessionCookie(auth, req, cookie);
  if (!header) throw new ApiError('unauthorized', say('api.auth.sendCredentials'));
  const [scheme, value = ''] = header.split(' ', 2);
  if (scheme?.toLowerCase() === 'bearer' && value) return auth.byApiKey(value.trim());
  if (scheme?.toLowerCase() === 'basic' && value) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 1) throw new ApiError('invalid_credentials', say('api.auth.basicForm'));
    const user = await auth.byPassword(decoded.slice(0, colon), decoded.slice(colon + 1), { ip: req.ip });
    if (!user) throw new ApiError('invalid_credentials', say('api.auth.wrongLogin'));
    if (user.status !== 'active') throw new ApiError('account_blocked');
    return { user, apiKeyId: null };
  }
  throw new ApiError('unauthorized', say('api.auth.scheme'));
}

export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new ApiError('unauthorized');
  return req.principal;
}

export function requireAdmin(req: FastifyRequest): Principal {
  const p = principalOf(req);
  if (p.user.role !== 'admin') throw new ApiError('forbidden', say('api.auth.adminOnly'));
  return p;
}

/** Admins act on everything; a user only on its own rows. Undefined means "no owner filter". */
export function ownerScope(p: Principal): string | undefined {
  return p.user.role === 'admin' ? undefined : p.user.id;
}

/**
 * Browser sessions: the cookie is HttpOnly and SameSite=Strict, and every unsafe request must
 * also carry the session's CSRF token in X-CSRF-Token (a token an attacker's page cannot read),
 * so a cross-site form can never act with the cookie.
 */
async function bySessionCookie(auth: AuthService, req: FastifyRequest, token: string): Promise<Principal> {
  const s = await auth.bySession(token);
  if (!s) throw new ApiError('unauthorized', say('api.auth.sessionEnded'));
  if (s.user.status !== 'active') throw new ApiError('account_blocked');
  if (UNSAFE.has(req.method) && req.headers['x-csrf-token'] !== s.csrf) {
    throw new ApiError('forbidden', say('api.auth.csrf'), 'X-CSRF-Token');
  }
  return { user: s.user, apiKeyId: null };
}
