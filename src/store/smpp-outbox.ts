/**
 * deliver_sm owed to SMPP clients: receipts (added by the event fan-out, see WebhookRepo.fanOut)
 * and inbound messages (added when they are stored). The SMPP face leases the rows of users
 * bound to it, sends them and deletes each one when the client acknowledges it. A lease that
 * runs out (node gone, no answer) makes the row due again.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Capabilities, Dialect } from './db.js';
import type { Database, InboundRow } from './schema.js';

export interface OwedReceipt {
  message_id: string;
  status: string;
  from: string | null;
  to: string;
  text: string;
  error_code: string | null;
  created_at: number;
  final_at: number | null;
  /**
   * A concatenated SMPP submit: the ids of its parts that asked for a receipt (each part was
   * answered with its own id). One receipt goes out per id; empty: one, with the message id.
   */
  part_ids?: string[];
}

/** `lease`: the row's lease_until as claimed, which fences its release. */
export type Owed =
  | { id: number; lease: number; kind: 'receipt'; receipt: OwedReceipt }
  | { id: number; lease: number; kind: 'mo'; mo: InboundRow };

export class SmppOutboxRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    /** Lease times by the database's clock (the one every node shares); none given: this process's. */
    private readonly caps?: Pick<Capabilities, 'now'>,
  ) {}

  /** Leases up to `limit` due rows of one user, oldest first, with what each deliver_sm needs. */
  async claim(ownerId: string, now: number, leaseUntil: number, limit: number): Promise<Owed[]> {
    // `now` only fixes the lease length; expiry is judged by the database's clock.
    const leaseMs = leaseUntil - now;
    const clock = this.caps ? this.caps.now() : sql<number>`${now}`;
    return this.db.transaction().execute(async (trx) => {
      const due = await trx
        .selectFrom('smpp_outbox')
        .select(['id', 'kind', 'ref_id'])
        .where('owner_id', '=', ownerId)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', clock)]))
        .orderBy('id')
        .limit(limit)
        .$if(this.dialect === 'postgres', (q) => q.forUpdate().skipLocked())
        .execute();
      if (due.length === 0) return [];
      const leased = await trx
        .updateTable('smpp_outbox')
        .set({ lease_until: sql<number>`${clock} + ${leaseMs}` })
        .where(
          'id',
          'in',
          due.map((d) => d.id),
        )
        .returning(['id', 'lease_until'])
        .execute();
      const leaseOf = new Map(leased.map((r) => [r.id, Number(r.lease_until)]));
      const refs = (kind: string) => due.filter((d) => d.kind === kind).map((d) => d.ref_id);
      const [messages, inbound] = await Promise.all([
        refs('receipt').length
          ? trx
              .selectFrom('messages')
              .select([
                'id as message_id',
                'status',
                'from',
                'to',
                'text',
                'error_code',
                'created_at',
                'final_at',
              ])
              .where('id', 'in', refs('receipt'))
              .execute()
          : [],
        refs('mo').length
          ? trx.selectFrom('inbound_messages').selectAll().where('id', 'in', refs('mo')).execute()
          : [],
      ]);
      const byMessage = new Map<string, OwedReceipt>(messages.map((m) => [m.message_id, m]));
      if (messages.length > 0) {
        const parts = await trx
          .selectFrom('smpp_parts')
          .select(['id', 'message_id'])
          .where(
            'message_id',
            'in',
            messages.map((m) => m.message_id),
          )
          .where(sql<boolean>`(registered & 3) <> 0`)
          .orderBy('part_seq')
          .orderBy('id')
          .execute();
        for (const p of parts) {
          const m = p.message_id ? byMessage.get(p.message_id) : undefined;
          if (m) (m.part_ids ??= []).push(p.id);
        }
      }
      const byInbound = new Map(inbound.map((m) => [m.id, m]));
      const out: Owed[] = [];
      const gone: number[] = [];
      for (const d of due) {
        const receipt = d.kind === 'receipt' ? byMessage.get(d.ref_id) : undefined;
        const mo = d.kind === 'mo' ? byInbound.get(d.ref_id) : undefined;
        const lease = leaseOf.get(d.id) ?? 0;
        if (receipt) out.push({ id: d.id, lease, kind: 'receipt', receipt });
        else if (mo) out.push({ id: d.id, lease, kind: 'mo', mo });
        else gone.push(d.id);
      }
      // Their message was deleted: nothing to send, so they must not come back every lease.
      if (gone.length) await trx.deleteFrom('smpp_outbox').where('id', 'in', gone).execute();
      return out;
    });
  }

  /** An inbound message to hand to the user's SMPP receiver. */
  async enqueueMo(
    ownerId: string,
    inboundId: string,
    now: number,
    db: Kysely<Database> = this.db,
  ): Promise<void> {
    await db
      .insertInto('smpp_outbox')
      .values({ owner_id: ownerId, kind: 'mo', ref_id: inboundId, created_at: now })
      .execute();
  }

  /** Acknowledged by the client: gone for good. */
  async done(ids: number[]): Promise<void> {
    if (ids.length) await this.db.deleteFrom('smpp_outbox').where('id', 'in', ids).execute();
  }

  /**
   * Not acknowledged: due again at `at` (a refusal waits a little; a dropped bind does not).
   * Only under the lease each row was claimed with: a row whose lease ran out and another
   * claim took stays with that claim (its release would have it sent a third time).
   */
  async release(rows: readonly { id: number; lease: number }[], at: number | null = null): Promise<void> {
    for (let i = 0; i < rows.length; i += 200) {
      const chunk = rows.slice(i, i + 200);
      await this.db
        .updateTable('smpp_outbox')
        .set({ lease_until: at })
        .where((eb) =>
          eb.or(chunk.map((r) => eb.and([eb('id', '=', r.id), eb('lease_until', '=', r.lease)]))),
        )
        .execute();
    }
  }

  /** Rows nobody bound to collect for this long are dropped (SMSCs keep them for days, not forever). */
  async purge(olderThan: number): Promise<number> {
    const r = await this.db.deleteFrom('smpp_outbox').where('created_at', '<', olderThan).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
