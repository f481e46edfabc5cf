/** Inbound messages, keyword rules, contacts (tags) and opt-outs. */
import { containsPattern } from '../core/search.js';
import { foldedContains } from './search.js';
import type { ExpressionBuilder, Kysely } from 'kysely';
import type { Database, InboundRow, KeywordRuleRow } from './schema.js';
import { newId } from './ids.js';

export class InboundRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** `db`: a transaction that commits the message with what is owed for it (delivery/inbound.ts). */
  async insert(
    row: Omit<InboundRow, 'id' | 'created_at' | 'processed_at'>,
    db: Kysely<Database> = this.db,
  ): Promise<InboundRow> {
    const full: InboundRow = { ...row, id: newId(), created_at: Date.now(), processed_at: null };
    await db.insertInto('inbound_messages').values(full).execute();
    return full;
  }

  /**
   * Records that the rules ran, only under the claim they ran under (`claim`'s token): a node
   * whose claim ran out and was taken over changes nothing (false), the new holder finishes.
   */
  async markProcessed(id: string, claim: number, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('inbound_messages')
      .set({ processed_at: at })
      .where('id', '=', id)
      .where('processed_at', '=', claim)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Whether this claim still holds the message (nobody took it over). `db` may be a transaction:
   * on PostgreSQL the no-op UPDATE locks the row until its commit, so a takeover waits for the
   * writes made under the claim and then finds them done.
   */
  async holds(id: string, claim: number, db: Kysely<Database> = this.db): Promise<boolean> {
    const r = await db
      .updateTable('inbound_messages')
      .set((eb) => ({ processed_at: eb.ref('processed_at') }))
      .where('id', '=', id)
      .where('processed_at', '=', claim)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Takes a message's rules for this node: `processed_at` holds the claim's end, negated, until
   * the rules have run (then the time they ran). One conditional UPDATE, so of two nodes (a live
   * receive and another node's resume at its start) exactly one runs the rules; a claim whose
   * node died runs out and the message is resumed again. Returns the claim's token (the value
   * stored), which fences what is done under it (`holds`, `markProcessed`); undefined when
   * another claim holds the message or it was processed. A takeover comes after the earlier
   * claim ran out, so its token is always another one.
   */
  async claim(id: string, now: number, leaseMs: number): Promise<number | undefined> {
    const token = -(now + leaseMs);
    const r = await this.db
      .updateTable('inbound_messages')
      .set({ processed_at: token })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('processed_at', 'is', null), unclaimed(eb, now)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1 ? token : undefined;
  }

  /** Drops every claim: one process owns the database (SQLite), so any claim is a dead run's. */
  async releaseClaims(): Promise<void> {
    await this.db
      .updateTable('inbound_messages')
      .set({ processed_at: null })
      .where('processed_at', '<', 0)
      .execute();
  }

  /** Messages stored whose rules never ran (the gateway stopped in between), oldest first. */
  unprocessed(limit: number, now = Date.now()): Promise<InboundRow[]> {
    return this.db
      .selectFrom('inbound_messages')
      .selectAll()
      .where((eb) => eb.or([eb('processed_at', 'is', null), unclaimed(eb, now)]))
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  async setKeyword(id: string, keyword: string): Promise<void> {
    await this.db.updateTable('inbound_messages').set({ keyword }).where('id', '=', id).execute();
  }

  byId(id: string, ownerId?: string): Promise<InboundRow | undefined> {
    let q = this.db.selectFrom('inbound_messages').selectAll().where('id', '=', id);
    if (ownerId) q = q.where('owner_id', '=', ownerId);
    return q.executeTakeFirst();
  }

  list(f: {
    ownerId?: string | undefined;
    from?: string | undefined;
    /** The sender's number contains these digits (a partial number), or is `fromOr`. */
    fromContains?: string | undefined;
    fromOr?: string | undefined;
    /** Text contains, case folded in every script. */
    textContains?: string | undefined;
    before?: string | undefined;
    limit: number;
  }): Promise<InboundRow[]> {
    let q = this.db.selectFrom('inbound_messages').selectAll();
    if (f.ownerId) q = q.where('owner_id', '=', f.ownerId);
    if (f.from) q = q.where('from', '=', f.from);
    const fromContains = f.fromContains;
    if (fromContains !== undefined) {
      const or = f.fromOr;
      q = q.where((eb) =>
        or !== undefined
          ? eb.or([eb('from', 'like', containsPattern(fromContains)), eb('from', '=', or)])
          : eb('from', 'like', containsPattern(fromContains)),
      );
    }
    if (f.textContains) q = q.where(foldedContains('text', f.textContains));
    if (f.before) q = q.where('id', '<', f.before);
    return q.orderBy('id', 'desc').limit(f.limit).execute();
  }

  /**
   * Who last wrote to this number through this channel, and from which sender id: a reply on a
   * shared SIM belongs to them, and was addressed to that sender id.
   */
  async lastSenderTo(
    channelId: string,
    number: string,
  ): Promise<{ owner_id: string; from: string | null } | undefined> {
    return this.db
      .selectFrom('messages')
      .select(['owner_id', 'from'])
      .where('to', '=', number)
      .where('channel_id', '=', channelId)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
  }
}

export class KeywordRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async create(r: Omit<KeywordRuleRow, 'id' | 'created_at'>): Promise<KeywordRuleRow> {
    const row: KeywordRuleRow = { ...r, id: newId(), created_at: Date.now() };
    await this.db.insertInto('keyword_rules').values(row).execute();
    return row;
  }

  forOwner(ownerId: string): Promise<KeywordRuleRow[]> {
    return this.db
      .selectFrom('keyword_rules')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .orderBy('priority')
      .orderBy('created_at')
      .execute();
  }

  byId(id: string, ownerId: string): Promise<KeywordRuleRow | undefined> {
    return this.db
      .selectFrom('keyword_rules')
      .selectAll()
      .where('id', '=', id)
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
  }

  async update(
    id: string,
    ownerId: string,
    patch: Partial<Omit<KeywordRuleRow, 'id' | 'owner_id' | 'created_at'>>,
  ): Promise<KeywordRuleRow | undefined> {
    if (Object.keys(patch).length > 0)
      await this.db
        .updateTable('keyword_rules')
        .set(patch)
        .where('id', '=', id)
        .where('owner_id', '=', ownerId)
        .execute();
    return this.byId(id, ownerId);
  }

  async delete(id: string, ownerId: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('keyword_rules')
      .where('id', '=', id)
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }
}

export class ContactRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async tag(ownerId: string, number: string, tag: string): Promise<string[]> {
    const tags = new Set(await this.get(ownerId, number));
    tags.add(tag);
    const value = JSON.stringify([...tags].sort());
    await this.db
      .insertInto('contacts')
      .values({ owner_id: ownerId, number, tags: value, updated_at: Date.now() })
      .onConflict((oc) =>
        oc.columns(['owner_id', 'number']).doUpdateSet({ tags: value, updated_at: Date.now() }),
      )
      .execute();
    return [...tags];
  }

  async get(ownerId: string, number: string): Promise<string[]> {
    const row = await this.db
      .selectFrom('contacts')
      .select('tags')
      .where('owner_id', '=', ownerId)
      .where('number', '=', number)
      .executeTakeFirst();
    return row ? (JSON.parse(row.tags) as string[]) : [];
  }
}

export class OptOutRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async add(ownerId: string, number: string, keyword: string): Promise<void> {
    await this.db
      .insertInto('opt_outs')
      .values({ owner_id: ownerId, number, keyword, created_at: Date.now() })
      .onConflict((oc) => oc.columns(['owner_id', 'number']).doNothing())
      .execute();
  }

  async remove(ownerId: string, number: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('opt_outs')
      .where('owner_id', '=', ownerId)
      .where('number', '=', number)
      .executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  list(ownerId: string | undefined, limit: number) {
    let q = this.db.selectFrom('opt_outs').selectAll();
    if (ownerId) q = q.where('owner_id', '=', ownerId);
    return q.orderBy('created_at', 'desc').limit(limit).execute();
  }

  /** Which of these numbers opted out from this owner. */
  async among(ownerId: string, numbers: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < numbers.length; i += 500) {
      const rows = await this.db
        .selectFrom('opt_outs')
        .select('number')
        .where('owner_id', '=', ownerId)
        .where('number', 'in', numbers.slice(i, i + 500))
        .execute();
      for (const r of rows) out.add(r.number);
    }
    return out;
  }
}

/** A claim (negative `processed_at`) that ran out: its node stopped before the rules ran. */
function unclaimed(eb: ExpressionBuilder<Database, 'inbound_messages'>, now: number) {
  return eb.and([eb('processed_at', '<', 0), eb('processed_at', '>', -now)]);
}
