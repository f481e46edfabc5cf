/**
 * The SMTP face: e-mail to SMS. A mail to `<number>@<domain>` (several recipients = several
 * messages) becomes SMS through the same MessageService as the REST API, so the same
 * validation, opt-outs and group commit apply, and the client gets `250` only after the
 * messages are committed. Nobody relays without AUTH (PLAIN or LOGIN with the user's login and
 * password, throttled and hashed by the AuthService, or an API key as the password): MAIL
 * before AUTH is answered 530. Passwords travel only inside STARTTLS unless the operator
 * allows otherwise (config.ts). Every resource a client holds is bounded: connections in total
 * and per address (gate), recipients per mail, the size of a mail (the only buffer), idle time, the time one mail's
 * DATA may take.
 *
 * Exactly once: a client that lost our `250` (timeout, dropped connection) sends the mail
 * again with the same Message-ID; the Message-ID, the recipients and the text form the
 * idempotency key, so the second copy answers with the first result and creates nothing.
 */
import type { CountryCode } from 'libphonenumber-js';
import type { Logger } from 'pino';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerAuthentication, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { SmtpConfig } from '../../config.js';
import { ApiError } from '../../core/errors.js';
import { RateLimiter } from '../../core/rate-limit.js';
import type { AuthService, Principal } from '../../services/auth.js';
import type { MessageService } from '../../services/messages.js';
import { sha256 } from '../../services/secrets.js';
import type { Store } from '../../store/index.js';
import { ConnectionGate } from '../smpp/gate.js';
import { parseRecipient } from './recipient.js';
import { smsText } from './text.js';

export interface SmtpFaceDeps {
  auth: AuthService;
  messages: MessageService;
  store: Store;
  logger: Logger;
  /** Numbers written without a country code (SMSGW_DEFAULT_REGION). */
  region?: CountryCode | undefined;
  /** Mails per second per user (SMSGW_USER_RATE_LIMIT); 0 = unlimited. */
  rateLimit: number;
}

/** An error whose `responseCode` is the SMTP reply the client gets. */
function reply(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message.replace(/[\r\n]+/g, ' ')), { responseCode: code });
}

/** What an authenticated session carries in `session.user`. */
interface SessionUser {
  principal: Principal;
}

export class SmtpFace {
  private readonly server: SMTPServer;
  private readonly gate: ConnectionGate;
  /** Sessions that hold a gate slot, and the address they hold it for. */
  private readonly admitted = new Map<string, string>();
  /** Mails being parsed and committed: shutdown lets them finish before it hangs up. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly limiter: RateLimiter | undefined;
  private readonly log: Logger;
  private closing = false;
  /** Mails accepted and refused since start (for logs and tests). */
  accepted = 0;
  refused = 0;

  constructor(
    private readonly deps: SmtpFaceDeps,
    private readonly cfg: SmtpConfig,
    tls?: { cert: string; key: string },
  ) {
    this.log = deps.logger.child({ face: 'smtp' });
    this.gate = new ConnectionGate(cfg);
    this.limiter = deps.rateLimit > 0 ? new RateLimiter(deps.rateLimit, deps.rateLimit * 2) : undefined;
    this.server = new SMTPServer({
      banner: 'smsgw e-mail to SMS',
      // Without our own certificate smtp-server would offer STARTTLS with its built-in one,
      // whose private key is public: no STARTTLS at all is more honest.
      ...(tls ? { key: tls.key, cert: tls.cert } : { disabledCommands: ['STARTTLS'] }),
      authMethods: ['PLAIN', 'LOGIN'],
      authOptional: false,
      authRequiredMessage: 'Authentication required: AUTH with your smsgw login and password or an API key',
      allowInsecureAuth: cfg.allowInsecureAuth,
      size: cfg.maxMessageBytes,
      rejectOversized: true,
      maxRecipients: cfg.maxRecipients,
      maxClients: cfg.maxConnections,
      socketTimeout: cfg.idleTimeoutMs,
      disableReverseLookup: true,
      logger: false,
      onConnect: (session, cb) => this.onConnect(session, cb),
      onClose: (session) => this.onClose(session),
      onAuth: (auth, session, cb) => {
        this.onAuth(auth, session).then(
          (principal) => cb(null, { user: { principal } satisfies SessionUser }),
          (err: Error) => cb(err),
        );
      },
      onMailFrom: (_address, session, cb) => {
        this.onMailFrom(session).then(
          () => cb(),
          (err: Error & { responseCode?: number }) => {
            if (err.responseCode) return cb(err);
            this.log.warn({ err }, 'SMTP MAIL failed on our side');
            cb(reply(451, 'Temporary failure; try again later'));
          },
        );
      },
      onRcptTo: (address, _session, cb) => {
        const r = parseRecipient(address.address, this.cfg.domains, this.deps.region);
        cb(r.ok ? undefined : reply(r.code, r.message));
      },
      onData: (stream, session, cb) => this.onData(stream, session, cb),
    });
    this.server.on('error', (err) => this.log.warn({ err }, 'SMTP connection error'));
  }

  async listen(port: number, host: string): Promise<number> {
    const net = this.server.server;
    await new Promise<void>((resolve, reject) => {
      net.once('error', reject);
      this.server.listen(port, host, () => {
        net.off('error', reject);
        resolve();
      });
    });
    return (net.address() as { port: number }).port;
  }

  /**
   * Stops listening, lets the mails being committed finish (at most `graceMs`), then says 421 to
   * every connection still open: an idle client must not hold shutdown.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    // smtp-server's own deadline (30 s by default) for clients that do not hang up after 421.
    this.server.options.closeTimeout = Math.max(1, graceMs);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
    for (const c of this.server.connections) {
      c.send(421, 'smsgw is shutting down, try again later');
      c.close();
    }
    await closed;
  }

  /** Open connections. */
  get connections(): number {
    return this.gate.connections;
  }

  private onConnect(session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    if (this.closing) return cb(reply(421, 'smsgw is shutting down, try again later'));
    const ip = session.remoteAddress;
    if (!this.gate.admit(ip)) {
      return cb(reply(421, 'Too many connections from your address, try again later'));
    }
    this.admitted.set(session.id, ip);
    cb();
  }

  private onClose(session: SMTPServerSession): void {
    const ip = this.admitted.get(session.id);
    if (ip === undefined) return;
    this.admitted.delete(session.id);
    this.gate.release(ip);
  }

  /**
   * An API key as the password (the username being its owner's login, or `apikey`), else the
   * login and password, throttled per login and address before any hash as on every face.
   */
  private async onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession): Promise<Principal> {
    const username = auth.username ?? '';
    const password = auth.password ?? '';
    if (password === '') throw reply(535, 'Authentication credentials invalid');
    try {
      const p = await this.deps.auth.byApiKey(password);
      if (username === p.user.login || username.toLowerCase() === 'apikey') return p;
    } catch (err) {
      if (err instanceof ApiError && err.code === 'account_blocked')
        throw reply(535, 'The account is blocked');
      if (!(err instanceof ApiError)) throw reply(454, 'Temporary authentication failure');
    }
    let user;
    try {
      user = await this.deps.auth.byPassword(username, password, { ip: session.remoteAddress });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'too_many_attempts') throw reply(454, err.message);
      this.log.warn({ err }, 'SMTP AUTH failed on our side');
      throw reply(454, 'Temporary authentication failure');
    }
    if (!user) throw reply(535, 'Authentication credentials invalid');
    if (user.status !== 'active') throw reply(535, 'The account is blocked');
    return { user, apiKeyId: null };
  }

  /** A new mail: the account must still be active (sessions are long), and within its rate. */
  private async onMailFrom(session: SMTPServerSession): Promise<void> {
    if (this.closing) throw reply(421, 'smsgw is shutting down, try again later');
    const { principal } = session.user as SessionUser;
    const user = await this.deps.store.users.byId(principal.user.id);
    if (!user || user.status !== 'active') throw reply(550, 'The account is blocked');
    const wait = this.limiter?.take(user.id, Date.now()) ?? 0;
    if (wait > 0) throw reply(451, `Too many mails; try again in ${Math.ceil(wait)} s`);
  }

  private onData(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    cb: (err?: Error | null, message?: string) => void,
  ): void {
    // The mail is buffered up to the size limit and no further (smtp-server counts the bytes
    // and answers 552 itself when they are exceeded; the rest is read and dropped).
    const chunks: Buffer[] = [];
    let answered = false;
    // The idle timeout restarts with every byte; this bounds the whole mail.
    const deadline = setTimeout(() => {
      for (const c of this.server.connections) {
        if (c.id !== session.id) continue;
        c.send(421, 'The mail took too long to arrive');
        c.close();
      }
    }, this.cfg.dataTimeoutMs);
    const answer = (err: Error | null, message?: string) => {
      clearTimeout(deadline);
      if (answered) return;
      answered = true;
      if (err) this.refused++;
      else this.accepted++;
      cb(err, message);
    };
    stream.on('data', (chunk: Buffer) => {
      if (!stream.sizeExceeded) chunks.push(chunk);
    });
    stream.once('error', (err) => answer(reply(451, `The mail did not arrive whole: ${err.message}`)));
    stream.once('end', () => {
      clearTimeout(deadline);
      if (stream.sizeExceeded) {
        return answer(reply(552, `The mail is larger than ${this.cfg.maxMessageBytes} bytes`));
      }
      const work = this.commit(Buffer.concat(chunks), session).then(
        (message) => answer(null, message),
        (err: Error) => answer(err),
      );
      this.inFlight.add(work);
      void work.finally(() => this.inFlight.delete(work));
    });
  }

  /** Parses the mail and commits its messages; resolves with the 250 text, or throws the refusal. */
  private async commit(raw: Buffer, session: SMTPServerSession): Promise<string> {
    const { principal } = session.user as SessionUser;
    const to: string[] = [];
    for (const r of session.envelope.rcptTo) {
      const n = parseRecipient(r.address, this.cfg.domains, this.deps.region);
      if (n.ok && !to.includes(n.e164)) to.push(n.e164);
    }
    let mail;
    try {
      mail = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true });
    } catch (err) {
      throw reply(554, `The mail could not be parsed: ${(err as Error).message}`);
    }
    const text = smsText({ subject: mail.subject, text: mail.text }, this.cfg.textFrom);
    if (text === '') {
      throw reply(554, `The mail has no text to send (the SMS text comes from the ${this.cfg.textFrom})`);
    }
    const key = mail.messageId ? `smtp:${sha256(JSON.stringify([mail.messageId, to, text]))}` : undefined;
    try {
      const result = await this.deps.messages.send(principal, { to, text }, key);
      const refused = result.messages.filter((m) => m.error);
      this.log.info(
        { user: principal.user.login, batch: result.batch_id, accepted: result.accepted },
        'mail accepted',
      );
      // One reply line (RFC 5321 keeps it under 512 octets): the batch id finds every message
      // (GET /v1/messages?batch_id=).
      return (
        `Queued as ${result.batch_id}: ${result.accepted} SMS` +
        (refused.length > 0 ? `, ${refused.length} refused (${refused[0]?.error?.code ?? 'error'})` : '')
      );
    } catch (err) {
      throw refusal(err, this.log);
    }
  }
}

/** The SMTP reply for a failed send: permanent for what the mail says, temporary for our side. */
function refusal(err: unknown, log: Logger): Error {
  if (!(err instanceof ApiError)) {
    log.error({ err }, 'mail not committed');
    return reply(451, 'The mail could not be stored; try again later');
  }
  switch (err.code) {
    case 'text_too_long':
      return reply(552, err.message);
    case 'rate_limited':
    case 'busy':
    case 'unavailable':
      return reply(451, err.message);
    case 'account_blocked':
    case 'forbidden':
      return reply(550, err.message);
    default:
      return reply(554, err.message);
  }
}
