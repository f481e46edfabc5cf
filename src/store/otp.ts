/**
 * One-time passwords (migration 017). Every change that decides something is one conditional
 * UPDATE: a verification counts its attempt and records its result only if nobody counted one
 * since the row was read; a resend claims its send only if the cooldown is over and nobody
 * resent since. Callers read again when an UPDATE matched no row.
 */
import type { Kysely } from 'kysely';
import { randomBytes } from 'node:crypto';
import type { Database, OtpRow } from './schema.js';

export interface AttemptRecord {
  id: string;
  seenAttempts: number;
  seenHash: string;
  valid: boolean;
  now: number;
}

export class OtpRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** The generated HMAC secret (one row, created by whichever node asks first). */
  async secret(): Promise<string> {
    await this.db
      .insertInto('otp_secret')
      .values({ id: 1, secret: randomBytes(32).toString('base64url'), created_at: Date.now() })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    const row = await this.db
      .selectFrom('otp_secret')
      .select('secret')
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    return row.secret;
  }

  /** `db`: the transaction that accepts the code's SMS (services/otp.ts), so both commit together. */
  async insert(row: OtpRow, db: Kysely<Database> = this.db): Promise<void> {
    await db.insertInto('otp_codes').values(row).execute();
  }

  async byId(id: string, ownerId: string): Promise<OtpRow | undefined> {
    return this.db
      .selectFrom('otp_codes')
      .selectAll()
      .where('id', '=', id)
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
  }

  /** Sends to a number by an account since a time (codes last sent since then, all their sends). */
  async sendsSince(ownerId: string, to: string, since: number): Promise<number> {
    const row = await this.db
      .selectFrom('otp_codes')
      .select((eb) => eb.fn.sum<number | string | null>('sends').as('n'))
      .where('owner_id', '=', ownerId)
      .where('to', '=', to)
      .where('created_at', '>', since - 86_400_000)
      .where('last_sent_at', '>', since)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /**
   * Counts one attempt and records its result, if the row is as it was read (`seenAttempts`,
   * `seenHash`), still open and not expired. False when another verification or resend came
   * first. Several in one transaction (group commit: one fsync), each UPDATE on its own terms.
   */
  async recordAttempts(items: AttemptRecord[]): Promise<boolean[]> {
    if (items.length === 1) return [await this.recordAttempt(this.db, items[0] as AttemptRecord)];
    return this.db.transaction().execute(async (trx) => {
      const out: boolean[] = [];
      for (const item of items) out.push(await this.recordAttempt(trx, item));
      return out;
    });
  }

  private async recordAttempt(
    db: Kysely<Database>,
    { id, seenAttempts, seenHash, valid, now }: AttemptRecord,
  ): Promise<boolean> {
    const r = await db
      .updateTable('otp_codes')
      .set((eb) => ({ attempts: eb('attempts', '+', 1), verified_at: valid ? now : null }))
      .where('id', '=', id)
      .where('attempts', '=', seenAttempts)
      .where('code_hash', '=', seenHash)
      .where('verified_at', 'is', null)
      .where('expires_at', '>', now)
      .whereRef('attempts', '<', 'max_attempts')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Claims a resend: new code, new expiry, one more send, the SMS that carries it; false if the
   * cooldown or another resend stands. Run in the transaction that accepts that SMS, so the new
   * code is stored exactly when its SMS is.
   */
  async claimResend(
    row: OtpRow,
    change: { codeHash: string; now: number; expiresAt: number; cooldownMs: number; messageId: string },
    db: Kysely<Database> = this.db,
  ): Promise<boolean> {
    const r = await db
      .updateTable('otp_codes')
      .set({
        code_hash: change.codeHash,
        sends: row.sends + 1,
        last_sent_at: change.now,
        expires_at: change.expiresAt,
        message_id: change.messageId,
      })
      .where('id', '=', row.id)
      .where('sends', '=', row.sends)
      .where('verified_at', 'is', null)
      .where('last_sent_at', '<=', change.now - change.cooldownMs)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async settings(userId: string): Promise<{ template: string | null; from: string | null } | undefined> {
    return this.db
      .selectFrom('otp_settings')
      .select(['template', 'from'])
      .where('user_id', '=', userId)
      .executeTakeFirst();
  }

  async saveSettings(userId: string, v: { template: string | null; from: string | null }): Promise<void> {
    const row = { user_id: userId, template: v.template, from: v.from, updated_at: Date.now() };
    await this.db
      .insertInto('otp_settings')
      .values(row)
      .onConflict((oc) =>
        oc.column('user_id').doUpdateSet({ template: v.template, from: v.from, updated_at: row.updated_at }),
      )
      .execute();
  }

  /**
   * The OTP log, newest first: one account's codes (or every account's for an admin), optionally
   * to one number; `before` is the (created_at, id) of the last row of the previous page.
   * Only the columns the log shows: never `code_hash`. The index on (owner_id, to, created_at)
   * finds one owner's rows (and with `to`, in order); without `to` they are sorted per page,
   * which is fine for codes that live minutes but would want an (owner_id, created_at) index for
   * an account with millions of them kept.
   */
  list(f: {
    ownerId: string | undefined;
    to?: string | undefined;
    before?: { createdAt: number; id: string } | undefined;
    limit: number;
  }) {
    let q = this.db
      .selectFrom('otp_codes')
      .select([
        'id',
        'owner_id',
        'to',
        'length',
        'message_id',
        'attempts',
        'max_attempts',
        'sends',
        'created_at',
        'last_sent_at',
        'expires_at',
        'verified_at',
      ]);
    if (f.ownerId !== undefined) q = q.where('owner_id', '=', f.ownerId);
    if (f.to !== undefined) q = q.where('to', '=', f.to);
    const b = f.before;
    if (b) {
      q = q.where((eb) =>
        eb.or([
          eb('created_at', '<', b.createdAt),
          eb.and([eb('created_at', '=', b.createdAt), eb('id', '<', b.id)]),
        ]),
      );
    }
    return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit).execute();
  }
}
