/** The store: every repository over one database. The only place that knows SQL. */
import type { Db } from './db.js';
import { ApiKeyRepo, UserRepo } from './users.js';
import { ChannelRepo } from './channels.js';
import { MessageRepo } from './messages.js';

export interface Store {
  db: Db;
  users: UserRepo;
  keys: ApiKeyRepo;
  channels: ChannelRepo;
  messages: MessageRepo;
  close(): Promise<void>;
}

export function createStore(db: Db): Store {
  return {
    db,
    users: new UserRepo(db.kysely),
    keys: new ApiKeyRepo(db.kysely),
    channels: new ChannelRepo(db.kysely),
    messages: new MessageRepo(db.kysely, db.dialect),
    close: () => db.close(),
  };
}

export { openDb, sqlitePathFor } from './db.js';
export type { Db, Dialect } from './db.js';
