/**
 * Composition root: builds everything from the config, starts it, stops it gracefully.
 * First start creates the admin user (and a simulator channel when enabled).
 */
import { CHANNEL_FACTORIES } from './channels/factories.js';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { Logger } from 'pino';
import { buildHttpServer } from './api/http/server.js';
import { SMPP_DEFAULTS, SmppServer } from './api/smpp/server.js';
import type { SmtpFace } from './api/smtp/server.js';
import type { Config } from './config.js';
import { INBOUND_RESUME_EVERY_MS, InboundService } from './delivery/inbound.js';
import { UrlGuard } from './delivery/url-guard.js';
import { WEBHOOK_DEFAULTS, WebhookWorker } from './delivery/webhooks.js';
import { REDACT_PATHS } from './core/redact.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { ChannelRegistry } from './dispatch/registry.js';
import { wireWakeups } from './dispatch/wakeups.js';
import { ChannelLeases } from './dispatch/leases.js';
import { AuthService } from './services/auth.js';
import { Housekeeper } from './services/housekeeping.js';
import { MessageService } from './services/messages.js';
import { OtpService } from './services/otp.js';
import { campaignTemplate } from './services/templates.js';
import { CampaignRunner, RUNNER_DEFAULTS } from './services/campaign-runner.js';
import { CAMPAIGN_LIMITS, CampaignService } from './services/campaigns.js';
import { apiKeyFromChosen, hashPassword, mintApiKey, randomPassword } from './services/secrets.js';
import type { Store } from './store/index.js';
import { createStore, openDb, sqlitePathFor } from './store/index.js';

export interface App {
  config: Readonly<Config>;
  store: Store;
  auth: AuthService;
  messages: MessageService;
  registry: ChannelRegistry;
  dispatcher: Dispatcher;
  /** Channel leases and this node's heartbeat (issue 17). */
  leases: ChannelLeases;
  webhooks: WebhookWorker;
  inbound: InboundService;
  housekeeper: Housekeeper;
  campaigns: CampaignService;
  campaignRunner: CampaignRunner;
  /** The SMPP server face, when SMSGW_SMPP_PORT is not 0. */
  smpp?: SmppServer | undefined;
  /** The SMTP face (e-mail to SMS), when SMSGW_SMTP_PORT is not 0. */
  smtp?: SmtpFace | undefined;
  http: FastifyInstance;
  logger: Logger;
  /** Credentials created on this start (first start only), to print once. */
  created?: { login: string; password: string; apiKey: string } | undefined;
  url: string;
  stop(): Promise<void>;
}

export async function openStore(config: Readonly<Config>): Promise<Store> {
  const db = await openDb({
    databaseUrl: config.databaseUrl,
    sqlitePath: config.databaseUrl ? undefined : sqlitePathFor(config.dataDir),
    sqliteSynchronous: config.sqliteSynchronous,
    sqliteCacheMib: config.sqliteCacheMib,
  });
  return createStore(db);
}

/** Creates the first admin when the database has no user; returns what to print. */
export async function bootstrapAdmin(
  store: Store,
  config: Readonly<Config>,
): Promise<{ login: string; password: string; apiKey: string } | undefined> {
  if ((await store.users.count()) > 0) return undefined;
  const password = config.adminPassword ?? randomPassword();
  const admin = await store.users.create({
    login: 'admin',
    passwordHash: await hashPassword(password),
    role: 'admin',
  });
  let apiKey: string;
  if (config.adminApiKey) {
    apiKey = config.adminApiKey;
    const k = apiKeyFromChosen(apiKey);
    await store.keys.create({
      userId: admin.id,
      name: 'bootstrap',
      prefix: k.prefix,
      secretHash: k.secretHash,
    });
  } else {
    const k = mintApiKey();
    apiKey = k.key;
    await store.keys.create({
      userId: admin.id,
      name: 'bootstrap',
      prefix: k.prefix,
      secretHash: k.secretHash,
    });
  }
  if (config.simulator && !(await store.channels.byName('simulator'))) {
    await store.channels.create({
      name: 'simulator',
      type: 'simulator',
      owner_id: null,
      config: '{}',
      monthly_limit: null,
      count_mode: 'segments',
      min_interval_ms: 0,
      max_in_flight: 200,
      priority: 1000,
      enabled: 1,
    });
  }
  return { login: 'admin', password, apiKey };
}

export async function startApp(config: Readonly<Config>, opts: { logger?: Logger } = {}): Promise<App> {
  const logger =
    opts.logger ?? pino({ level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
  const store = await openStore(config);
  const created = await bootstrapAdmin(store, config);
  const auth = new AuthService(store, {
    perLogin: config.http.loginFailuresPerLogin,
    perIp: config.http.loginFailuresPerIp,
    windowMs: config.http.loginWindowMs,
  });
  const urlGuard = new UrlGuard(config.webhooks);
  const messages = new MessageService(store, {
    maxRecipients: config.maxRecipients,
    maxSegments: config.maxSegments,
    defaultValidityMinutes: config.defaultValidityMinutes,
    maxAttempts: config.dispatch.maxAttempts,
    defaultRegion: config.defaultRegion,
    urlGuard,
  });
  const otp = new OtpService(store, messages, { ...config.otp, defaultRegion: config.defaultRegion });
  const webhooks = new WebhookWorker(
    store,
    logger.child({ part: 'webhooks' }),
    {
      ...WEBHOOK_DEFAULTS,
      retryBaseMs: config.webhookRetryBaseMs,
      concurrency: config.webhooks.concurrency,
      perAccount: config.webhooks.perAccount,
    },
    urlGuard,
  );
  const inbound = new InboundService(store, messages, logger.child({ part: 'inbound' }), () =>
    webhooks.poke(),
  );
  const registry: ChannelRegistry = new ChannelRegistry(
    store,
    logger,
    {
      // Reports only arrive after start, when `dispatcher` below exists.
      deliveryReport: (channelId, r) => dispatcher.report(channelId, r),
      inbound: (channelId, s) => inbound.receive(channelId, s),
    },
    config.dataDir,
  );
  for (const [type, factory] of Object.entries(CHANNEL_FACTORIES)) registry.register(type, factory);
  const dispatcher: Dispatcher = new Dispatcher(store, registry, config, logger.child({ part: 'dispatch' }));
  const leases = new ChannelLeases(
    store,
    { nodeId: config.nodeId, nodeName: config.cluster.nodeName, leaseMs: config.cluster.channelLeaseMs },
    logger.child({ part: 'leases' }),
  );
  registry.setPlacement(leases);
  leases.onRound = () => registry.sync();
  leases.onRequeued = () => dispatcher.poke();
  // A channel given back elsewhere (balance, shutdown) is taken at once, not at the next round.
  const offLeaseMoves = store.db.notifier.subscribe('channels', () => void leases.round());
  messages.claimOnAccept(dispatcher.acceptClaim);
  // An accept that claimed all this node could send leaves its dispatcher nothing to look for.
  messages.onAccepted((claimedAll) => {
    if (!claimedAll) dispatcher.poke();
  });
  const smpp =
    config.smppPort > 0 || config.smppTls.port > 0
      ? new SmppServer(
          { auth, messages, store, logger, region: config.defaultRegion },
          { ...SMPP_DEFAULTS, ...config.smppLimits, submitRate: config.userRateLimit },
        )
      : undefined;
  dispatcher.onFinal = () => webhooks.eventsAdded();
  // The event fan-out queues SMPP receipts with the webhooks; the SMPP face sends them.
  webhooks.onFannedOut = () => smpp?.outbox.poke();
  inbound.onStored = () => smpp?.outbox.poke();
  const campaigns = new CampaignService(store, { ...CAMPAIGN_LIMITS, defaultRegion: config.defaultRegion });
  campaigns.resolveTemplate = (ownerId, templateId) => campaignTemplate(store, ownerId, templateId);
  const campaignRunner = new CampaignRunner(store, messages, logger.child({ part: 'campaigns' }), {
    ...RUNNER_DEFAULTS,
    leaseMs: config.campaignLeaseMs,
  });
  campaigns.onChange = () => campaignRunner.poke();
  let ready = false;
  const http = await buildHttpServer({
    campaigns,
    defaultRegion: config.defaultRegion,
    maxImportBytes: config.importMaxBytes,
    store,
    registry,
    dispatcher,
    auth,
    messages,
    inbound,
    logger,
    userRateLimit: config.userRateLimit,
    limits: config.http,
    urlGuard,
    otp,
    ready: () => ready,
    policy: { lists: config.lists, defaultRegion: config.defaultRegion },
    cluster: leases,
  });
  // Subscribed before the first sync: a change committed from now on is not missed.
  const unwire = wireWakeups({
    notifier: store.db.notifier,
    dispatcher,
    registry,
    auth,
    messages,
    webhooks,
    log: logger.child({ part: 'wakeups' }),
  });
  await store.db.notifier.ready();
  await inbound.resume();
  // Rules a stopped node had claimed run here once its claim runs out (several nodes).
  const resumeTimer = setInterval(
    () => void inbound.resume().catch((err: unknown) => logger.error({ err }, 'inbound resume failed')),
    INBOUND_RESUME_EVERY_MS,
  );
  resumeTimer.unref();
  // Takes this node's channel leases and starts their drivers (registry.sync), then keeps renewing.
  await leases.start();
  await dispatcher.start(store.db.caps.exclusiveNode);
  webhooks.start();
  campaignRunner.start();
  const housekeeper = new Housekeeper(store, config.retention, logger.child({ part: 'housekeeping' }));
  housekeeper.start();
  if (smpp && config.smppPort > 0) {
    const port = await smpp.listen(config.smppPort, config.host);
    logger.info({ port }, 'SMPP server listening');
  }
  if (smpp && config.smppTls.port > 0) {
    const tls = {
      cert: readFileSync(config.smppTls.certFile as string, 'utf8'),
      key: readFileSync(config.smppTls.keyFile as string, 'utf8'),
    };
    const port = await smpp.listen(config.smppTls.port, config.host, tls);
    logger.info({ port }, 'SMPP server listening (TLS)');
  }
  let smtp: SmtpFace | undefined;
  if (config.smtp.port > 0) {
    const tls = config.smtp.certFile
      ? {
          cert: readFileSync(config.smtp.certFile, 'utf8'),
          key: readFileSync(config.smtp.keyFile as string, 'utf8'),
        }
      : undefined;
    // Loaded only when the face is on: mailparser (iconv-lite's and encoding-japanese's tables,
    // html-to-text, libmime) is the largest dependency; imported into a bare node it adds 6.7 MB
    // of V8 heap and 31 MB of RSS, smtp-server 2 MB and 12 MB (shared code counted in both).
    const { SmtpFace } = await import('./api/smtp/server.js');
    smtp = new SmtpFace(
      { auth, messages, store, logger, region: config.defaultRegion, rateLimit: config.userRateLimit },
      config.smtp,
      tls,
    );
    const port = await smtp.listen(config.smtp.port, config.host);
    logger.info({ port, starttls: !!tls }, 'SMTP server listening');
  }
  const address = await http.listen({ port: config.port, host: config.host });
  ready = true;
  const url = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
  await leases.setHttpUrl(url);
  return {
    config,
    store,
    auth,
    messages,
    registry,
    dispatcher,
    leases,
    webhooks,
    inbound,
    housekeeper,
    campaigns,
    campaignRunner,
    smpp,
    smtp,
    http,
    logger,
    created,
    url,
    async stop() {
      ready = false;
      leases.halt();
      // Order matters: stop taking requests, commit what was accepted, finish sends, close.
      // A client that stops reading (or a stuck download) must not hold shutdown forever.
      const force = setTimeout(() => http.server.closeAllConnections(), config.shutdownGraceMs);
      await http.close();
      clearTimeout(force);
      await smpp?.close();
      await smtp?.close(config.shutdownGraceMs);
      await campaignRunner.stop();
      await messages.drain();
      unwire();
      offLeaseMoves();
      clearInterval(resumeTimer);
      await dispatcher.stop();
      await registry.stopAll();
      // Drivers stopped: other nodes may take the channels at once.
      await leases.stop();
      await inbound.idle();
      await webhooks.stop();
      await housekeeper.stop();
      await store.close();
    },
  };
}
