/** The store: every repository over one database. The only place that knows SQL. */
import type { Db } from './db.js';
import { ApiKeyRepo, UserRepo } from './users.js';
import { ChannelRepo } from './channels.js';
import { MessageFeed, MessageRepo } from './messages.js';
import { OutcomeRepo } from './outcomes.js';
import { insertChunked, sqliteBulkInsert } from './rows.js';
import { WebhookRepo } from './webhooks.js';
import { SessionRepo } from './sessions.js';
import { StatsRepo } from './stats.js';
import { RetentionRepo } from './retention.js';
import { SmppOutboxRepo } from './smpp-outbox.js';
import { ContactRepo, InboundRepo, KeywordRepo, OptOutRepo } from './inbound.js';
import { ContactBook } from './contacts.js';
import { CampaignRepo } from './campaigns.js';

export interface Store {
  db: Db;
  users: UserRepo;
  keys: ApiKeyRepo;
  channels: ChannelRepo;
  messages: MessageRepo;
  outcomes: OutcomeRepo;
  feed: MessageFeed;
  webhooks: WebhookRepo;
  inbound: InboundRepo;
  keywords: KeywordRepo;
  contacts: ContactRepo;
  optOuts: OptOutRepo;
  sessions: SessionRepo;
  stats: StatsRepo;
  retention: RetentionRepo;
  smppOutbox: SmppOutboxRepo;
  /** The address book: contacts with their details, groups, imports (migration 016). */
  book: ContactBook;
  campaigns: CampaignRepo;
  close(): Promise<void>;
}

export function createStore(db: Db): Store {
  const bulkInsert = db.sqlite ? sqliteBulkInsert(db.sqlite) : insertChunked;
  return {
    db,
    users: new UserRepo(db.kysely),
    keys: new ApiKeyRepo(db.kysely),
    channels: new ChannelRepo(db.kysely),
    messages: new MessageRepo(db.kysely, db.dialect, db.caps, bulkInsert),
    outcomes: new OutcomeRepo(db.kysely, bulkInsert),
    feed: new MessageFeed(db.kysely),
    webhooks: new WebhookRepo(db.kysely, db.dialect),
    inbound: new InboundRepo(db.kysely),
    keywords: new KeywordRepo(db.kysely),
    contacts: new ContactRepo(db.kysely),
    optOuts: new OptOutRepo(db.kysely),
    sessions: new SessionRepo(db.kysely),
    stats: new StatsRepo(db.kysely, db.caps),
    retention: new RetentionRepo(db.kysely),
    smppOutbox: new SmppOutboxRepo(db.kysely, db.dialect),
    book: new ContactBook(db),
    campaigns: new CampaignRepo(db.kysely, db.caps),
    close: () => db.close(),
  };
}

export { openDb, sqlitePathFor } from './db.js';
export type { Db, Dialect } from './db.js';
