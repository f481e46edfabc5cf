/**
 * Table types as Kysely sees them. Times are epoch milliseconds (integer / bigint) and flags
 * are 0/1 integers on both databases, so the same queries and comparisons work everywhere.
 */
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

export interface UsersTable {
  id: string;
  login: string;
  password_hash: string;
  role: 'admin' | 'user';
  status: 'active' | 'blocked';
  created_at: number;
  updated_at: number;
  /** Separate SMPP login, when the admin set one; else the login and password bind. */
  smpp_system_id: string | null;
  smpp_password_hash: string | null;
  /** Last time the user bound over SMPP to receive: inbound messages are then queued for SMPP too. */
  smpp_bound_at: number | null;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  /** Public part shown in listings and used to look the key up. */
  prefix: string;
  /** SHA-256 of the secret: keys are 190-bit random, so a slow hash buys nothing. */
  secret_hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  /** Default status webhook for messages sent with this key. */
  callback_url: string | null;
}

export interface ChannelsTable {
  id: string;
  name: string;
  type: string;
  /** Null: shared by every user. */
  owner_id: string | null;
  /** Driver config as JSON text. */
  config: string;
  monthly_limit: number | null;
  /** 'segments' or 'messages': what the monthly limit counts. */
  count_mode: 'segments' | 'messages';
  min_interval_ms: number;
  max_in_flight: number;
  /** Lower goes first when usage ties. */
  priority: number;
  enabled: number;
  state: string;
  created_at: number;
  updated_at: number;
}

export interface ChannelCountersTable {
  channel_id: string;
  /** Calendar month, "YYYY-MM" in UTC (the seed's gateway_smscount.date). */
  month: string;
  count: number;
}

export interface MessagesTable {
  id: string;
  owner_id: string;
  api_key_id: string | null;
  /** All recipients of one request share a batch id (follow-ups address a batch). */
  batch_id: string;
  to: string;
  from: string | null;
  text: string;
  encoding: string;
  segments: number;
  flash: number;
  replace_id: number | null;
  validity_minutes: number | null;
  send_at: number | null;
  expires_at: number;
  status: string;
  attempts: number;
  max_attempts: number;
  /** The seed's `attempts`: immediate tries on the same channel within one attempt. */
  tries_per_attempt: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  channel_id: string | null;
  /** Set by a failed attempt so the next one prefers another channel. */
  avoid_channel_id: string | null;
  /** The sender chose this channel: routing uses no other. */
  pinned_channel_id: string | null;
  /** SMPP registered_delivery of the submit, when the client wants a receipt (0x01 or 0x02). */
  smpp_receipt_mask: number | null;
  /** 1: ask the network for a delivery report (and wait for it); 0: `sent` is final. */
  report_requested: number;
  error_code: string | null;
  error_message: string | null;
  client_ref: string | null;
  callback_url: string | null;
  /** Kannel `dlr-url` pattern (placeholders unfilled), called with GET per `dlr_mask` (migration 012). */
  dlr_url?: string | null;
  /** Kannel DLR types wanted: 1 delivered, 2 undelivered, 4 buffered, 8 sent, 16 rejected. */
  dlr_mask?: number | null;
  /** service_type of an SMPP submit (migration 020): replace_if_present matches on it. */
  smpp_service_type?: string | null;
  /** NULL: Kannel's dlr-url; `jasmin-get` / `jasmin-post`: Jasmin's DLR callback (migration 018). */
  dlr_format?: string | null;
  /** 1: a submit of it ended with no answer or some parts taken; it may have left (migration 023). */
  outcome_unknown?: number | null;
  /**
   * What a prepaid account was charged at acceptance (migration 027), signed as in the ledger (a
   * charge is negative); NULL: not charged. Refunds and replace_sm read it.
   */
  charge?: number | null;
  /** Template category it was accepted under (migration 027; frequency caps count by it). */
  category?: string | null;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
  final_at: number | null;
}

export interface MessagePartsTable {
  message_id: string;
  seq: number;
  channel_id: string;
  remote_id: string;
  status: string;
  error_code: string | null;
  updated_at: number;
  /** When the part was submitted (null for parts stored before migration 009). */
  created_at: number | null;
}

/** A delivery report that matched no part yet; see migration 009. */
export interface PendingReportsTable {
  id: Generated<number>;
  report_id: string;
  channel_id: string;
  remote_id: string;
  state: string;
  error_code: string | null;
  raw_error: string | null;
  reported_at: number;
  received_at: number;
  expires_at: number;
}

export interface MessageEventsTable {
  id: Generated<number>;
  message_id: string;
  owner_id: string;
  status: string;
  error_code: string | null;
  detail: string | null;
  channel_id: string | null;
  created_at: number;
}

export interface IdempotencyKeysTable {
  user_id: string;
  key: string;
  request_hash: string;
  status_code: number;
  response: string;
  created_at: number;
}

export interface UserSettingsTable {
  user_id: string;
  webhook_url: string | null;
  inbound_webhook_url: string | null;
  webhook_secret: string;
  /** JSON arrays of words; null means the defaults. */
  stop_words: string | null;
  start_words: string | null;
  stop_reply: string | null;
  start_reply: string | null;
  help_reply: string | null;
  /** 1: replace smart quotes, long dashes, ellipsis… by GSM equivalents before sending. */
  transliterate: number;
  updated_at: number;
}

/** A part of a concatenated SMPP submit, acknowledged when stored (migration 020). */
export interface SmppPartsTable {
  id: string;
  owner_id: string;
  group_key: string;
  part_seq: number;
  total: number;
  data_coding: number;
  payload: string;
  registered: number;
  params: string;
  created_at: number;
  message_id: string | null;
}

/** deliver_sm owed to SMPP clients, until one of their receiver binds acknowledges it. */
export interface SmppOutboxTable {
  id: Generated<number>;
  owner_id: string;
  kind: 'receipt' | 'mo';
  /** A message id (receipt) or an inbound message id (mo). */
  ref_id: string;
  created_at: number;
  /** Sent on a bind and waiting for deliver_sm_resp until then; null when waiting for a bind. */
  lease_until: number | null;
}

export interface WebhookOutboxTable {
  id: Generated<number>;
  /** Stable across retries, so receivers can drop duplicates. */
  event_id: string;
  owner_id: string;
  /** `dlr`: a Kannel dlr-url callback, sent with GET and no body (the URL carries it). */
  kind: 'status' | 'inbound' | 'forward' | 'dlr';
  ordering_key: string;
  url: string;
  payload: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: number;
  lease_until: number | null;
  last_status_code: number | null;
  last_error: string | null;
  give_up_at: number;
  created_at: number;
  delivered_at: number | null;
}

export interface WebhookAttemptsTable {
  id: Generated<number>;
  outbox_id: number;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  at: number;
}

export interface CursorsTable {
  name: string;
  position: number;
}

export interface InboundMessagesTable {
  id: string;
  owner_id: string | null;
  channel_id: string;
  from: string;
  to: string | null;
  text: string;
  incomplete: number;
  /** The keyword rule or opt-out word that matched, if any. */
  keyword: string | null;
  received_at: number;
  created_at: number;
  /** When its rules (opt-out words, keyword rules, webhooks) ran; null until then. */
  processed_at: number | null;
}

export interface KeywordRulesTable {
  id: string;
  owner_id: string;
  match_type: 'exact' | 'prefix' | 'regex';
  pattern: string;
  action: 'auto_reply' | 'forward' | 'tag';
  reply_text: string | null;
  forward_url: string | null;
  tag: string | null;
  priority: number;
  enabled: number;
  created_at: number;
}

export interface ContactsTable {
  owner_id: string;
  number: string;
  /** JSON array of strings. */
  tags: string;
  updated_at: number;
  /** Migration 016: the address book. */
  name?: string | null;
  language?: string | null;
  /** IANA zone (e.g. Europe/Rome) overriding the one derived from the number's country (migration 015). */
  time_zone?: string | null;
  /** JSON object of custom fields (strings). */
  fields?: string;
  created_at?: number;
}

export interface OptOutsTable {
  owner_id: string;
  number: string;
  keyword: string;
  created_at: number;
}

export interface SessionsTable {
  token_hash: string;
  user_id: string;
  /** Sent back in X-CSRF-Token on every unsafe request made with this session's cookie. */
  csrf: string;
  created_at: number;
  expires_at: number;
}

// ---- Sending policy: lists, caps, credits (migration 014)

/** A blacklist or whitelist entry; `owner_id` '' is the global list (admin). */
export interface NumberListsTable {
  kind: 'black' | 'white';
  owner_id: string;
  number: string;
  reason: string | null;
  /** Who put it there: api, csv, cli or auto (unknown_subscriber failures). */
  source: string;
  created_at: number;
}

/** Per-user policy switches and credit; no row means the defaults (unlimited, no test mode). */
export interface AccountPolicyTable {
  user_id: string;
  test_mode: number;
  /** Blacklist a number after this many `unknown_subscriber` failures; null = off. */
  auto_blacklist_after: number | null;
  /** 1: prepaid (charged per segment from `balance`); 0: unlimited. */
  prepaid: number;
  balance: number;
  updated_at: number;
}

export interface UnknownSubscriberCountsTable {
  owner_id: string;
  number: string;
  failures: number;
  updated_at: number;
}

/** A frequency cap: at most `max_count` messages per recipient per period; '' = global / any category. */
export interface FrequencyCapsTable {
  owner_id: string;
  category: string;
  period: 'minute' | 'hour' | 'day' | 'month';
  max_count: number;
  updated_at: number;
}

/**
 * One recipient's frequency counts (migration 024): per (month start, owner, number, category)
 * the count of the current minute, hour and day with each one's start (UTC, epoch ms), and the
 * month's count.
 */
export interface FrequencyStateTable {
  month_at: number;
  owner_id: string;
  number: string;
  category: string;
  minute_at: number;
  minute_n: number;
  hour_at: number;
  hour_n: number;
  day_at: number;
  day_n: number;
  month_n: number;
}

/** Price per segment by destination prefix (digits, '' = any) and encoding ('any', 'gsm7', 'ucs2'). */
export interface PricesTable {
  prefix: string;
  encoding: string;
  per_segment: number;
  updated_at: number;
}

export interface CreditLedgerTable {
  id: Generated<number>;
  user_id: string;
  /** `adjust`: a replaced text's difference in segments (migration 023), one row per replace. */
  kind: 'charge' | 'refund' | 'topup' | 'adjust';
  /** Signed: a charge is negative. */
  amount: number;
  balance_after: number;
  message_id: string | null;
  note: string | null;
  created_at: number;
}

/** Migration 016: contact groups, imports, campaigns (store/contacts.ts, store/campaigns.ts). */
export interface ContactGroupsTable {
  id: string;
  owner_id: string;
  name: string;
  created_at: number;
}

export interface GroupMembersTable {
  group_id: string;
  owner_id: string;
  number: string;
}

export interface ContactImportsTable {
  id: string;
  owner_id: string;
  group_id: string | null;
  status: 'running' | 'done' | 'failed';
  rows_total: number;
  rows_imported: number;
  rows_refused: number;
  error: string | null;
  created_at: number;
  finished_at: number | null;
}

export interface ImportErrorsTable {
  import_id: string;
  line: number;
  reason: string;
  raw: string;
}

export interface CampaignsTable {
  id: string;
  owner_id: string;
  name: string;
  status: string;
  text: string;
  from: string | null;
  channel_id: string | null;
  template_id: string | null;
  /** JSON: what the recipients were chosen from (kept to show and to copy for recurrences). */
  audience: string;
  time_zone: string;
  send_at: number | null;
  /** Minutes after local midnight, recipient time; both null: any time. */
  window_start: number | null;
  window_end: number | null;
  /** Messages per second at most. */
  rate: number;
  /** Recurring: a cron expression in `time_zone`; the row is then a template firing children. */
  cron: string | null;
  parent_id: string | null;
  occurrence_at: number | null;
  next_run_at: number | null;
  lease_owner: string | null;
  lease_until: number | null;
  recipients_total: number;
  recipients_done: number;
  /** Segments of the text (per-recipient variables may change it; an estimate). */
  segments: number;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface CampaignRecipientsTable {
  campaign_id: string;
  number: string;
  seq: number;
  vars: string | null;
  not_before: number;
  message_id: string | null;
  error_code: string | null;
}

export interface Database {
  users: UsersTable;
  api_keys: ApiKeysTable;
  channels: ChannelsTable;
  channel_counters: ChannelCountersTable;
  messages: MessagesTable;
  message_parts: MessagePartsTable;
  message_events: MessageEventsTable;
  pending_reports: PendingReportsTable;
  idempotency_keys: IdempotencyKeysTable;
  user_settings: UserSettingsTable;
  webhook_outbox: WebhookOutboxTable;
  smpp_outbox: SmppOutboxTable;
  smpp_parts: SmppPartsTable;
  webhook_attempts: WebhookAttemptsTable;
  cursors: CursorsTable;
  inbound_messages: InboundMessagesTable;
  keyword_rules: KeywordRulesTable;
  contacts: ContactsTable;
  opt_outs: OptOutsTable;
  sessions: SessionsTable;
  templates: TemplatesTable;
  policy_audit: PolicyAuditTable;
  consents: ConsentsTable;
  policy_settings: PolicySettingsTable;
  otp_codes: OtpCodesTable;
  otp_secret: OtpSecretTable;
  otp_settings: OtpSettingsTable;
  number_lists: NumberListsTable;
  account_policy: AccountPolicyTable;
  unknown_subscriber_counts: UnknownSubscriberCountsTable;
  frequency_caps: FrequencyCapsTable;
  frequency_state: FrequencyStateTable;
  prices: PricesTable;
  credit_ledger: CreditLedgerTable;
  contact_groups: ContactGroupsTable;
  group_members: GroupMembersTable;
  contact_imports: ContactImportsTable;
  import_errors: ImportErrorsTable;
  campaigns: CampaignsTable;
  campaign_recipients: CampaignRecipientsTable;
}

/** A user's OTP defaults (migration 017). */
export interface OtpSettingsTable {
  user_id: string;
  template: string | null;
  from: string | null;
  updated_at: number;
}

/** One-time passwords (migration 017): only an HMAC of the code is kept. */
export interface OtpCodesTable {
  id: string;
  owner_id: string;
  to: string;
  code_hash: string;
  length: number;
  alphabet: string;
  template: string;
  from: string | null;
  flash: number;
  replace_id: number | null;
  ttl_s: number;
  attempts: number;
  max_attempts: number;
  sends: number;
  message_id: string;
  created_at: number;
  last_sent_at: number;
  expires_at: number;
  verified_at: number | null;
}

export interface OtpSecretTable {
  id: number;
  secret: string;
  created_at: number;
}

export type OtpRow = Selectable<OtpCodesTable>;

export type UserRow = Selectable<UsersTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type ChannelRow = Selectable<ChannelsTable>;
export type MessageRow = Selectable<MessagesTable>;
export type NewMessage = Insertable<MessagesTable>;
export type MessageUpdate = Updateable<MessagesTable>;
export type MessageEventRow = Selectable<MessageEventsTable>;
export type NewMessageEvent = Insertable<MessageEventsTable>;
export type MessagePartRow = Selectable<MessagePartsTable>;
export type UserSettingsRow = Selectable<UserSettingsTable>;
export type WebhookOutboxRow = Selectable<WebhookOutboxTable>;
export type WebhookAttemptRow = Selectable<WebhookAttemptsTable>;
export type InboundRow = Selectable<InboundMessagesTable>;
export type KeywordRuleRow = Selectable<KeywordRulesTable>;
export type SessionRow = Selectable<SessionsTable>;

/** Templates and sender signatures (`kind`), reviewed by an admin (migration 015). */
export interface TemplatesTable {
  id: string;
  owner_id: string;
  kind: 'template' | 'signature';
  name: string;
  text: string;
  /** Templates: verification, notification or marketing. Null for signatures. */
  category: string | null;
  /** Signatures: prefix or suffix. Null for templates. */
  placement: 'prefix' | 'suffix' | null;
  /** JSON object of declared variables: {name: {type?, max_length?}}; null when none declared. */
  variables: string | null;
  status: 'pending' | 'approved' | 'rejected';
  reason: string | null;
  created_at: number;
  updated_at: number;
  decided_at: number | null;
  decided_by: string | null;
}

export interface PolicyAuditTable {
  id: Generated<number>;
  owner_id: string;
  subject_kind: 'template' | 'signature' | 'erasure';
  subject_id: string;
  actor_id: string | null;
  action: string;
  before_status: string | null;
  after_status: string | null;
  reason: string | null;
  created_at: number;
}

export interface ConsentsTable {
  id: Generated<number>;
  owner_id: string;
  number: string;
  source: string;
  text_shown: string | null;
  proof_ip: string | null;
  proof_form_id: string | null;
  granted_at: number;
  revoked_at: number | null;
  /** What revoked it: `api`, `stop` (the recipient replied STOP), `erasure`. */
  revoked_by: string | null;
}

/** Per user, or `*` for the defaults a new user starts with. */
export interface PolicySettingsTable {
  user_id: string;
  templates_only: number;
  consent_required: number;
  /** JSON array of {category, start, end} windows ("21:00", "09:00"); null: none. */
  quiet_hours: string | null;
  updated_at: number;
}

export type TemplateRow = Selectable<TemplatesTable>;
export type PolicyAuditRow = Selectable<PolicyAuditTable>;
export type ConsentRow = Selectable<ConsentsTable>;
export type PolicySettingsRow = Selectable<PolicySettingsTable>;
