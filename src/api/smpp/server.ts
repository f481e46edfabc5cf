/**
 * The SMPP server face: client applications (ESMEs such as Kannel) bind to smsgw with their
 * login and password as system_id/password. submit_sm goes into the same queue with the same
 * policies as the HTTP API; receipts and inbound messages go back as deliver_sm to the user's
 * receiver/transceiver binds from the durable outbox (see outbox.ts). A submit is acknowledged
 * only after its message is committed. One connection is a Session (session.ts); this file
 * listens, admits connections (gate.ts) and holds what sessions share: the parts of
 * concatenated messages (parts.ts) and the outbox pump.
 */
import { createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Server, Socket } from 'node:net';
import type { CountryCode } from 'libphonenumber-js';
import type { Logger } from 'pino';
import type { SmppLimits } from '../../config.js';
import { SMPP_LIMIT_DEFAULTS } from '../../config.js';
import { RateLimiter } from '../../core/rate-limit.js';
import type { AuthService } from '../../services/auth.js';
import type { MessageService } from '../../services/messages.js';
import type { Store } from '../../store/index.js';
import type { Database, NewMessage } from '../../store/schema.js';
import type { Transaction } from 'kysely';
import { KEEP_PARTS_MS, PartsAssembler } from './assembly.js';
import { ConnectionGate } from './gate.js';
import { OutboxPump } from './outbox.js';
import { Session } from './session.js';

export interface SmppServerOptions extends SmppLimits {
  /** submit_sm per second per user (0 = unlimited); over it: ESME_RTHROTTLED. */
  submitRate: number;
}

export const SMPP_DEFAULTS: SmppServerOptions = { ...SMPP_LIMIT_DEFAULTS, submitRate: 0 };

/** Refused connections are logged at most this often (a flood must not flood the log). */
const REFUSAL_LOG_MS = 60_000;

export class SmppServer {
  private readonly servers: Server[] = [];
  private readonly sessions = new Set<Session>();
  private readonly gate: ConnectionGate;
  /** Sends what the outbox holds for users bound here (receipts, inbound messages). */
  readonly outbox: OutboxPump;
  /** Parts of concatenated submits: stored, acknowledged, built into their message when complete. */
  readonly assembler: PartsAssembler;
  readonly limiter: RateLimiter | undefined;
  private readonly log: Logger;
  private lastRefusalLog = 0;

  constructor(
    readonly deps: {
      auth: AuthService;
      messages: MessageService;
      store: Store;
      logger: Logger;
      region?: CountryCode | undefined;
    },
    readonly opts: SmppServerOptions = SMPP_DEFAULTS,
  ) {
    this.log = deps.logger.child({ face: 'smpp' });
    this.limiter = opts.submitRate > 0 ? new RateLimiter(opts.submitRate, opts.submitRate) : undefined;
    this.outbox = new OutboxPump(deps.store, () => this.receivers(), this.log);
    this.gate = new ConnectionGate(opts);
    this.assembler = new PartsAssembler(
      deps.store,
      deps.messages,
      this.log,
      {
        timeoutMs: opts.partsTimeoutMs,
        maxOpenPerUser: opts.maxHeldParts,
        keepMs: KEEP_PARTS_MS,
        region: deps.region,
      },
      (trx, rows) => this.replacePresent(trx, rows),
    );
  }

  /** Receiving binds on this node, by user. */
  private receivers(): Map<string, Session[]> {
    const out = new Map<string, Session[]>();
    for (const s of this.sessions) {
      const id = s.principal?.user.id;
      if (!id || (s.mode !== 'rx' && s.mode !== 'trx')) continue;
      const list = out.get(id);
      if (list) list.push(s);
      else out.set(id, [s]);
    }
    return out;
  }

  /** Plain TCP, or TLS when a certificate and key (PEM) are given. */
  async listen(port: number, host: string, tls?: { cert: string; key: string }): Promise<number> {
    const server = tls
      ? createTlsServer({ cert: tls.cert, key: tls.key }, (socket) => this.accept(socket))
      : createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.servers.push(server);
    this.outbox.start();
    this.assembler.start();
    return (server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.unbindAndClose();
    await this.outbox.stop();
    await this.assembler.stop();
    await Promise.all(this.servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
  }

  /** Open connections, bound or not. */
  get connections(): number {
    return this.gate.connections;
  }

  /** Sessions whose client stopped reading (we stopped reading from them until they drain). */
  get congestedSessions(): number {
    return [...this.sessions].filter((s) => s.isCongested).length;
  }

  /** Connections refused by the per-IP or total limit since start. */
  get refusedConnections(): number {
    return this.gate.refused;
  }

  private accept(socket: Socket): void {
    const ip = socket.remoteAddress ?? '';
    if (!this.gate.admit(ip)) {
      socket.on('error', () => undefined);
      socket.destroy();
      const now = Date.now();
      if (now - this.lastRefusalLog > REFUSAL_LOG_MS) {
        this.lastRefusalLog = now;
        this.log.warn(
          { ip, refused: this.gate.refused },
          'SMPP connection refused: connection limit reached',
        );
      }
      return;
    }
    const session = new Session(this, socket);
    this.sessions.add(session);
    socket.once('close', () => {
      this.sessions.delete(session);
      this.gate.release(ip);
    });
  }

  /**
   * replace_if_present_flag: the user's messages to `to` from the same source and service_type
   * that have not left yet give way to `messageId` (committed already). One already being sent
   * cannot be called back; it goes, as SMPP allows for a message no longer "present".
   */
  async replacePresent(trx: Transaction<Database>, rows: readonly NewMessage[]): Promise<void> {
    const replaced = await this.deps.store.messages.replacePresent(trx, rows);
    if (replaced.length)
      this.log.info(
        { messages: rows.map((r) => r.id), replaced },
        'replace_if_present: earlier messages replaced',
      );
  }

  bindsOf(userId: string): Session[] {
    return [...this.sessions].filter((s) => s.principal?.user.id === userId);
  }

  /** A receiver bound: hand it what waited for one, and queue inbound messages for it from now on. */
  async receiverBound(session: Session): Promise<void> {
    const userId = session.principal?.user.id;
    if (!userId) return;
    await this.deps.store.users.markSmppBound(userId, Date.now());
    this.outbox.poke();
  }
}
