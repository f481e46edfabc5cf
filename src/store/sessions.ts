/** Browser sessions: looked up by the SHA-256 of their token, so a database leak yields no usable cookie. */
import type { Kysely } from 'kysely';
import type { Database, SessionRow } from './schema.js';

export class SessionRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async create(row: SessionRow): Promise<void> {
    await this.db.insertInto('sessions').values(row).execute();
  }

  byTokenHash(tokenHash: string, now: number): Promise<SessionRow | undefined> {
    return this.db
      .selectFrom('sessions')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .where('expires_at', '>', now)
      .executeTakeFirst();
  }

  async delete(tokenHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
  }
}
