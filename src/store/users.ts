/** Users and their API keys. Secrets arrive here already hashed. */
import type { Kysely } from 'kysely';
import type { ApiKeyRow, Database, UserRow } from './schema.js';
import { newId } from './ids.js';

export class UserRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async create(u: { login: string; passwordHash: string; role: 'admin' | 'user' }): Promise<UserRow> {
    const now = Date.now();
    const row: UserRow = {
      id: newId(),
      login: u.login,
      password_hash: u.passwordHash,
      role: u.role,
      status: 'active',
      created_at: now,
      updated_at: now,
      smpp_system_id: null,
      smpp_password_hash: null,
      smpp_bound_at: null,
    };
    await this.db.insertInto('users').values(row).execute();
    return row;
  }

  byId(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The user bound over SMPP to receive: from now on inbound messages are queued for SMPP too. */
  async markSmppBound(id: string, at: number): Promise<void> {
    await this.db.updateTable('users').set({ smpp_bound_at: at }).where('id', '=', id).execute();
  }

  byLogin(login: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('login', '=', login).executeTakeFirst();
  }

  bySmppSystemId(systemId: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('smpp_system_id', '=', systemId).executeTakeFirst();
  }

  list(): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().orderBy('created_at').execute();
  }

  count(): Promise<number> {
    return this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
      .then((r) => Number(r.n));
  }

  async update(
    id: string,
    patch: Partial<
      Pick<UserRow, 'status' | 'role' | 'password_hash' | 'smpp_system_id' | 'smpp_password_hash'>
    >,
  ): Promise<UserRow | undefined> {
    await this.db
      .updateTable('users')
      .set({ ...patch, updated_at: Date.now() })
      .where('id', '=', id)
      .execute();
    return this.byId(id);
  }
}

export class ApiKeyRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async create(k: {
    userId: string;
    name: string;
    prefix: string;
    secretHash: string;
    callbackUrl?: string | null;
  }): Promise<ApiKeyRow> {
    const row: ApiKeyRow = {
      id: newId(),
      user_id: k.userId,
      name: k.name,
      prefix: k.prefix,
      secret_hash: k.secretHash,
      created_at: Date.now(),
      last_used_at: null,
      revoked_at: null,
      callback_url: k.callbackUrl ?? null,
    };
    await this.db.insertInto('api_keys').values(row).execute();
    return row;
  }

  /** The key with this prefix joined to its user, if neither is gone. */
  async byPrefix(prefix: string): Promise<{ key: ApiKeyRow; user: UserRow } | undefined> {
    const key = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('prefix', '=', prefix)
      .executeTakeFirst();
    if (!key) return undefined;
    const user = await this.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', key.user_id)
      .executeTakeFirst();
    return user ? { key, user } : undefined;
  }

  byId(id: string): Promise<ApiKeyRow | undefined> {
    return this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  }

  list(userId?: string): Promise<ApiKeyRow[]> {
    let q = this.db.selectFrom('api_keys').selectAll().orderBy('created_at');
    if (userId) q = q.where('user_id', '=', userId);
    return q.execute();
  }

  async revoke(id: string): Promise<void> {
    await this.db.updateTable('api_keys').set({ revoked_at: Date.now() }).where('id', '=', id).execute();
  }

  async touch(id: string, at: number): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  }
}
