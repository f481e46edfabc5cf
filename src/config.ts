/**
 * The one place that reads the environment. Defaults live in DEFAULTS with their units; an
 * optional JSON file (SMSGW_CONFIG) may override them; environment variables win over both.
 * The result is validated and frozen.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js';
import { getCountries } from 'libphonenumber-js';
import { parseCidr } from './delivery/url-guard.js';

export interface Config {
  /** HTTP listen port. */
  port: number;
  host: string;
  /** Where SQLite lives and other local state (created if missing). */
  dataDir: string;
  /** postgres:// URL switches to PostgreSQL; otherwise SQLite at <dataDir>/smsgw.db. */
  databaseUrl: string | undefined;
  adminPassword: string | undefined;
  adminApiKey: string | undefined;
  /** ISO 3166 region for numbers written without a country code, e.g. "RU". */
  defaultRegion: CountryCode | undefined;
  /** Create a shared simulator channel on first start. */
  simulator: boolean;
  /** SMPP server face port; 0 turns it off. */
  smppPort: number;
  /** SMPP over TLS: port (0 = off) and PEM files for its certificate and key. */
  smppTls: { port: number; certFile: string | undefined; keyFile: string | undefined };
  logLevel: string;
  /** Identifies this process in queue leases; unique per start so a restarted node never reuses a lease. */
  nodeId: string;
  /** SQLite durability: FULL fsyncs every commit (commits are grouped, so the cost is shared). */
  sqliteSynchronous: 'FULL' | 'NORMAL';
  /** SQLite page cache of the connection, MiB (resident memory: see store/db.ts). */
  sqliteCacheMib: number;
  dispatch: {
    /** Most messages claimed per query. */
    batchSize: number;
    /** How long a claimed message stays ours; longer than any driver's submit timeout. */
    leaseMs: number;
    /** Poll interval when idle; new messages also wake the loop directly. */
    pollMs: number;
    /** First retry delay after a failed attempt; doubles each time up to retryMaxMs. */
    retryBaseMs: number;
    retryMaxMs: number;
    /** Default total attempts per message (the API's max_attempts). */
    maxAttempts: number;
    /** Messages that could not be routed (no channel free) are looked at again after this. */
    noChannelDelayMs: number;
  };
  /** First webhook retry delay (ms); doubles per attempt, retried for 24 h. */
  webhookRetryBaseMs: number;
  /** Campaigns (issue 15): a campaign whose node stops renewing its lease is taken over after this. */
  campaignLeaseMs: number;
  /** Largest contact import body (bytes). */
  importMaxBytes: number;
  /** On shutdown, HTTP connections still open after this (a client that stopped reading) are cut. */
  shutdownGraceMs: number;
  /** Validity when the request gives none: 48 h, the common SMSC default. */
  defaultValidityMinutes: number;
  /** Longest message we accept, in segments. */
  maxSegments: number;
  /** Largest recipient list in one request. */
  maxRecipients: number;
  /** API requests per second per user (0 = unlimited); bursts up to twice that. */
  userRateLimit: number;
  /** Days to keep each kind of row (0: for ever); deleted in small batches every 10 minutes. */
  retention: { messagesDays: number; inboundDays: number; webhooksDays: number };
  /** SMPP server face: what one client may hold (see SMPP_LIMIT_DEFAULTS for the figures). */
  smppLimits: SmppLimits;
  /** E-mail to SMS (the SMTP face, src/api/smtp). */
  smtp: SmtpConfig;
  /** One-time passwords (POST /v1/otp): the HMAC secret and the limits per number. */
  otp: OtpConfig;
  // ---- HTTP face and webhook limits (issue 12): every resource a client can hold has a bound.
  http: {
    /** A request's headers must arrive within this (slowloris); answered 408 and closed. */
    headersTimeoutMs: number;
    /** The whole request, body included, must arrive within this. */
    requestTimeoutMs: number;
    /** An idle keep-alive connection is closed after this. */
    keepAliveTimeoutMs: number;
    /** A connection with no traffic either way is cut after this (longer than the longest long-poll). */
    idleTimeoutMs: number;
    /** Largest request head (request line and headers), bytes; larger is answered 431. */
    maxHeaderBytes: number;
    /** Open connections from one address; more are answered 429 and closed. */
    maxConnectionsPerIp: number;
    /** Open connections in all; more are closed at once (each holds a descriptor and buffers). */
    maxConnections: number;
    /** Waiting `GET /v1/events?wait=` requests, all accounts together (503 beyond) and per account (429). */
    longPollMax: number;
    longPollPerUser: number;
    /** Failed logins allowed per login and per address within loginWindowMs, before any hash is computed. */
    loginFailuresPerLogin: number;
    loginFailuresPerIp: number;
    loginWindowMs: number;
    /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
    metricsToken: string | undefined;
  };
  webhooks: {
    /** Let webhook and callback URLs reach private, loopback and link-local addresses. */
    allowPrivate: boolean;
    /** CIDRs webhook and callback URLs may reach although private (e.g. 10.1.2.0/24). */
    allowCidrs: string[];
    /** Deliveries in flight at once, and at most this many for one account. */
    concurrency: number;
    perAccount: number;
  };
  /** Sending-policy lists (issue 14): most numbers on one whitelist / blacklist (per user, and the global one). */
  lists: { whitelistMax: number; blacklistMax: number };
  /** Several nodes on one PostgreSQL (issue 17): this node's name and the channel lease. */
  cluster: ClusterConfig;
}

/** Limits of the SMPP server face; every resource a client can hold has one. */
export interface SmppLimits {
  /** A connection that has not bound within this is closed. */
  bindTimeoutMs: number;
  /** A bound session that sends nothing (not even enquire_link) this long is closed. */
  idleTimeoutMs: number;
  /** Open connections in total, bound or not. */
  maxConnections: number;
  /** Open connections from one IP address, bound or not. */
  maxConnectionsPerIp: number;
  /** Binds one system_id (user) may hold at once, on this node. */
  maxBindsPerSystemId: number;
  /** Requests one session may have unanswered (submits waiting for their commit, held parts); beyond: ESME_RTHROTTLED. */
  window: number;
  /** Parts of concatenated messages one user may have stored, waiting for the rest; beyond: ESME_RTHROTTLED. */
  maxHeldParts: number;
  /** A concatenated message whose parts do not all arrive within this is stored as rejected (parts_missing). */
  partsTimeoutMs: number;
}

/** Where an e-mail's SMS text comes from. */
export type SmtpTextFrom = 'subject' | 'body' | 'subject+body';

/** The SMTP face: off unless a port is given; every resource a client can hold is bounded. */
export interface SmtpConfig {
  /** Listen port; 0 = off. */
  port: number;
  /** Accepted recipient domains (lower case); empty = any domain. */
  domains: string[];
  textFrom: SmtpTextFrom;
  /** PEM files for STARTTLS; without them the face needs allowInsecureAuth. */
  certFile: string | undefined;
  keyFile: string | undefined;
  /** Allow AUTH (passwords) over an unencrypted connection: only for loopback or a trusted network. */
  allowInsecureAuth: boolean;
  /** Largest mail (bytes, as sent: headers, MIME, attachments); larger is refused with 552. */
  maxMessageBytes: number;
  /** Recipients (SMS) one mail may have; more get 452 and the client sends them in another mail. */
  maxRecipients: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** A connection silent this long is closed (421). */
  idleTimeoutMs: number;
  /** One mail's DATA must arrive within this, however steadily it trickles (slowloris); else 421. */
  dataTimeoutMs: number;
}

/**
 * An SMS text is at most 15 segments (~2.3 kB), but mail clients wrap it in MIME, an HTML
 * alternative and often a signature image: 1 MiB takes those and bounds the buffer one mail
 * holds (50 connections × 1 MiB = 50 MiB at worst). 100 recipients is the minimum RFC 5321
 * (4.5.3.1.8) asks servers to accept; the client sends the rest in another transaction.
 */
export const SMTP_DEFAULTS: SmtpConfig = {
  port: 0,
  domains: [],
  textFrom: 'subject+body',
  certFile: undefined,
  keyFile: undefined,
  allowInsecureAuth: false,
  maxMessageBytes: 1_048_576,
  maxRecipients: 100,
  maxConnections: 50,
  maxConnectionsPerIp: 10,
  idleTimeoutMs: 60_000,
  // 1 MiB in 5 minutes is 3.5 kB/s: any real client is far faster.
  dataTimeoutMs: 300_000,
};

/**
 * Sized for a 2-core box. Before bind a client holds at most one partial PDU (64 KiB), so 200
 * connections cost at most ~13 MiB; after bind a session holds at most `window` decoded
 * submits (64 KiB each at worst, ~300 bytes in practice), so one system_id's 10 binds hold at
 * most ~64 MiB. Kannel waits for 10 submits by default and our benchmarks keep 100 in flight;
 * clients send enquire_link every 30–60 s, so 180 s of silence is three missed ones.
 */
export const SMPP_LIMIT_DEFAULTS: SmppLimits = {
  bindTimeoutMs: 5_000,
  idleTimeoutMs: 180_000,
  maxConnections: 200,
  maxConnectionsPerIp: 20,
  maxBindsPerSystemId: 10,
  window: 100,
  maxHeldParts: 50,
  partsTimeoutMs: 60_000,
};

const OTP_DEFAULTS: OtpConfig = { secret: undefined, cooldownS: 30, perNumberPerHour: 10, maxSends: 5 };

const DEFAULTS: Omit<Config, 'nodeId'> = {
  port: 8080,
  host: '0.0.0.0',
  dataDir: './data',
  databaseUrl: undefined,
  adminPassword: undefined,
  adminApiKey: undefined,
  defaultRegion: undefined,
  simulator: true,
  smppPort: 2775,
  smppTls: { port: 0, certFile: undefined, keyFile: undefined },
  logLevel: 'info',
  sqliteSynchronous: 'FULL',
  sqliteCacheMib: 16,
  dispatch: {
    batchSize: 200,
    leaseMs: 120_000,
    pollMs: 250,
    retryBaseMs: 15_000,
    retryMaxMs: 3_600_000,
    maxAttempts: 3,
    noChannelDelayMs: 5_000,
  },
  cluster: {
    nodeName: hostname(),
    channelLeaseMs: 6_000,
  },
  webhookRetryBaseMs: 10_000,
  campaignLeaseMs: 15_000,
  importMaxBytes: 256 * 1024 * 1024,
  shutdownGraceMs: 10_000,
  defaultValidityMinutes: 2880,
  maxSegments: 15,
  maxRecipients: 1000,
  userRateLimit: 0,
  retention: { messagesDays: 365, inboundDays: 365, webhooksDays: 30 },
  smppLimits: SMPP_LIMIT_DEFAULTS,
  smtp: SMTP_DEFAULTS,
  otp: OTP_DEFAULTS,
  http: {
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    keepAliveTimeoutMs: 5_000,
    idleTimeoutMs: 120_000,
    maxHeaderBytes: 16_384,
    maxConnectionsPerIp: 256,
    maxConnections: 4096,
    longPollMax: 256,
    longPollPerUser: 8,
    loginFailuresPerLogin: 10,
    loginFailuresPerIp: 50,
    loginWindowMs: 300_000,
    metricsToken: undefined,
  },
  webhooks: { allowPrivate: false, allowCidrs: [], concurrency: 16, perAccount: 4 },
  // Seed 003: a whitelist of at most 50 numbers. A blacklist of 1M numbers is ~60 MB of rows.
  lists: { whitelistMax: 50, blacklistMax: 1_000_000 },
};

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function region(value: string | undefined, name: string): CountryCode | undefined {
  if (value === undefined || value === '') return undefined;
  const upper = value.toUpperCase();
  if (!(getCountries() as string[]).includes(upper)) {
    throw new ConfigError(`${name} must be an ISO 3166-1 alpha-2 region such as RU or US, got "${value}"`);
  }
  return upper as CountryCode;
}

/** The SMPP face's limits: each an integer in a range that keeps the face usable. */
function smppLimits(env: Env, base: SmppLimits): SmppLimits {
  const v = (name: string, key: keyof SmppLimits, min: number, max: number) => {
    const fallback = base[key];
    if (!Number.isInteger(fallback) || fallback < min || fallback > max) {
      throw new ConfigError(`smppLimits.${key} must be an integer between ${min} and ${max}`);
    }
    return int(env, name, fallback, min, max);
  };
  return {
    bindTimeoutMs: v('SMSGW_SMPP_BIND_TIMEOUT_MS', 'bindTimeoutMs', 100, 600_000),
    idleTimeoutMs: v('SMSGW_SMPP_IDLE_TIMEOUT_MS', 'idleTimeoutMs', 1_000, 86_400_000),
    maxConnections: v('SMSGW_SMPP_MAX_CONNECTIONS', 'maxConnections', 1, 100_000),
    maxConnectionsPerIp: v('SMSGW_SMPP_MAX_CONNECTIONS_PER_IP', 'maxConnectionsPerIp', 1, 100_000),
    maxBindsPerSystemId: v('SMSGW_SMPP_MAX_BINDS_PER_SYSTEM_ID', 'maxBindsPerSystemId', 1, 10_000),
    window: v('SMSGW_SMPP_WINDOW', 'window', 1, 10_000),
    maxHeldParts: v('SMSGW_SMPP_MAX_HELD_PARTS', 'maxHeldParts', 1, 10_000),
    partsTimeoutMs: v('SMSGW_SMPP_PARTS_TIMEOUT_MS', 'partsTimeoutMs', 100, 3_600_000),
  };
}

/** The SMTP face's settings (README, "E-mail to SMS"). */
export interface OtpConfig {
  /**
   * HMAC key for stored codes (at least 32 characters). Unset: a random one is generated once
   * and kept in the database (otp_secret), so codes survive restarts and every node agrees.
   */
  secret: string | undefined;
  /** Seconds between two sends of one OTP (a resend earlier is a 429). */
  cooldownS: number;
  /** Sends (first sends and resends) to one number per hour, per account. */
  perNumberPerHour: number;
  /** Sends of one OTP: the first and its resends. */
  maxSends: number;
}

function otpConfig(env: Env, base: OtpConfig | undefined): OtpConfig {
  const b = { ...OTP_DEFAULTS, ...base };
  const secret = env.SMSGW_OTP_SECRET || b.secret;
  if (secret !== undefined && secret.length < 32)
    throw new ConfigError('SMSGW_OTP_SECRET must be at least 32 characters');
  return {
    secret,
    cooldownS: int(env, 'SMSGW_OTP_COOLDOWN_S', b.cooldownS, 0, 86_400),
    perNumberPerHour: int(env, 'SMSGW_OTP_PER_NUMBER_PER_HOUR', b.perNumberPerHour, 1, 1_000_000),
    maxSends: int(env, 'SMSGW_OTP_MAX_SENDS', b.maxSends, 1, 100),
  };
}

function smtpConfig(env: Env, base: SmtpConfig): SmtpConfig {
  const b = { ...SMTP_DEFAULTS, ...base };
  const rawDomains = env.SMSGW_SMTP_DOMAINS ?? b.domains.join(',');
  const domains = rawDomains
    .split(',')
    .map((d) => d.trim().toLowerCase())
    .filter(Boolean);
  for (const d of domains) {
    if (
      !/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(d)
    ) {
      throw new ConfigError(`SMSGW_SMTP_DOMAINS: "${d}" is not a domain name such as sms.example.com`);
    }
  }
  const rawTextFrom = env.SMSGW_SMTP_TEXT_FROM || b.textFrom;
  const textFrom = rawTextFrom === 'both' ? 'subject+body' : rawTextFrom;
  if (textFrom !== 'subject' && textFrom !== 'body' && textFrom !== 'subject+body') {
    throw new ConfigError('SMSGW_SMTP_TEXT_FROM must be subject, body or subject+body (both)');
  }
  const smtp: SmtpConfig = {
    port: int(env, 'SMSGW_SMTP_PORT', b.port, 0, 65535),
    domains,
    textFrom,
    certFile: env.SMSGW_SMTP_TLS_CERT || b.certFile,
    keyFile: env.SMSGW_SMTP_TLS_KEY || b.keyFile,
    allowInsecureAuth: bool(env, 'SMSGW_SMTP_ALLOW_INSECURE_AUTH', b.allowInsecureAuth),
    maxMessageBytes: int(env, 'SMSGW_SMTP_MAX_MESSAGE_BYTES', b.maxMessageBytes, 1024, 52_428_800),
    maxRecipients: int(env, 'SMSGW_SMTP_MAX_RECIPIENTS', b.maxRecipients, 1, 1000),
    maxConnections: int(env, 'SMSGW_SMTP_MAX_CONNECTIONS', b.maxConnections, 1, 100_000),
    maxConnectionsPerIp: int(env, 'SMSGW_SMTP_MAX_CONNECTIONS_PER_IP', b.maxConnectionsPerIp, 1, 100_000),
    idleTimeoutMs: int(env, 'SMSGW_SMTP_IDLE_TIMEOUT_MS', b.idleTimeoutMs, 1000, 3_600_000),
    dataTimeoutMs: int(env, 'SMSGW_SMTP_DATA_TIMEOUT_MS', b.dataTimeoutMs, 1000, 3_600_000),
  };
  if (!!smtp.certFile !== !!smtp.keyFile) {
    throw new ConfigError('SMSGW_SMTP_TLS_CERT and SMSGW_SMTP_TLS_KEY go together (PEM files)');
  }
  // Passwords and API keys travel in AUTH: in clear text only when the operator says so.
  if (smtp.port > 0 && !smtp.certFile && !smtp.allowInsecureAuth) {
    throw new ConfigError(
      'SMSGW_SMTP_PORT needs SMSGW_SMTP_TLS_CERT and SMSGW_SMTP_TLS_KEY for STARTTLS, or SMSGW_SMTP_ALLOW_INSECURE_AUTH=true on a trusted network',
    );
  }
  return smtp;
}

function readFileConfig(path: string | undefined): Partial<Config> {
  if (!path) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Partial<Config>;
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
}

/** The HTTP face's and the webhook sender's limits (README, "Limits"). */
function httpLimits(env: Env, base: Omit<Config, 'nodeId'>): Pick<Config, 'http' | 'webhooks'> {
  const h = { ...DEFAULTS.http, ...(base.http ?? {}) };
  const w = { ...DEFAULTS.webhooks, ...(base.webhooks ?? {}) };
  const cidrs = env.SMSGW_WEBHOOK_ALLOW_CIDRS ?? w.allowCidrs.join(',');
  const allowCidrs = cidrs
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  for (const c of allowCidrs) {
    if (!parseCidr(c)) {
      throw new ConfigError(`SMSGW_WEBHOOK_ALLOW_CIDRS: "${c}" is not a CIDR such as 10.0.0.0/8 or fd00::/8`);
    }
  }
  const token = env.SMSGW_METRICS_TOKEN ?? h.metricsToken;
  if (token !== undefined && token !== '' && token.length < 16) {
    throw new ConfigError('SMSGW_METRICS_TOKEN must be at least 16 characters');
  }
  return {
    http: {
      headersTimeoutMs: int(env, 'SMSGW_HTTP_HEADERS_TIMEOUT_MS', h.headersTimeoutMs, 100, 600_000),
      requestTimeoutMs: int(env, 'SMSGW_HTTP_REQUEST_TIMEOUT_MS', h.requestTimeoutMs, 100, 3_600_000),
      keepAliveTimeoutMs: int(env, 'SMSGW_HTTP_KEEPALIVE_TIMEOUT_MS', h.keepAliveTimeoutMs, 100, 600_000),
      idleTimeoutMs: int(env, 'SMSGW_HTTP_IDLE_TIMEOUT_MS', h.idleTimeoutMs, 0, 3_600_000),
      maxHeaderBytes: int(env, 'SMSGW_HTTP_MAX_HEADER_BYTES', h.maxHeaderBytes, 1024, 1_048_576),
      maxConnectionsPerIp: int(env, 'SMSGW_HTTP_MAX_CONNECTIONS_PER_IP', h.maxConnectionsPerIp, 1, 100_000),
      maxConnections: int(env, 'SMSGW_HTTP_MAX_CONNECTIONS', h.maxConnections, 1, 1_000_000),
      longPollMax: int(env, 'SMSGW_LONGPOLL_MAX', h.longPollMax, 1, 100_000),
      longPollPerUser: int(env, 'SMSGW_LONGPOLL_PER_USER', h.longPollPerUser, 1, 10_000),
      loginFailuresPerLogin: int(
        env,
        'SMSGW_LOGIN_FAILURES_PER_LOGIN',
        h.loginFailuresPerLogin,
        1,
        1_000_000,
      ),
      loginFailuresPerIp: int(env, 'SMSGW_LOGIN_FAILURES_PER_IP', h.loginFailuresPerIp, 1, 1_000_000),
      loginWindowMs: int(env, 'SMSGW_LOGIN_WINDOW_MS', h.loginWindowMs, 1000, 86_400_000),
      metricsToken: token || undefined,
    },
    webhooks: {
      allowPrivate: bool(env, 'SMSGW_WEBHOOK_ALLOW_PRIVATE', w.allowPrivate),
      allowCidrs,
      concurrency: int(env, 'SMSGW_WEBHOOK_CONCURRENCY', w.concurrency, 1, 1000),
      perAccount: int(env, 'SMSGW_WEBHOOK_PER_ACCOUNT', w.perAccount, 1, 1000),
    },
  };
}

/** Builds the frozen config from defaults, an optional JSON file and the environment. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const file = readFileConfig(env.SMSGW_CONFIG);
  const base: Omit<Config, 'nodeId'> = {
    ...DEFAULTS,
    ...file,
    dispatch: { ...DEFAULTS.dispatch, ...(file.dispatch ?? {}) },
    smppLimits: { ...DEFAULTS.smppLimits, ...(file.smppLimits ?? {}) },
  };
  const dbUrl = env.DATABASE_URL || base.databaseUrl;
  if (dbUrl && !/^postgres(ql)?:\/\//.test(dbUrl)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// URL (leave it unset for SQLite)');
  }
  const sync = (env.SMSGW_SQLITE_SYNCHRONOUS || base.sqliteSynchronous).toUpperCase();
  if (sync !== 'FULL' && sync !== 'NORMAL')
    throw new ConfigError('SMSGW_SQLITE_SYNCHRONOUS must be FULL or NORMAL');
  const config: Config = {
    ...base,
    port: int(env, 'SMSGW_PORT', base.port, 0, 65535),
    host: env.SMSGW_HOST || base.host,
    dataDir: resolve(env.SMSGW_DATA_DIR || base.dataDir),
    databaseUrl: dbUrl || undefined,
    adminPassword: env.SMSGW_ADMIN_PASSWORD || base.adminPassword,
    adminApiKey: env.SMSGW_ADMIN_API_KEY || base.adminApiKey,
    defaultRegion: region(env.SMSGW_DEFAULT_REGION ?? base.defaultRegion, 'SMSGW_DEFAULT_REGION'),
    simulator: bool(env, 'SMSGW_SIMULATOR', base.simulator),
    smppPort: int(env, 'SMSGW_SMPP_PORT', base.smppPort, 0, 65535),
    smppTls: {
      port: int(env, 'SMSGW_SMPP_TLS_PORT', base.smppTls.port, 0, 65535),
      certFile: env.SMSGW_SMPP_TLS_CERT || base.smppTls.certFile,
      keyFile: env.SMSGW_SMPP_TLS_KEY || base.smppTls.keyFile,
    },
    logLevel: env.SMSGW_LOG_LEVEL || base.logLevel,
    sqliteSynchronous: sync,
    sqliteCacheMib: int(env, 'SMSGW_SQLITE_CACHE_MIB', base.sqliteCacheMib, 1, 4096),
    userRateLimit: int(env, 'SMSGW_USER_RATE_LIMIT', base.userRateLimit, 0, 1_000_000),
    webhookRetryBaseMs: int(env, 'SMSGW_WEBHOOK_RETRY_BASE_MS', base.webhookRetryBaseMs, 0, 3_600_000),
    campaignLeaseMs: int(env, 'SMSGW_CAMPAIGN_LEASE_MS', base.campaignLeaseMs, 1_000, 600_000),
    importMaxBytes: int(env, 'SMSGW_IMPORT_MAX_BYTES', base.importMaxBytes, 1_024, 4 * 1024 * 1024 * 1024),
    shutdownGraceMs: int(env, 'SMSGW_SHUTDOWN_GRACE_MS', base.shutdownGraceMs, 0, 600_000),
    retention: {
      messagesDays: int(env, 'SMSGW_RETENTION_MESSAGES_DAYS', base.retention.messagesDays, 0, 36_500),
      inboundDays: int(env, 'SMSGW_RETENTION_INBOUND_DAYS', base.retention.inboundDays, 0, 36_500),
      webhooksDays: int(env, 'SMSGW_RETENTION_WEBHOOKS_DAYS', base.retention.webhooksDays, 0, 36_500),
    },
    smppLimits: smppLimits(env, base.smppLimits),
    smtp: smtpConfig(env, base.smtp),
    otp: otpConfig(env, base.otp),
    ...httpLimits(env, base),
    lists: {
      whitelistMax: int(env, 'SMSGW_WHITELIST_MAX', base.lists.whitelistMax, 0, 1_000_000),
      blacklistMax: int(env, 'SMSGW_BLACKLIST_MAX', base.lists.blacklistMax, 0, 100_000_000),
    },
    nodeId: `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    cluster: clusterConfig(env, base.cluster),
    dispatch: {
      ...base.dispatch,
      leaseMs: int(env, 'SMSGW_LEASE_MS', base.dispatch.leaseMs, 1000, 86_400_000),
      retryBaseMs: int(env, 'SMSGW_RETRY_BASE_MS', base.dispatch.retryBaseMs, 0, 86_400_000),
    },
  };
  if (config.http.idleTimeoutMs !== 0 && config.http.idleTimeoutMs <= 61_000) {
    throw new ConfigError('SMSGW_HTTP_IDLE_TIMEOUT_MS must be 0 (off) or longer than the 60 s long-poll');
  }
  if (config.webhooks.perAccount > config.webhooks.concurrency) {
    throw new ConfigError('SMSGW_WEBHOOK_PER_ACCOUNT cannot exceed SMSGW_WEBHOOK_CONCURRENCY');
  }
  if (config.smppTls.port > 0 && (!config.smppTls.certFile || !config.smppTls.keyFile)) {
    throw new ConfigError('SMSGW_SMPP_TLS_PORT needs SMSGW_SMPP_TLS_CERT and SMSGW_SMPP_TLS_KEY (PEM files)');
  }
  if (config.adminApiKey !== undefined && config.adminApiKey.length < 16) {
    throw new ConfigError('SMSGW_ADMIN_API_KEY must be at least 16 characters');
  }
  return Object.freeze(config);
}

/** Where a node runs among several (issue 17). */
export interface ClusterConfig {
  /**
   * This node's name (SMSGW_NODE_NAME, default the hostname). A modem or local Gammu channel
   * whose config names a `node` runs only on the node of that name.
   */
  nodeName: string;
  /**
   * A channel's lease (SMSGW_CHANNEL_LEASE_MS): renewed every third of it with the node's
   * heartbeat; a node silent this long is dead and its channels move. 6 s: a stall of the event
   * loop (a GC pause, a slow disk) is far shorter, and a dead node's channels move within 6 to 8 s.
   */
  channelLeaseMs: number;
}

function clusterConfig(env: Env, base: ClusterConfig): ClusterConfig {
  const nodeName = env.SMSGW_NODE_NAME || base.nodeName;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(nodeName))
    throw new ConfigError('SMSGW_NODE_NAME must be 1 to 64 letters, digits, dots, dashes or underscores');
  return {
    nodeName,
    channelLeaseMs: int(env, 'SMSGW_CHANNEL_LEASE_MS', base.channelLeaseMs, 1000, 600_000),
  };
}
