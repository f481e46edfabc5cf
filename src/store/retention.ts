/**
 * Retention: old rows deleted in small batches, one short transaction each, so the writer is
 * never held for long (a batch of 500 messages with their parts and events: a few ms on SQLite).
 * Only final messages are deleted (a message scheduled long ago and still waiting stays), with
 * their parts and events; inbound messages; finished webhook deliveries and their attempt log.
 *
 * Claimed like queue work: each batch locks the rows it reads (SKIP LOCKED on PostgreSQL), so
 * nodes purging at the same time take disjoint batches and each row is deleted by one of them.
 */
import type { Kysely } from 'kysely';
import { FINAL_STATUSES } from '../core/message.js';
import type { Capabilities } from './db.js';
import type { Database } from './schema.js';
import { idFloor } from './stats.js';
import type { Period } from '../policy/periods.js';
import { PERIODS, periodStart } from '../policy/periods.js';

export class RetentionRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly caps: Pick<Capabilities, 'claimLock' | 'concurrentWriters'>,
  ) {}

  /**
   * Deletes up to `limit` final messages created before `before`; returns how many. Where the
   * frequency caps count the stored messages (one writer: SQLite, policy/frequency.ts), the
   * messages of every capped period still current are kept whatever the retention says, or a
   * month cap would count fewer than were sent once retention ran; PostgreSQL's caps keep
   * counter rows of their own (frequency_state, 32 days).
   */
  async messages(before: number, limit: number, now = Date.now()): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      if (!this.caps.concurrentWriters) {
        const periods = await trx.selectFrom('frequency_caps').select('period').distinct().execute();
        const longest = periods
          .map((p) => p.period)
          .reduce<Period | undefined>(
            (a, p) => (a === undefined || PERIODS.indexOf(p) > PERIODS.indexOf(a) ? p : a),
            undefined,
          );
        // A minute early, as the caps read (an id can be made a little before its created_at).
        if (longest) before = Math.min(before, periodStart(longest, now) - 60_000);
      }
      // Ids are UUIDv7: "created before" is an id range on the primary key.
      const rows = await this.caps
        .claimLock(
          trx
            .selectFrom('messages')
            .select('id')
            .where('id', '<', idFloor(before))
            .where('status', 'in', [...FINAL_STATUSES, 'sent'])
            .where('final_at', 'is not', null)
            .orderBy('id')
            .limit(limit),
        )
        .execute();
      if (rows.length === 0) return 0;
      const ids = rows.map((r) => r.id);
      await trx.deleteFrom('message_parts').where('message_id', 'in', ids).execute();
      await trx.deleteFrom('message_events').where('message_id', 'in', ids).execute();
      await trx.deleteFrom('messages').where('id', 'in', ids).execute();
      return ids.length;
    });
  }

  async inbound(before: number, limit: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const rows = await this.caps
        .claimLock(
          trx
            .selectFrom('inbound_messages')
            .select('id')
            .where('received_at', '<', before)
            .orderBy('received_at')
            .limit(limit),
        )
        .execute();
      if (rows.length === 0) return 0;
      await trx
        .deleteFrom('inbound_messages')
        .where(
          'id',
          'in',
          rows.map((r) => r.id),
        )
        .execute();
      return rows.length;
    });
  }

  /** Webhook deliveries that are finished (delivered or given up), with their attempts. */
  async webhookDeliveries(before: number, limit: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const rows = await this.caps
        .claimLock(
          trx
            .selectFrom('webhook_outbox')
            .select('id')
            .where('created_at', '<', before)
            .where('status', '!=', 'pending')
            .orderBy('id')
            .limit(limit),
        )
        .execute();
      if (rows.length === 0) return 0;
      const ids = rows.map((r) => r.id);
      await trx.deleteFrom('webhook_attempts').where('outbox_id', 'in', ids).execute();
      await trx.deleteFrom('webhook_outbox').where('id', 'in', ids).execute();
      return ids.length;
    });
  }

  async idempotencyKeys(before: number, limit: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const rows = await this.caps
        .claimLock(
          trx
            .selectFrom('idempotency_keys')
            .select(['user_id', 'key'])
            .where('created_at', '<', before)
            .limit(limit),
        )
        .execute();
      for (const r of rows) {
        await trx
          .deleteFrom('idempotency_keys')
          .where('user_id', '=', r.user_id)
          .where('key', '=', r.key)
          .execute();
      }
      return rows.length;
    });
  }

  async sessions(now: number, limit: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const rows = await this.caps
        .claimLock(
          trx.selectFrom('sessions').select('token_hash').where('expires_at', '<=', now).limit(limit),
        )
        .execute();
      if (rows.length === 0) return 0;
      await trx
        .deleteFrom('sessions')
        .where(
          'token_hash',
          'in',
          rows.map((r) => r.token_hash),
        )
        .execute();
      return rows.length;
    });
  }
}
