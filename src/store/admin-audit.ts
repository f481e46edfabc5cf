/** The admin audit log (migration 022): appended by the HTTP face, read newest first in pages. */
import type { Kysely, Selectable } from 'kysely';
import { newId } from './ids.js';
import type { Database } from './schema.js';

export interface AdminAuditTable {
  id: string;
  created_at: number;
  actor_id: string;
  actor_login: string;
  action: string;
  subject_kind: string;
  subject_id: string | null;
  status: number;
  details: string | null;
}
export type AdminAuditRow = Selectable<AdminAuditTable>;

type AuditDb = Database & { admin_audit: AdminAuditTable };

export class AdminAuditRepo {
  private readonly db: Kysely<AuditDb>;
  constructor(db: Kysely<Database>) {
    this.db = db as unknown as Kysely<AuditDb>;
  }

  async append(r: Omit<AdminAuditRow, 'id' | 'created_at'>): Promise<AdminAuditRow> {
    const row: AdminAuditRow = { ...r, id: newId(), created_at: Date.now() };
    await this.db.insertInto('admin_audit').values(row).execute();
    return row;
  }

  /** Newest first; `before`: the last id of the previous page. */
  page(opts: {
    limit: number;
    before?: string | undefined;
    actorId?: string | undefined;
    kind?: string | undefined;
  }) {
    let q = this.db.selectFrom('admin_audit').selectAll();
    if (opts.before) q = q.where('id', '<', opts.before);
    if (opts.actorId) q = q.where('actor_id', '=', opts.actorId);
    if (opts.kind) q = q.where('subject_kind', '=', opts.kind);
    return q.orderBy('id', 'desc').limit(opts.limit).execute();
  }
}
