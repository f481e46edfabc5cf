/**
 * Receipts owed to SMPP clients. The event fan-out adds rows (see WebhookRepo.fanOut); the SMPP
 * face leases the rows of users bound to it, sends them and deletes each one when the client
 * acknowledges it. A lease that runs out (node gone, no answer) makes the row due again.
 */
import type { Kysely } from 'kysely';
import type { Dialect } from './db.js';
import type { Database } from './schema.js';

export interface OwedReceipt {
  id: number;
  message_id: string;
  status: string;
  from: string | null;
  to: string;
  text: string;
  error_code: string | null;
  created_at: number;
  final_at: number | null;
}

export class SmppOutboxRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  /** Leases up to `limit` due receipts of one user, oldest first, with what the receipt text needs. */
  async claim(ownerId: string, now: number, leaseUntil: number, limit: number): Promise<OwedReceipt[]> {
    return this.db.transaction().execute(async (trx) => {
      const due = await trx
        .selectFrom('smpp_outbox')
        .select('id')
        .where('owner_id', '=', ownerId)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
        .orderBy('id')
        .limit(limit)
        .$if(this.dialect === 'postgres', (q) => q.forUpdate().skipLocked())
        .execute();
      if (due.length === 0) return [];
      const ids = due.map((d) => d.id);
      await trx.updateTable('smpp_outbox').set({ lease_until: leaseUntil }).where('id', 'in', ids).execute();
      return trx
        .selectFrom('smpp_outbox as o')
        .innerJoin('messages as m', 'm.id', 'o.message_id')
        .select([
          'o.id',
          'o.message_id',
          'm.status',
          'm.from',
          'm.to',
          'm.text',
          'm.error_code',
          'm.created_at',
          'm.final_at',
        ])
        .where('o.id', 'in', ids)
        .orderBy('o.id')
        .execute();
    });
  }

  /** Acknowledged by the client: gone for good. */
  async done(ids: number[]): Promise<void> {
    if (ids.length) await this.db.deleteFrom('smpp_outbox').where('id', 'in', ids).execute();
  }

  /** Not acknowledged: due again at `at` (a refusal waits a little; a dropped bind does not). */
  async release(ids: number[], at: number | null = null): Promise<void> {
    if (ids.length)
      await this.db.updateTable('smpp_outbox').set({ lease_until: at }).where('id', 'in', ids).execute();
  }

  /** Receipts nobody bound to collect for this long are dropped (SMSCs keep them for days, not forever). */
  async purge(olderThan: number): Promise<number> {
    const r = await this.db.deleteFrom('smpp_outbox').where('created_at', '<', olderThan).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Users with receipts waiting: the face looks for them among its binds. */
  async owners(): Promise<string[]> {
    const rows = await this.db.selectFrom('smpp_outbox').select('owner_id').distinct().execute();
    return rows.map((r) => r.owner_id);
  }
}
