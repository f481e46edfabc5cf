/**
 * Who is calling: Bearer API keys and login/password (Basic, and the seed API's login/pass).
 * Verified passwords are remembered briefly so clients that send them on every request (the
 * seed API does) do not pay a 50 ms scrypt each time; blocking a user clears the memory.
 *
 * Failed logins are throttled per login and per address before any hash is computed
 * (login-throttle.ts), and a login that does not exist is checked against a dummy hash, so a
 * refusal costs the same ~50 ms either way and timing does not tell which logins exist.
 */
import type { Store } from '../store/index.js';
import type { UserRow } from '../store/schema.js';
import { ApiError, say } from '../core/errors.js';
import { randomBytes } from 'node:crypto';
import type { ThrottleLimits } from './login-throttle.js';
import { LoginThrottle } from './login-throttle.js';
import {
  apiKeyFromChosen,
  dummyPasswordHash,
  parseApiKey,
  secretMatches,
  sha256,
  verifyPassword,
} from './secrets.js';

/** Where a login attempt comes from; given by every face that can throttle it. */
export interface LoginSource {
  ip?: string | undefined;
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
  private passwordCache = new Map<
    string,
    { userId: string; until: number; user?: UserRow; userUntil?: number }
  >();
  private touched = new Map<string, number>();
  private keyCache = new Map<string, { principal: Principal; until: number }>();
  private readonly checking = new Map<string, Promise<UserRow | undefined>>();
  /**
   * Same parameters as a stored hash, random salt and digest: verifying against it costs what a
   * real check costs and never matches.
   */
  private readonly dummyHash = dummyPasswordHash();
  private hashes = 0;
  readonly throttle: LoginThrottle;

  constructor(
    private readonly store: Store,
    limits: ThrottleLimits = { perLogin: 10, perIp: 50, windowMs: 300_000 },
  ) {
    this.throttle = new LoginThrottle(limits);
  }

  /** Password logins refused by the throttle (no hash computed) since start. */
  throttledCount = 0;

  /** Password hashes computed since start (real and dummy): what a login flood costs. */
  get hashChecks(): number {
    return this.hashes;
  }

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
      throw new ApiError('invalid_credentials', say('api.misc.invalidKey'));
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

  /**
   * Checks a login and password. Returns undefined on wrong credentials (callers pick the error).
   * With a source (every HTTP face passes one), failures are throttled: over the limit this
   * throws too_many_attempts (429, details.retry_after_s) before computing any hash.
   */
  async byPassword(login: string, password: string, from?: LoginSource): Promise<UserRow | undefined> {
    const key = sha256(`${login}\u0000${password}`);
    // A remembered correct password is not an attempt: clients that send it on every request
    // (the seed API, Basic auth) are never throttled by their own traffic.
    const known = await this.remembered(key, login);
    if (known) return known;
    // The same login and password already being checked (a client's concurrent requests): one
    // hash, one attempt.
    const shared = this.checking.get(key);
    if (shared) return shared;
    if (from) {
      const wait = this.throttle.retryAfterMs(login, from.ip);
      if (wait > 0) {
        this.throttledCount++;
        const retryAfterS = Math.ceil(wait / 1000);
        throw new ApiError(
          'too_many_attempts',
          say('api.misc.tooManyAttempts', { seconds: retryAfterS }),
          undefined,
          { retry_after_s: retryAfterS },
        );
      }
      this.throttle.attempt(login, from.ip);
    }
    const check = this.checkPassword(key, login, password)
      .then((user) => {
        if (from && user) this.throttle.succeeded(login, from.ip);
        return user;
      })
      .finally(() => this.checking.delete(key));
    this.checking.set(key, check);
    return check;
  }

  private async remembered(key: string, login: string): Promise<UserRow | undefined> {
    const cached = this.passwordCache.get(key);
    const now = Date.now();
    if (!cached || cached.until <= now) return undefined;
    // The user row too, for as long as an API key's principal (KEY_CACHE_MS): a client sending
    // its password with every request (Basic, the seed API) then costs no read, so requests that
    // arrive together get through authentication in the same turn (one commit for a burst of
    // OTP verifications). A change of the user on this node clears it (forget).
    let user = cached.user && (cached.userUntil ?? 0) > now ? cached.user : undefined;
    if (!user) {
      user = await this.store.users.byId(cached.userId);
      if (user) Object.assign(cached, { user, userUntil: now + KEY_CACHE_MS });
    }
    return user && user.login === login ? user : undefined;
  }

  private async checkPassword(key: string, login: string, password: string): Promise<UserRow | undefined> {
    const user = await this.store.users.byLogin(login);
    // An unknown login still costs one hash, so it is refused as slowly as a wrong password.
    const ok = await this.verify(password, user?.password_hash);
    if (!user || !ok) return undefined;
    if (this.passwordCache.size > 10_000) this.passwordCache.clear();
    this.passwordCache.set(key, { userId: user.id, until: Date.now() + PASSWORD_CACHE_MS });
    return user;
  }

  /** verifyPassword against the stored hash, or against a dummy one (always false) when there is none. */
  private async verify(password: string, stored: string | null | undefined): Promise<boolean> {
    this.hashes++;
    if (stored) return verifyPassword(password, stored);
    await verifyPassword(password, this.dummyHash);
    return false;
  }

  /**
   * An SMPP bind: the user's separate SMPP credentials when set, else its login and password.
   * With a source, a throttled system_id or address is refused without computing a hash.
   * Says why a bind is refused, so the face can answer ESME_RINVSYSID or ESME_RINVPASWD as
   * SMPP 3.4 asks; an unknown system_id still costs one hash, like a wrong password.
   */
  async smppBind(
    systemId: string,
    password: string,
    from?: LoginSource,
  ): Promise<{ user: UserRow } | { refused: 'system_id' | 'password' | 'throttled' }> {
    if (from && this.throttle.retryAfterMs(systemId, from.ip) > 0) {
      this.throttledCount++;
      return { refused: 'throttled' };
    }
    if (from) this.throttle.attempt(systemId, from.ip);
    const user = await this.store.users.bySmppSystemId(systemId);
    const key = sha256(`${systemId}\u0000${password}`);
    let found: UserRow | undefined;
    let known = true;
    if (user?.smpp_password_hash) {
      found = (await this.verify(password, user.smpp_password_hash)) ? user : undefined;
    } else {
      found = (await this.remembered(key, systemId)) ?? (await this.checkPassword(key, systemId, password));
      // checkPassword hashed already (against a dummy when the login is unknown); this only tells which.
      if (!found) known = (await this.store.users.byLogin(systemId)) !== undefined;
    }
    if (!found) return { refused: known ? 'password' : 'system_id' };
    if (from) this.throttle.succeeded(systemId, from.ip);
    return { user: found };
  }

  /** smppBind without the reason. */
  async bySmpp(systemId: string, password: string, from?: LoginSource): Promise<UserRow | undefined> {
    const r = await this.smppBind(systemId, password, from);
    return 'user' in r ? r.user : undefined;
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
