/**
 * One-time passwords (issue 15): a code generated with crypto, sent through MessageService with
 * the category "verification", and kept only as an HMAC (server secret, the OTP's id and the
 * code) compared in constant time. A verification counts its attempt in the same conditional
 * UPDATE that records its result, so two verifications of one code cannot both succeed and no
 * attempt goes uncounted. Resends make a new code (the old one stops working) after a cooldown;
 * sends per number and account are limited per hour. A code's row (or a resend's new code) is
 * written in the transaction that accepts its SMS: no SMS carries a code that cannot verify, and
 * no stored code was never sent.
 */
import type { CountryCode } from 'libphonenumber-js';
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { ApiError, isErrorCode, say } from '../core/errors.js';
import { normalizeNumber } from '../core/phone.js';
import type { Store } from '../store/index.js';
import { newId } from '../store/ids.js';
import { WriteBatcher } from '../store/batcher.js';
import type { AttemptRecord } from '../store/otp.js';
import { OtpRepo } from '../store/otp.js';
import type { Database, NewMessage, OtpRow } from '../store/schema.js';
import type { Transaction } from 'kysely';
import type { Principal } from './auth.js';
import type { MessageService } from './messages.js';

export const OTP_ALPHABETS = {
  numeric: '0123456789',
  alphanumeric: 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789',
  alpha: 'ABCDEFGHJKLMNPQRSTUVWXYZ',
} as const;

/** Request bounds: enough entropy (4 digits at least), short enough to type. */
export const OTP_BOUNDS = {
  length: [4, 12],
  ttlS: [30, 86_400],
  maxAttempts: [1, 20],
  templateChars: 480,
  alphabetChars: [2, 64],
} as const;

export const OTP_DEFAULT_TEMPLATE = 'Your verification code is {code}';

export interface OtpRequest {
  to: string;
  length?: number | undefined;
  /** A preset (numeric, alphanumeric, alpha) or the characters themselves. */
  alphabet?: string | undefined;
  ttlS?: number | undefined;
  maxAttempts?: number | undefined;
  /** The text with `{code}` where the code goes (and optionally `{ttl}` in minutes). */
  template?: string | undefined;
  from?: string | undefined;
  flash?: boolean | undefined;
  /** Replace-message type 1–7: a resend replaces the earlier code on the handset. */
  replaceId?: number | undefined;
}

export type VerifyStatus = 'valid' | 'invalid' | 'expired' | 'too_many_attempts';

export interface OtpOptions {
  secret: string | undefined;
  cooldownS: number;
  perNumberPerHour: number;
  maxSends: number;
  defaultRegion?: CountryCode | undefined;
  /** The clock (tests move it). */
  now?: () => number;
}

export interface OtpView {
  id: string;
  to: string;
  message_id: string;
  expires_at: string;
  attempts_left: number;
  sends: number;
  resend_after: string;
  status: 'pending' | 'verified' | 'expired' | 'too_many_attempts';
}

/** What the state view reads of a row (the log selects no more). */
type OtpStateRow = Pick<
  OtpRow,
  | 'id'
  | 'to'
  | 'message_id'
  | 'expires_at'
  | 'max_attempts'
  | 'attempts'
  | 'sends'
  | 'last_sent_at'
  | 'verified_at'
>;

export interface OtpLogEntry extends OtpView {
  owner_id: string;
  length: number;
  attempts: number;
  max_attempts: number;
  created_at: string;
  last_sent_at: string;
  verified_at: string | null;
}

export class OtpService {
  private readonly repo: OtpRepo;
  private secret: Promise<string> | undefined;
  private readonly now: () => number;
  /** Verifications arriving together share one transaction (one fsync on SQLite). */
  private readonly attempts: WriteBatcher<AttemptRecord, boolean>;

  constructor(
    store: Store,
    private readonly messages: MessageService,
    private readonly opts: OtpOptions,
  ) {
    this.repo = new OtpRepo(store.db.kysely);
    this.now = opts.now ?? Date.now;
    this.attempts = new WriteBatcher((items) => this.repo.recordAttempts(items));
  }

  async send(p: Principal, req: OtpRequest): Promise<OtpView> {
    const length = bounded(req.length ?? 6, OTP_BOUNDS.length, 'length');
    const ttlS = bounded(req.ttlS ?? 300, OTP_BOUNDS.ttlS, 'ttl');
    const maxAttempts = bounded(req.maxAttempts ?? 5, OTP_BOUNDS.maxAttempts, 'max_attempts');
    const alphabet = alphabetOf(req.alphabet);
    // The request's template, else the user's (PUT /v1/otp/settings), else the default.
    const saved =
      req.template === undefined || req.from === undefined ? await this.repo.settings(p.user.id) : undefined;
    const template = checkTemplate(req.template ?? saved?.template ?? OTP_DEFAULT_TEMPLATE);
    const from = req.from ?? saved?.from ?? undefined;
    if (
      req.replaceId !== undefined &&
      !(Number.isInteger(req.replaceId) && req.replaceId >= 1 && req.replaceId <= 7)
    )
      throw new ApiError('validation_failed', say('api.otp.replaceId'), 'replace_id');
    const n = normalizeNumber(String(req.to ?? ''), this.opts.defaultRegion);
    if (!n.ok) throw new ApiError('invalid_number', n.why, 'to');
    const now = this.now();
    await this.checkNumberLimit(p.user.id, n.e164, now);

    const id = newId();
    const code = generate(alphabet, length);
    const codeHash = await this.hash(id, code);
    const row: OtpRow = {
      id,
      owner_id: p.user.id,
      to: n.e164,
      code_hash: codeHash,
      length,
      alphabet,
      template,
      from: from ?? null,
      flash: req.flash ? 1 : 0,
      replace_id: req.replaceId ?? null,
      ttl_s: ttlS,
      attempts: 0,
      max_attempts: maxAttempts,
      sends: 1,
      message_id: '',
      created_at: now,
      last_sent_at: now,
      expires_at: now + ttlS * 1000,
      verified_at: null,
    };
    // The row is stored in the transaction that accepts its SMS: both or neither (a crash in
    // between can leave no SMS carrying a code that cannot verify). A refused SMS stores no row.
    row.message_id = await this.deliver(p, row, code, async (trx, m) => {
      row.message_id = m.id;
      await this.repo.insert(row, trx);
    });
    return this.view(row);
  }

  /** Checks a code. Never throws for a wrong code: the answer says what happened. */
  async verify(
    p: Principal,
    id: string,
    code: unknown,
  ): Promise<{ status: VerifyStatus; attempts_left: number }> {
    for (let round = 0; round < 20; round++) {
      const row = await this.repo.byId(String(id), p.user.id);
      if (!row) throw new ApiError('not_found', say('api.otp.noSuchOtp'), 'id');
      const now = this.now();
      const left = Math.max(0, row.max_attempts - row.attempts);
      // A code works once: after a success the OTP answers invalid, like a wrong code.
      if (row.verified_at !== null) return { status: 'invalid', attempts_left: 0 };
      if (now >= Number(row.expires_at)) return { status: 'expired', attempts_left: left };
      if (row.attempts >= row.max_attempts) return { status: 'too_many_attempts', attempts_left: 0 };
      const given = typeof code === 'string' ? code.trim() : typeof code === 'number' ? String(code) : '';
      const expected = Buffer.from(row.code_hash, 'hex');
      const actual = Buffer.from(await this.hash(row.id, caseOf(row.alphabet, given)), 'hex');
      const valid = actual.length === expected.length && timingSafeEqual(actual, expected);
      if (
        await this.attempts.submit({
          id: row.id,
          seenAttempts: row.attempts,
          seenHash: row.code_hash,
          valid,
          now,
        })
      )
        return { status: valid ? 'valid' : 'invalid', attempts_left: valid ? 0 : left - 1 };
      // Another verification or a resend changed the row since it was read: read it again.
    }
    throw new ApiError('busy', say('api.otp.busy'));
  }

  /** A new code for the same OTP, sent after the cooldown; the earlier code stops working. */
  async resend(p: Principal, id: string): Promise<OtpView> {
    const row = await this.repo.byId(String(id), p.user.id);
    if (!row) throw new ApiError('not_found', say('api.otp.noSuchOtp'), 'id');
    if (row.verified_at !== null) throw new ApiError('conflict', say('api.otp.verified'), 'id');
    if (row.attempts >= row.max_attempts) throw new ApiError('conflict', say('api.otp.tooManyWrong'), 'id');
    if (row.sends >= this.opts.maxSends)
      throw new ApiError('rate_limited', say('api.otp.maxSends', { max: this.opts.maxSends }), 'id');
    const now = this.now();
    const cooldownMs = this.opts.cooldownS * 1000;
    const wait = Number(row.last_sent_at) + cooldownMs - now;
    if (wait > 0) throw cooldown(wait);
    await this.checkNumberLimit(p.user.id, row.to, now);
    const code = generate(row.alphabet, row.length);
    const codeHash = await this.hash(row.id, code);
    const expiresAt = now + row.ttl_s * 1000;
    const next: OtpRow = {
      ...row,
      code_hash: codeHash,
      sends: row.sends + 1,
      last_sent_at: now,
      expires_at: expiresAt,
    };
    // The new code replaces the old one in the transaction that accepts its SMS: a resend whose
    // SMS is refused (or not committed) leaves the code the user already has working.
    try {
      next.message_id = await this.deliver(p, next, code, async (trx, m) => {
        const claimed = await this.repo.claimResend(
          row,
          { codeHash, now, expiresAt, cooldownMs, messageId: m.id },
          trx,
        );
        if (!claimed) throw new ResendTaken();
      });
    } catch (err) {
      // Another resend (or a verification) came first: this one sends nothing.
      if (err instanceof ResendTaken) throw cooldown(cooldownMs);
      throw err;
    }
    return this.view(next);
  }

  /** The user's defaults for codes: a template (with {code}) and a sender; null clears one. */
  async settings(
    p: Principal,
    patch?: { template?: string | null | undefined; from?: string | null | undefined },
  ): Promise<{ template: string; from: string | null }> {
    const cur = await this.repo.settings(p.user.id);
    if (patch) {
      const template = patch.template === undefined ? (cur?.template ?? null) : patch.template;
      if (template !== null) checkTemplate(template);
      const from = patch.from === undefined ? (cur?.from ?? null) : patch.from || null;
      await this.repo.saveSettings(p.user.id, { template, from });
      return { template: template ?? OTP_DEFAULT_TEMPLATE, from };
    }
    return { template: cur?.template ?? OTP_DEFAULT_TEMPLATE, from: cur?.from ?? null };
  }

  async get(p: Principal, id: string): Promise<OtpView> {
    const row = await this.repo.byId(String(id), p.user.id);
    if (!row) throw new ApiError('not_found', say('api.otp.noSuchOtp'), 'id');
    return this.view(row);
  }

  /**
   * The OTP log, newest first: the caller's codes (an admin: everyone's, or one user's). Each
   * line is the state view plus its counts; the code and its hash never leave the store.
   */
  async log(
    p: Principal,
    q: { to?: string | undefined; userId?: string | undefined; cursor?: string | undefined; limit: number },
  ): Promise<{ data: OtpLogEntry[]; next_cursor: string | null }> {
    const ownerId = p.user.role === 'admin' ? q.userId : p.user.id;
    let to: string | undefined;
    if (q.to) {
      const n = normalizeNumber(q.to, this.opts.defaultRegion);
      if (!n.ok) throw new ApiError('invalid_number', n.why, 'to');
      to = n.e164;
    }
    let before: { createdAt: number; id: string } | undefined;
    if (q.cursor) {
      const m = /^(\d{1,15})\.([\w-]{1,64})$/.exec(q.cursor);
      if (!m) throw new ApiError('validation_failed', say('api.cursor', { field: 'cursor' }), 'cursor');
      before = { createdAt: Number(m[1]), id: m[2] as string };
    }
    const rows = await this.repo.list({ ownerId, to, before, limit: q.limit });
    const last = rows[rows.length - 1];
    const iso = (ms: number | string) => new Date(Number(ms)).toISOString();
    return {
      data: rows.map((r) => ({
        ...this.view(r),
        owner_id: r.owner_id,
        length: r.length,
        attempts: r.attempts,
        max_attempts: r.max_attempts,
        created_at: iso(r.created_at),
        last_sent_at: iso(r.last_sent_at),
        verified_at: r.verified_at === null ? null : iso(r.verified_at),
      })),
      next_cursor: rows.length === q.limit && last ? `${Number(last.created_at)}.${last.id}` : null,
    };
  }

  private async checkNumberLimit(ownerId: string, to: string, now: number): Promise<void> {
    const sends = await this.repo.sendsSince(ownerId, to, now - 3_600_000);
    if (sends >= this.opts.perNumberPerHour) {
      const e = new ApiError(
        'rate_limited',
        say('api.otp.perHour', { max: this.opts.perNumberPerHour }),
        'to',
        { retry_after_s: 3600 },
      );
      throw e;
    }
  }

  /**
   * Queues the SMS carrying the code; `record` runs in its accepting transaction (not for an SMS
   * the policy refused) and throwing there rolls the SMS back.
   */
  private async deliver(
    p: Principal,
    row: OtpRow,
    code: string,
    record: (trx: Transaction<Database>, message: NewMessage) => Promise<void>,
  ): Promise<string> {
    const text = row.template
      .replaceAll('{code}', code)
      .replaceAll('{ttl}', String(Math.max(1, Math.round(row.ttl_s / 60))));
    const result = await this.messages.send(
      p,
      {
        to: [row.to],
        text,
        from: row.from ?? undefined,
        flash: row.flash === 1,
        replaceId: row.replace_id ?? undefined,
        // The code is worthless after its TTL: so is the SMS carrying it.
        validityMinutes: Math.min(40_320, Math.max(1, Math.ceil(row.ttl_s / 60))),
      },
      undefined,
      {
        category: 'verification',
        within: async (trx, rows) => {
          const m = rows[0];
          if (m && m.status !== 'rejected') await record(trx, m);
        },
      },
    );
    const m = result.messages[0];
    if (!m || !('id' in m) || m.status === 'rejected') {
      // The policy's own code (opted_out, blacklisted, frequency_limited...) with its status.
      const err = m?.error;
      throw new ApiError(
        err && isErrorCode(err.code) ? err.code : 'validation_failed',
        say('api.otp.notSent', { detail: err?.message ?? say('api.otp.refused') }),
        'to',
      );
    }
    return m.id;
  }

  private async hash(id: string, code: string): Promise<string> {
    this.secret ??= this.opts.secret !== undefined ? Promise.resolve(this.opts.secret) : this.repo.secret();
    return createHmac('sha256', await this.secret)
      .update(`${id}:${code}`)
      .digest('hex');
  }

  private view(row: OtpStateRow): OtpView {
    const now = this.now();
    const status =
      row.verified_at !== null
        ? 'verified'
        : row.attempts >= row.max_attempts
          ? 'too_many_attempts'
          : now >= Number(row.expires_at)
            ? 'expired'
            : 'pending';
    return {
      id: row.id,
      to: row.to,
      message_id: row.message_id,
      expires_at: new Date(Number(row.expires_at)).toISOString(),
      attempts_left: Math.max(0, row.max_attempts - row.attempts),
      sends: row.sends,
      resend_after: new Date(Number(row.last_sent_at) + this.opts.cooldownS * 1000).toISOString(),
      status,
    };
  }
}

/** A resend's claim lost to another resend or a verification (rolls its SMS back). */
class ResendTaken extends Error {
  constructor() {
    super('another resend or verification came first');
  }
}

function checkTemplate(template: unknown): string {
  if (
    typeof template !== 'string' ||
    !template.includes('{code}') ||
    template.length > OTP_BOUNDS.templateChars
  )
    throw new ApiError(
      'validation_failed',
      say('api.otp.template', { max: OTP_BOUNDS.templateChars }),
      'template',
    );
  return template;
}

function cooldown(waitMs: number): ApiError {
  const s = Math.ceil(waitMs / 1000);
  return new ApiError('rate_limited', say('api.otp.cooldown', { seconds: s }), 'id', {
    retry_after_s: s,
  });
}

function bounded(v: unknown, [min, max]: readonly [number, number], field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new ApiError('validation_failed', say('api.send.wholeNumber', { field, min, max }), field);
  return v;
}

function alphabetOf(a: string | undefined): string {
  if (a === undefined) return OTP_ALPHABETS.numeric;
  if (a in OTP_ALPHABETS) return OTP_ALPHABETS[a as keyof typeof OTP_ALPHABETS];
  const chars = [...a];
  const [min, max] = OTP_BOUNDS.alphabetChars;
  if (
    chars.length < min ||
    chars.length > max ||
    new Set(chars).size !== chars.length ||
    !chars.every((c) => /^[\x21-\x7e]$/.test(c))
  )
    throw new ApiError('validation_failed', say('api.otp.alphabet', { min, max }), 'alphabet');
  return a;
}

/** Letters-only presets are case-insensitive to type: the code is compared in upper case. */
function caseOf(alphabet: string, code: string): string {
  return alphabet === OTP_ALPHABETS.alphanumeric || alphabet === OTP_ALPHABETS.alpha
    ? code.toUpperCase()
    : code;
}

function generate(alphabet: string, length: number): string {
  const chars = [...alphabet];
  let out = '';
  // randomInt draws without modulo bias.
  for (let i = 0; i < length; i++) out += chars[randomInt(chars.length)];
  return out;
}
