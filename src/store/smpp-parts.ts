/**
 * Parts of concatenated SMPP submits (migration 020). A part is acknowledged once its row is
 * committed here; the message is built from the group's rows when the last one is in (or
 * refused as incomplete after a timeout), and the rows then name that message, so a part's id
 * keeps leading to it (query_sm, cancel_sm, receipts).
 *
 * Closing a group is a fenced claim with one winner: every write to a group (a part stored, its
 * message built, its refusal) takes the group's lock first (PostgreSQL: a transaction-scoped
 * advisory lock on the key; SQLite has one writer), and closing sets the parts' message_id only
 * where it is still null, in the same transaction that stores the message. A refusal decides on
 * the parts it reads under the lock, so a last part stored a moment before is seen (and the
 * message built instead), and one stored after joins the refused message.
 */
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { Dialect } from './db.js';
import { event } from './rows.js';
import type { Database, NewMessage, SmppPartsTable } from './schema.js';

export type SmppPartRow = SmppPartsTable;

/** Another build or refusal closed the group's parts first: the transaction that threw is rolled back. */
export class PartsTaken extends Error {
  constructor() {
    super('the parts of this message were closed by another build or refusal');
    this.name = 'PartsTaken';
  }
}

/** A group's outcome, decided on the parts still open under the group's lock. */
export interface Closing {
  /** The parts the message closes (all of them must still be open). */
  ids: string[];
  message: NewMessage;
}

export class SmppPartsRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect = 'sqlite',
  ) {}

  /** Serializes the writers of one group until the transaction ends (see the module comment). */
  private async lockGroup(trx: Transaction<Database>, groupKey: string): Promise<void> {
    if (this.dialect !== 'postgres') return;
    await sql`select pg_advisory_xact_lock(hashtextextended(${groupKey}, 0))`.execute(trx);
  }

  /**
   * Stores a part, unless its owner already has `maxOpen` parts waiting for the rest of their
   * message (false). A part identical to one of a message built in the last `resentWithinMs`
   * (same group, position and bytes: the client resent it because our answer was lost) is
   * stored closed, naming that message (`row.message_id` is set); so is a part that comes
   * within `resentWithinMs` after its group was refused as incomplete and is missing from it
   * (too late: it joins the refusal instead of starting a message that would be refused again).
   * The count and the insert are one transaction; on PostgreSQL two nodes may each pass the
   * count at once, which can exceed the limit by the parts in flight, not more.
   */
  async add(row: SmppPartRow, maxOpen: number, resentWithinMs: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await this.lockGroup(trx, row.group_key);
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
      const late = earlier?.message_id ? undefined : await this.refusedWithout(trx, row, resentWithinMs);
      if (earlier?.message_id) {
        row.message_id = earlier.message_id;
      } else if (late) {
        row.message_id = late;
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

  /** The newest message of this group refused as incomplete in the last `withinMs` that lacks this part. */
  private async refusedWithout(
    trx: Transaction<Database>,
    row: SmppPartRow,
    withinMs: number,
  ): Promise<string | undefined> {
    const closed = await trx
      .selectFrom('smpp_parts as p')
      .innerJoin('messages as m', 'm.id', 'p.message_id')
      .select(['p.message_id', 'p.part_seq', 'm.created_at'])
      .where('p.group_key', '=', row.group_key)
      .where('m.error_code', '=', 'parts_missing')
      .where('m.created_at', '>', row.created_at - withinMs)
      .orderBy('m.created_at', 'desc')
      .execute();
    const newest = closed[0]?.message_id;
    if (!newest) return undefined;
    return closed.some((c) => c.message_id === newest && c.part_seq === row.part_seq) ? undefined : newest;
  }

  /** The parts of the group's open message, oldest first. */
  open(groupKey: string): Promise<SmppPartRow[]> {
    return this.openIn(this.db, groupKey);
  }

  private openIn(db: Kysely<Database>, groupKey: string): Promise<SmppPartRow[]> {
    return db
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

  /**
   * Closes the parts for the message being accepted in `trx` (MessageService.send's `within`):
   * the message and its parts commit together. Throws PartsTaken (rolling the message back) when
   * any of them was closed first by another build or a refusal.
   */
  async claim(trx: Transaction<Database>, groupKey: string, ids: string[], messageId: string): Promise<void> {
    await this.lockGroup(trx, groupKey);
    const r = await trx
      .updateTable('smpp_parts')
      .set({ message_id: messageId })
      .where('id', 'in', ids)
      .where('message_id', 'is', null)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== ids.length) throw new PartsTaken();
  }

  /**
   * The parts now belong to `messageId`, a message committed earlier (a build that stopped
   * before closing its parts); returns how many were still open. All or none.
   */
  async link(groupKey: string, ids: string[], messageId: string): Promise<number> {
    if (ids.length === 0) return 0;
    return this.db
      .transaction()
      .execute(async (trx) => {
        await this.claim(trx, groupKey, ids, messageId);
        return ids.length;
      })
      .catch((err: unknown) => {
        if (err instanceof PartsTaken) return 0;
        throw err;
      });
  }

  /**
   * Refuses a group: under its lock, `decide` sees the parts still open and names the message
   * (stored as `rejected`, so the client's receipt and query_sm say so) and the parts it
   * closes, or nothing (the group is complete after all, or not timed out, or closed). The
   * message, its event and the parts' closing are one transaction. True when refused here.
   */
  async refuse(groupKey: string, decide: (open: SmppPartRow[]) => Closing | undefined): Promise<boolean> {
    return this.db
      .transaction()
      .execute(async (trx) => {
        await this.lockGroup(trx, groupKey);
        const open = await this.openIn(trx, groupKey);
        const closing = decide(open);
        if (!closing) return false;
        const { message, ids } = closing;
        await this.claim(trx, groupKey, ids, message.id);
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
      })
      .catch((err: unknown) => {
        if (err instanceof PartsTaken) return false;
        throw err;
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
