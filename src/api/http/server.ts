/** The HTTP face: fastify with one error registry, auth on /v1, OpenAPI at /docs. */
import Fastify, { LogController } from 'fastify';
import type { FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import client from 'prom-client';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { ApiError, say } from '../../core/errors.js';
import { REDACT_PATHS, redactUrl } from '../../core/redact.js';
import type { UrlGuard } from '../../delivery/url-guard.js';
import { RateLimiter } from '../../core/rate-limit.js';
import type { AuthService } from '../../services/auth.js';
import type { MessageService } from '../../services/messages.js';
import type { InboundService } from '../../delivery/inbound.js';
import { authenticate } from './auth.js';
import { registerDashboard } from './dashboard.js';
import { ConnectionLimit } from './connections.js';
import { clientErrorHandler, errorHandler, sendError } from './errors.js';
import { lazyValidators } from './lazy-validation.js';
import { LongPollLimit } from './long-poll.js';
import { strictInputs } from './strict.js';
import { refResolver, registerOpenApi } from './openapi.js';
import { adminRoutes } from './routes/admin.js';
import { kannelRoutes } from './routes/compat/kannel.js';
import { refuseUnknownFields } from './unknown-fields.js';
import { jasminRoutes } from './routes/compat/jasmin.js';
import { jasminRestRoutes } from './routes/compat/jasmin-rest.js';
import { otpRoutes } from './routes/otp.js';
import { registerXml } from './xml.js';
import { playSmsRoutes } from './routes/compat/playsms.js';
import type { OtpService } from '../../services/otp.js';
import { deliveryRoutes } from './routes/delivery.js';
import { messageRoutes } from './routes/messages.js';
import type { NodeStatusSource } from './routes/nodes.js';
import { auditRoutes } from './routes/audit.js';
import { nodeRoutes } from './routes/nodes.js';
import type { OpsDeps } from './routes/ops.js';
import { createMetrics, opsRoutes } from './routes/ops.js';
import { reportRoutes } from './routes/reports.js';
import { seedRoutes } from './routes/seed.js';
import { sessionRoutes } from './routes/session.js';
import { templateRoutes } from './routes/templates.js';
import { consentRoutes } from './routes/consents.js';
import { smppCredentialRoutes } from './routes/smpp-credentials.js';
import { policyRoutes } from './routes/policy.js';
import { contactRoutes } from './routes/contacts.js';
import { campaignRoutes } from './routes/campaigns.js';
import type { CampaignService } from '../../services/campaigns.js';
import type { CountryCode } from 'libphonenumber-js';

export interface HttpDeps extends OpsDeps {
  auth: AuthService;
  messages: MessageService;
  inbound: InboundService;
  logger: Logger;
  /** Requests per second per user; 0 for no limit. */
  userRateLimit: number;
  /** The dashboard build to serve at /; default web/dist beside the sources. */
  webDir?: string | undefined;
  /** Timeouts, connection and waiter caps, login throttle, metrics token (config.http). */
  limits: Config['http'];
  /** Checks webhook, callback and forward URLs when they are set. */
  urlGuard?: UrlGuard | undefined;
  /** One-time passwords (/v1/otp); absent: the routes are not served. */
  otp?: OtpService | undefined;
  /** Sending-policy list sizes (config.lists) and the region for numbers without a country code. */
  policy?: { lists: Config['lists']; defaultRegion?: Config['defaultRegion'] } | undefined;
  /** Nodes and channel leases for GET /v1/nodes (dispatch/leases.ts). */
  cluster?: NodeStatusSource | undefined;
  /** Contacts and campaigns (issue 15). */
  campaigns?: CampaignService | undefined;
  defaultRegion?: CountryCode | undefined;
  maxImportBytes?: number | undefined;
}

export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const limits = deps.limits;
  const logger = deps.logger.child(
    { face: 'http' },
    {
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        req: (req: { method?: string; url?: string; ip?: string }) => ({
          method: req.method,
          url: req.url === undefined ? undefined : redactUrl(req.url),
          remoteAddress: req.ip,
        }),
      },
    },
  );
  const app = Fastify({
    loggerInstance: logger,
    // Access logs at 5k req/s would cost more than the requests; metrics cover latency instead.
    logController: new LogController({ disableRequestLogging: true }),
    // 1,000 recipients with a long text fit easily; anything larger is a mistake or an attack.
    bodyLimit: 2 * 1024 * 1024,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
    // Each route's validators compiled on its first request, not at start (lazy-validation.ts).
    schemaController: { compilersFactory: { buildValidator: lazyValidators() } },
    return503OnClosing: true,
    // Bounded connections (issue 12): a slowloris sending headers a byte at a time is answered
    // 408 and closed after headersTimeout; a slow body after requestTimeout; idle keep-alive
    // sockets go after keepAliveTimeout; a socket silent both ways (a client that stopped
    // reading) after idleTimeout, longer than the longest long-poll (60 s).
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    http: {
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      maxHeaderSize: limits.maxHeaderBytes,
      // Node checks these timeouts on an interval (30 s by default), so a 10 s limit could hold
      // for 40 s; a one-second sweep over the open connections costs microseconds.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    clientErrorHandler,
    // Malformed URLs and the like must get our error body too, never a bare framework error.
    frameworkErrors: (err, _req, reply) => {
      void sendError(
        reply,
        new ApiError('validation_failed', say('api.badRequest', { detail: err.message })),
      );
    },
  }) as unknown as FastifyInstance;

  app.addHook('onRoute', refuseUnknownFields);
  // JSON sent as text/plain is a client bug: 415 on the API instead of a confusing schema error.
  // The Kannel face parses its own bodies (text/plain is its POST form) in its own context.
  app.removeContentTypeParser('text/plain');
  await app.register(formbody);
  registerXml(app);
  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      info: { title: 'smsgw', version: '1', description: 'Self-hosted SMS gateway API' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API key' },
          basic: { type: 'http', scheme: 'basic', description: 'login:password' },
        },
      },
      security: [{ bearer: [] }, { basic: [] }],
    },
    refResolver,
  });
  registerOpenApi(app);
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) =>
    sendError(
      reply,
      new ApiError(
        'route_not_found',
        say('api.routeNotFound', { method: req.method, path: req.url.split('?')[0] }),
      ),
    ),
  );

  const connections = new ConnectionLimit(limits.maxConnectionsPerIp);
  connections.attach(app.server);
  // Beyond this Node closes new sockets at once, before any parsing: the last line against a
  // flood from many addresses (Node raises the descriptor limit to the hard limit at start).
  app.server.maxConnections = limits.maxConnections;
  app.addHook('onRequest', connections.hook);
  app.addHook('preValidation', strictInputs);

  app.decorateRequest('principal', null);
  const limiter =
    deps.userRateLimit > 0 ? new RateLimiter(deps.userRateLimit, deps.userRateLimit * 2) : undefined;
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/v1/')) return;
    req.principal = await authenticate(deps.auth, req);
    const wait = limiter?.take(req.principal.user.id, Date.now()) ?? 0;
    if (wait > 0) {
      reply.header('retry-after', String(Math.ceil(wait)));
      throw new ApiError('rate_limited', say('api.rateLimited', { limit: deps.userRateLimit }));
    }
  });

  const metrics = createMetrics(deps);
  app.addHook('onResponse', async (req, reply) => {
    metrics.httpDuration.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  messageRoutes(app, deps);
  adminRoutes(app, deps);
  nodeRoutes(app, deps);
  auditRoutes(app, deps);
  const longPoll = new LongPollLimit(limits.longPollMax, limits.longPollPerUser);
  // What the limits hold back, so an operator sees a flood or a too-tight limit.
  new client.Gauge({
    name: 'smsgw_http_longpoll_waiting',
    help: 'GET /v1/events?wait= requests waiting now',
    registers: [metrics.registry],
    collect() {
      this.set(longPoll.waiting);
    },
  });
  new client.Counter({
    name: 'smsgw_http_connections_refused_total',
    help: 'Connections refused over SMSGW_HTTP_MAX_CONNECTIONS_PER_IP since start',
    registers: [metrics.registry],
    collect() {
      this.reset();
      this.inc(connections.refusedCount);
    },
  });
  new client.Counter({
    name: 'smsgw_password_hashes_total',
    help: 'Password hashes computed since start (logins, binds; dummy hashes for unknown logins included)',
    registers: [metrics.registry],
    collect() {
      this.reset();
      this.inc(deps.auth.hashChecks);
    },
  });
  new client.Counter({
    name: 'smsgw_logins_throttled_total',
    help: 'Password logins refused before hashing over the failed-login limits since start',
    registers: [metrics.registry],
    collect() {
      this.reset();
      this.inc(deps.auth.throttledCount);
    },
  });
  deliveryRoutes(app, { ...deps, longPoll });
  reportRoutes(app, deps);
  seedRoutes(app, deps);
  kannelRoutes(app, deps);
  jasminRoutes(app, deps);
  jasminRestRoutes(app, deps);
  if (deps.otp) otpRoutes(app, { otp: deps.otp });
  playSmsRoutes(app, deps);
  sessionRoutes(app, deps);
  smppCredentialRoutes(app, deps);
  contactRoutes(app, deps);
  if (deps.campaigns) campaignRoutes(app, { store: deps.store, campaigns: deps.campaigns });
  opsRoutes(app, { ...deps, metricsToken: limits.metricsToken }, metrics);
  templateRoutes(app, deps);
  consentRoutes(app, deps);
  policyRoutes(app, {
    store: deps.store,
    lists: deps.policy?.lists ?? { whitelistMax: 50, blacklistMax: 1_000_000 },
    defaultRegion: deps.policy?.defaultRegion,
  });
  await registerDashboard(app, deps.webDir);
  return app;
}
