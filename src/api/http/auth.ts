/** Authentication for /v1: `Authorization: Bearer <api key>` or Basic login:password. */
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../../core/errors.js';
import type { AuthService, Principal } from '../../services/auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export async function authenticate(auth: AuthService, req: FastifyRequest): Promise<Principal> {
  const header = req.headers.authorization;
  if (!header)
    throw new ApiError('unauthorized', 'Send "Authorization: Bearer <api key>" or Basic credentials.');
  const [scheme, value = ''] = header.split(' ', 2);
  if (scheme?.toLowerCase() === 'bearer' && value) return auth.byApiKey(value.trim());
  if (scheme?.toLowerCase() === 'basic' && value) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 1) throw new ApiError('invalid_credentials', 'Basic credentials must be login:password.');
    const user = await auth.byPassword(decoded.slice(0, colon), decoded.slice(colon + 1));
    if (!user) throw new ApiError('invalid_credentials', 'Wrong login or password.');
    if (user.status !== 'active') throw new ApiError('account_blocked');
    return { user, apiKeyId: null };
  }
  throw new ApiError('unauthorized', 'Unsupported Authorization scheme; use Bearer or Basic.');
}

export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new ApiError('unauthorized');
  return req.principal;
}

export function requireAdmin(req: FastifyRequest): Principal {
  const p = principalOf(req);
  if (p.user.role !== 'admin') throw new ApiError('forbidden', 'This needs an admin account.');
  return p;
}

/** Admins act on everything; a user only on its own rows. Undefined means "no owner filter". */
export function ownerScope(p: Principal): string | undefined {
  return p.user.role === 'admin' ? undefined : p.user.id;
}
