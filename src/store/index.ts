/** The store: every repository over one database. The only place that knows SQL. */
import type { Db } from './db.js';
import { announceConfigWrites } from './config-changes.js';
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
import { SmppPartsRepo } from './smpp-parts.js';
import { ContactRepo, InboundRepo, KeywordRepo, OptOutRepo } from './inbound.js';
import { ConsentRepo, PolicySettingsRepo } from './consents.js';
import { TemplateRepo } from './templates.js';
import type { CapsCache } from './policy.js';
import { PolicyRepo } from './policy.js';
import { OwnerCache } from './owner-cache.js';
import { PriceCache } from './credits.js';
import { ClusterRepo } from './cluster.js';
import { ContactBook } from './contacts.js';
import { CampaignRepo } from './campaigns.js';
import { AdminAuditRepo } from './admin-audit.js';

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
  templates: TemplateRepo;
  consents: ConsentRepo;
  policySettings: PolicySettingsRepo;
  smppParts: SmppPartsRepo;
  /** Blacklists, whitelists, caps, prices, balances (the sending policy's settings). */
  policy: PolicyRepo;
  /** Nodes and channel leases (issue 17). */
  cluster: ClusterRepo;
  /** The address book: contacts with their details, groups, imports (migration 016). */
  book: ContactBook;
  campaigns: CampaignRepo;
  /** Admin actions (migration 022). */
  audit: AdminAuditRepo;
  close(): Promise<void>;
}

export function createStore(db: Db): Store {
  const bulkInsert = db.sqlite ? sqliteBulkInsert(db.sqlite) : insertChunked;
  const prices = new PriceCache();
  const caps: CapsCache = new OwnerCache();
  const store: Store = {
    db,
    users: new UserRepo(db.kysely),
    keys: new ApiKeyRepo(db.kysely),
    channels: new ChannelRepo(db.kysely),
    messages: new MessageRepo(db.kysely, db.dialect, db.caps, bulkInsert, db.sqlite, prices, caps),
    outcomes: new OutcomeRepo(db.kysely, bulkInsert, db.dialect, db.sqlite),
    feed: new MessageFeed(db.kysely, db.dialect),
    webhooks: new WebhookRepo(db.kysely, db.dialect, db.caps),
    inbound: new InboundRepo(db.kysely),
    keywords: new KeywordRepo(db.kysely),
    contacts: new ContactRepo(db.kysely),
    optOuts: new OptOutRepo(db.kysely),
    sessions: new SessionRepo(db.kysely),
    stats: new StatsRepo(db.kysely, db.caps),
    retention: new RetentionRepo(db.kysely, db.caps),
    smppOutbox: new SmppOutboxRepo(db.kysely, db.dialect, db.caps),
    templates: new TemplateRepo(db.kysely),
    consents: new ConsentRepo(db.kysely),
    policySettings: new PolicySettingsRepo(db.kysely),
    smppParts: new SmppPartsRepo(db.kysely, db.dialect),
    policy: new PolicyRepo(db.kysely, prices, caps),
    cluster: new ClusterRepo(db.kysely, db.caps),
    book: new ContactBook(db),
    campaigns: new CampaignRepo(db.kysely, db.caps, db.dialect, db.sqlite),
    audit: new AdminAuditRepo(db.kysely),
    close: () => db.close(),
  };
  announceConfigWrites(store, db.notifier);
  return store;
}

export { openDb, sqlitePathFor } from './db.js';
export type { Db, Dialect } from './db.js';
