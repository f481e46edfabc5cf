/**
 * Who is calling: Bearer API keys and login/password (Basic, and the seed API's login/pass).
 * Verified passwords are remembered briefly so clients that send them on every request (the
 * seed API does) do not pay a 50 ms scrypt each time; blocking a user clears the memory.
 */
import type { Store } from '../store/index.js';
import type { UserRow } from '../store/schema.js';
import { ApiError } from '../core/errors.js';
import { randomBytes } from 'node:crypto';
import {
  apiKeyFromChosen,
  hashPassword,
  parseApiKey,
  secretMatches,
  sha256,
  verifyPassword,
} from './secrets.js';

/** A hash of nothing, verified for unknown ids so their refusal costs what a wrong password does. */
let dummy: Promise<string> | undefined;
function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('base64'));
  return dummy;
}

export interface Principal {
  user: UserRow;
  apiKeyId: string | null;
}

const PASSWORD_CACHE_MS = 60_000;
/** last_used_at is written at most this often per key, not on every request. */
const TOUCH_EVERY_MS = 60_000;
/**
 * A verified API key is remembered this long, saving two queries per request. Revoking a key
 * or blocking a user clears it at once on this node; other nodes notice within this time.
 */
const KEY_CACHE_MS = 5_000;
/** A dashboard session lasts a working day; logging out ends it at once. */
const SESSION_MS = 12 * 3_600_000;

export class AuthService {
  private passwordCache = new Map<string, { userId: string; until: number }>();
  private touched = new Map<string, number>();
  private keyCache = new Map<string, { principal: Principal; until: number }>();

  constructor(private readonly store: Store) {}

  /** Resolves an API key to its user; throws invalid_credentials / account_blocked. */
  async byApiKey(presented: string): Promise<Principal> {
    const cached = this.keyCache.get(presented);
    if (cached && cached.until > Date.now()) return cached.principal;
    const parsed = parseApiKey(presented);
    const { prefix, secret } = parsed
      ? parsed
      : { prefix: apiKeyFromChosen(presented).prefix, secret: presented };
    const found = await this.store.keys.byPrefix(prefix);
    if (!found || found.key.revoked_at !== null || !secretMatches(secret, found.key.secret_hash)) {
      throw new ApiError('invalid_credentials', 'The API key is not valid or was revoked.');
    }
    if (found.user.status !== 'active') throw new ApiError('account_blocked');
    const now = Date.now();
    if ((this.touched.get(found.key.id) ?? 0) + TOUCH_EVERY_MS < now) {
      this.touched.set(found.key.id, now);
      void this.store.keys.touch(found.key.id, now).catch(() => undefined);
    }
    const principal = { user: found.user, apiKeyId: found.key.id };
    if (this.keyCache.size > 10_000) this.keyCache.clear();
    this.keyCache.set(presented, { principal, until: now + KEY_CACHE_MS });
    return principal;
  }

  /** Checks a login and password. Returns undefined on wrong credentials (callers pick the error). */
  async byPassword(login: string, password: string): Promise<UserRow | undefined> {
    const cacheKey = sha256(`${login}\u0000${password}`);
    const cached = this.passwordCache.get(cacheKey);
    if (cached && cached.until > Date.now()) {
      const user = await this.store.users.byId(cached.userId);
      if (user && user.login === login) return user;
    }
    const user = await this.store.users.byLogin(login);
    if (!user || !(await verifyPassword(password, user.password_hash))) return undefined;
    if (this.passwordCache.size > 10_000) this.passwordCache.clear();
    this.passwordCache.set(cacheKey, { userId: user.id, until: Date.now() + PASSWORD_CACHE_MS });
    return user;
  }

  /**
   * An SMPP bind: the user's separate SMPP credentials when the admin set them, else its login
   * and password.
   */
  async bySmpp(systemId: string, password: string): Promise<UserRow | undefined> {
    const user = await this.store.users.bySmppSystemId(systemId);
    if (user?.smpp_password_hash)
      return (await verifyPassword(password, user.smpp_password_hash)) ? user : undefined;
    // An unknown system_id costs the same hash as a wrong password: a refused bind took
    // 100–140 ms for an existing id and 0–2 ms for an unknown one, which told ids apart.
    if (!user && !(await this.store.users.byLogin(systemId))) {
      await verifyPassword(password, await dummyHash());
      return undefined;
    }
    return this.byPassword(systemId, password);
  }

  /** Starts a browser session; the token goes into an HttpOnly cookie, only its hash is stored. */
  async startSession(user: UserRow): Promise<{ token: string; csrf: string; expiresAt: number }> {
    const token = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    const now = Date.now();
    const expiresAt = now + SESSION_MS;
    await this.store.sessions.create({
      token_hash: sha256(token),
      user_id: user.id,
      csrf,
      created_at: now,
      expires_at: expiresAt,
    });
    return { token, csrf, expiresAt };
  }

  /** The user and CSRF token of a live session, or undefined. */
  async bySession(token: string): Promise<{ user: UserRow; csrf: string } | undefined> {
    const s = await this.store.sessions.byTokenHash(sha256(token), Date.now());
    if (!s) return undefined;
    const user = await this.store.users.byId(s.user_id);
    return user ? { user, csrf: s.csrf } : undefined;
  }

  async endSession(token: string): Promise<void> {
    await this.store.sessions.delete(sha256(token));
  }

  /** Called when a key is revoked or a user changes: nothing cached may outlive that. */
  forget(): void {
    this.passwordCache.clear();
    this.keyCache.clear();
  }
}
