/**
 * Templates and sender signatures with their review, and the audit of every change. Each write
 * and its audit row commit together.
 */
import type { Kysely, Transaction } from 'kysely';
import { newId } from './ids.js';
import { OwnerCache } from './owner-cache.js';
import type { Database, PolicyAuditRow, TemplateRow } from './schema.js';

export type TemplateKind = TemplateRow['kind'];

export interface AuditEntry {
  ownerId: string;
  kind: PolicyAuditRow['subject_kind'];
  subjectId: string;
  actorId: string | null;
  action: string;
  before: string | null;
  after: string | null;
  reason?: string | null | undefined;
  at: number;
}

export async function audit(trx: Kysely<Database> | Transaction<Database>, e: AuditEntry): Promise<void> {
  await trx
    .insertInto('policy_audit')
    .values({
      owner_id: e.ownerId,
      subject_kind: e.kind,
      subject_id: e.subjectId,
      actor_id: e.actorId,
      action: e.action,
      before_status: e.before,
      after_status: e.after,
      reason: e.reason ?? null,
      created_at: e.at,
    })
    .execute();
}

/** What `forSending` keeps of an owner: its signature, and its templates as they were asked for. */
interface SendEntry {
  signature: { approved: TemplateRow | undefined; any: boolean };
  templates: Map<string, TemplateRow | undefined>;
}
const MAX_TEMPLATES = 10_000;
const sendCache = new OwnerCache<SendEntry>();

/** Forgets what `forSending` keeps of an owner (every template or signature write calls it). */
export function forgetTemplates(ownerId?: string): void {
  sendCache.forget(ownerId);
}

export class TemplateRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async create(
    row: Pick<TemplateRow, 'owner_id' | 'kind' | 'name' | 'text' | 'category' | 'placement' | 'variables'>,
    actorId: string,
  ): Promise<TemplateRow> {
    const now = Date.now();
    const full: TemplateRow = {
      ...row,
      id: newId(),
      status: 'pending',
      reason: null,
      created_at: now,
      updated_at: now,
      decided_at: null,
      decided_by: null,
    };
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('templates').values(full).execute();
      await audit(trx, {
        ownerId: row.owner_id,
        kind: row.kind,
        subjectId: full.id,
        actorId,
        action: 'submitted',
        before: null,
        after: 'pending',
        at: now,
      });
    });
    forgetTemplates(row.owner_id);
    return full;
  }

  count(ownerId: string, kind: TemplateKind): Promise<number> {
    return this.db
      .selectFrom('templates')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('owner_id', '=', ownerId)
      .where('kind', '=', kind)
      .executeTakeFirstOrThrow()
      .then((r) => Number(r.n));
  }

  byId(kind: TemplateKind, id: string, ownerId?: string): Promise<TemplateRow | undefined> {
    let q = this.db.selectFrom('templates').selectAll().where('id', '=', id).where('kind', '=', kind);
    if (ownerId) q = q.where('owner_id', '=', ownerId);
    return q.executeTakeFirst();
  }

  list(
    kind: TemplateKind,
    f: {
      ownerId?: string | undefined;
      status?: string | undefined;
      limit: number;
      before?: string | undefined;
    },
  ): Promise<TemplateRow[]> {
    let q = this.db.selectFrom('templates').selectAll().where('kind', '=', kind);
    if (f.ownerId) q = q.where('owner_id', '=', f.ownerId);
    if (f.status) q = q.where('status', '=', f.status as TemplateRow['status']);
    if (f.before) q = q.where('id', '<', f.before);
    return q.orderBy('id', 'desc').limit(f.limit).execute();
  }

  /**
   * Changes the text (and what goes with it); an edit of any template goes (back) to review.
   * Fenced on the row's `updated_at` as read, so two concurrent edits cannot both pass unseen.
   */
  async edit(
    current: TemplateRow,
    patch: Partial<Pick<TemplateRow, 'name' | 'text' | 'category' | 'placement' | 'variables'>>,
    actorId: string,
  ): Promise<TemplateRow | undefined> {
    const now = Math.max(Date.now(), current.updated_at + 1);
    const out = await this.db.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('templates')
        .set({
          ...patch,
          status: 'pending',
          reason: null,
          decided_at: null,
          decided_by: null,
          updated_at: now,
        })
        .where('id', '=', current.id)
        .where('updated_at', '=', current.updated_at)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return undefined;
      await audit(trx, {
        ownerId: current.owner_id,
        kind: current.kind,
        subjectId: current.id,
        actorId,
        action: 'edited',
        before: current.status,
        after: 'pending',
        at: now,
      });
      return trx.selectFrom('templates').selectAll().where('id', '=', current.id).executeTakeFirst();
    });
    forgetTemplates(current.owner_id);
    return out;
  }

  /** An admin's decision on a pending item; undefined when it is not pending (any more). */
  async decide(
    kind: TemplateKind,
    id: string,
    decision: 'approved' | 'rejected',
    actorId: string,
    reason: string | null,
  ): Promise<TemplateRow | undefined> {
    const now = Date.now();
    const out = await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('templates')
        .selectAll()
        .where('id', '=', id)
        .where('kind', '=', kind)
        .executeTakeFirst();
      if (!row || row.status !== 'pending') return undefined;
      const res = await trx
        .updateTable('templates')
        .set({
          status: decision,
          reason,
          decided_at: now,
          decided_by: actorId,
          updated_at: Math.max(now, row.updated_at + 1),
        })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .where('updated_at', '=', row.updated_at)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return undefined;
      await audit(trx, {
        ownerId: row.owner_id,
        kind,
        subjectId: id,
        actorId,
        action: decision === 'approved' ? 'approved' : 'rejected',
        before: 'pending',
        after: decision,
        reason,
        at: now,
      });
      return trx.selectFrom('templates').selectAll().where('id', '=', id).executeTakeFirst();
    });
    if (out) forgetTemplates(out.owner_id);
    return out;
  }

  async remove(row: TemplateRow, actorId: string): Promise<void> {
    const now = Date.now();
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('templates').where('id', '=', row.id).execute();
      await audit(trx, {
        ownerId: row.owner_id,
        kind: row.kind,
        subjectId: row.id,
        actorId,
        action: 'deleted',
        before: row.status,
        after: null,
        at: now,
      });
    });
    forgetTemplates(row.owner_id);
  }

  history(subjectId: string): Promise<PolicyAuditRow[]> {
    return this.db
      .selectFrom('policy_audit')
      .selectAll()
      .where('subject_id', '=', subjectId)
      .orderBy('id')
      .limit(1000)
      .execute();
  }

  /**
   * `byId('template', id, owner)` and `signatureOf(owner)` for sending, cached per owner for
   * 2 s: resolving a template per request (two Kysely queries) cost 215 µs of CPU a message
   * for one-recipient requests, 5x accepting the message (`SIZE=64 npx tsx bench/policy-cpu.ts`,
   * load 12). A change on this node applies to every send that starts after it commits (every
   * write forgets the owner, and a read in flight across a forget is not stored: OwnerCache);
   * one made on another node within 2 s, as for the policy settings (policy/settings.ts).
   */
  async forSending(
    ownerId: string,
    templateId: string,
  ): Promise<{
    template: TemplateRow | undefined;
    signature: { approved: TemplateRow | undefined; any: boolean };
  }> {
    let e = sendCache.get(ownerId);
    if (!e) {
      const stamp = sendCache.stamp();
      e = { signature: await this.signatureOf(ownerId), templates: new Map() };
      sendCache.set(ownerId, e, stamp);
    }
    if (e.templates.has(templateId)) return { template: e.templates.get(templateId), signature: e.signature };
    const stamp = sendCache.stamp();
    const template = await this.byId('template', templateId, ownerId);
    // Kept only if no write forgot meanwhile (the entry itself is then no longer cached either).
    if (stamp === sendCache.stamp() && e.templates.size < MAX_TEMPLATES)
      e.templates.set(templateId, template);
    return { template, signature: e.signature };
  }

  /** The signature a user's template messages carry: the newest approved one. */
  async signatureOf(ownerId: string): Promise<{ approved: TemplateRow | undefined; any: boolean }> {
    const rows = await this.db
      .selectFrom('templates')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .where('kind', '=', 'signature')
      .orderBy('id', 'desc')
      .limit(200)
      .execute();
    const approved = rows
      .filter((r) => r.status === 'approved')
      .sort((a, b) => (b.decided_at ?? 0) - (a.decided_at ?? 0))[0];
    return { approved, any: rows.length > 0 };
  }
}
