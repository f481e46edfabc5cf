/**
 * Parts of concatenated SMPP submits (migration 020). A part is acknowledged once its row is
 * committed here; the message is built from the group's rows when the last one is in (or
 * refused as incomplete after a timeout), and the rows then name that message, so a part's id
 * keeps leading to it (query_sm, cancel_sm, receipts).
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { event } from './rows.js';
import type { Database, NewMessage, SmppPartsTable } from './schema.js';

export type SmppPartRow = SmppPartsTable;

export class SmppPartsRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Stores a part, unless its owner already has `maxOpen` parts waiting for the rest of their
   * message (false). A part identical to one of a message built in the last `resentWithinMs`
   * (same group, position and bytes: the client resent it because our answer was lost) is
   * stored closed, naming that message (`row.message_id` is set). The count and the insert are
   * one transaction; on PostgreSQL two nodes may each pass the count at once, which can exceed
   * the limit by the parts in flight, not more.
   */
  async add(row: SmppPartRow, maxOpen: number, resentWithinMs: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const earlier = await trx
        .selectFrom('smpp_parts')
        .select('message_id')
        .where('group_key', '=', row.group_key)
        .where('part_seq', '=', row.part_seq)
        .where('payload', '=', row.payload)
        .where('message_id', 'is not', null)
        .where('created_at', '>', row.created_at - resentWithinMs)
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
      if (earlier?.message_id) {
        row.message_id = earlier.message_id;
      } else {
        const open = await trx
          .selectFrom('smpp_parts')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('owner_id', '=', row.owner_id)
          .where('message_id', 'is', null)
          .executeTakeFirstOrThrow();
        if (Number(open.n) >= maxOpen) return false;
      }
      await trx.insertInto('smpp_parts').values(row).execute();
      return true;
    });
  }

  /** The parts of the group's open message, oldest first. */
  open(groupKey: string): Promise<SmppPartRow[]> {
    return this.db
      .selectFrom('smpp_parts')
      .selectAll()
      .where('group_key', '=', groupKey)
      .where('message_id', 'is', null)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  /** Groups with an open message: their key, owner and when their first part came. */
  async openGroups(limit: number): Promise<{ group_key: string; owner_id: string; first_at: number }[]> {
    const rows = await this.db
      .selectFrom('smpp_parts')
      .select(['group_key', 'owner_id', (eb) => eb.fn.min<number>('created_at').as('first_at')])
      .where('message_id', 'is', null)
      .groupBy(['group_key', 'owner_id'])
      .orderBy(sql`min(created_at)`)
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ...r, first_at: Number(r.first_at) }));
  }

  /** The parts now belong to `messageId`; returns how many were still open. */
  async link(ids: string[], messageId: string): Promise<number> {
    if (ids.length === 0) return 0;
    const r = await this.db
      .updateTable('smpp_parts')
      .set({ message_id: messageId })
      .where('id', 'in', ids)
      .where('message_id', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /**
   * A message whose parts never all arrived: stored as `rejected` (so the client's receipt
   * and query_sm say so) in the same transaction that closes its parts. Nothing happens when
   * another node closed them first.
   */
  async reject(message: NewMessage, ids: string[]): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('smpp_parts')
        .set({ message_id: message.id })
        .where('id', 'in', ids)
        .where('message_id', 'is', null)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== ids.length) {
        // Another node closed some of them: undo ours, it owns the outcome.
        await trx
          .updateTable('smpp_parts')
          .set({ message_id: null })
          .where('message_id', '=', message.id)
          .execute();
        return false;
      }
      await trx.insertInto('messages').values(message).execute();
      await trx
        .insertInto('message_events')
        .values(
          event(
            message.id,
            message.owner_id,
            message.status,
            message.error_code ?? null,
            message.error_message ?? null,
            null,
            message.created_at,
          ),
        )
        .execute();
      return true;
    });
  }

  /** The part with this id of this owner, open or closed. */
  byId(id: string, ownerId: string): Promise<SmppPartRow | undefined> {
    return this.db
      .selectFrom('smpp_parts')
      .selectAll()
      .where('id', '=', id)
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
  }

  /** The parts of these messages that asked for a receipt (registered_delivery), oldest first. */
  receiptParts(
    messageIds: string[],
  ): Promise<{ id: string; message_id: string | null; registered: number }[]> {
    if (messageIds.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('smpp_parts')
      .select(['id', 'message_id', 'registered'])
      .where('message_id', 'in', messageIds)
      .orderBy('part_seq')
      .orderBy('id')
      .execute();
  }

  /** Closed parts older than this are forgotten (their message's receipts are long sent). */
  async purge(olderThan: number): Promise<number> {
    const r = await this.db
      .deleteFrom('smpp_parts')
      .where('created_at', '<', olderThan)
      .where('message_id', 'is not', null)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
