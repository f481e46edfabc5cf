/**
 * The Gammu channel, as in the seed: one Gammu section (one modem port) per channel, one
 * `gammu sendsms` at a time, locally through execFile (never a shell) or on a remote box over
 * SSH (one persistent connection, arguments quoted). Secrets never reach logs or health.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Client } from 'ssh2';
import type {
  ChannelCapabilities,
  ChannelDriver,
  ChannelEvents,
  ChannelHealth,
  OutboundSms,
  SubmitResult,
} from '../port.js';
import { SubmitError } from '../port.js';
import type { GammuTarget } from './command.js';
import { parseSendsms, sendsmsArgs, shellQuote } from './command.js';

export interface GammuConfig extends GammuTarget {
  mode: 'local' | 'ssh';
  /**
   * Locale Gammu runs under. Without a UTF-8 locale Gammu silently turns any non-ASCII text
   * into an EMPTY message (measured with gammu 1.42), and an SSH session has no locale by default.
   */
  locale: string;
  /** One sendsms may take this long (a modem answers in a few seconds; a long text takes longer). */
  timeoutMs: number;
  ssh?: {
    host: string;
    port: number;
    username: string;
    privateKey?: string | undefined;
    password?: string | undefined;
    /** "SHA256:<base64>" as `ssh-keygen -lf` prints it; when set, any other host key is refused. */
    hostKeySha256?: string | undefined;
    connectTimeoutMs: number;
  };
}

export function parseGammuConfig(raw: Record<string, unknown>): GammuConfig {
  const mode = raw.mode ?? 'local';
  if (mode !== 'local' && mode !== 'ssh') throw new Error('gammu mode must be "local" or "ssh"');
  const str = (v: unknown, name: string, optional = true): string | undefined => {
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'string' || v === '') throw new Error(`gammu ${name} must be a non-empty string`);
    return v;
  };
  const section = raw.section;
  if (
    section !== undefined &&
    (!Number.isInteger(section) || (section as number) < 0 || (section as number) > 99)
  ) {
    throw new Error('gammu section must be an integer 0..99');
  }
  const cfg: GammuConfig = {
    mode,
    gammuPath: str(raw.gammuPath, 'gammuPath') ?? 'gammu',
    configFile: str(raw.configFile, 'configFile'),
    section: section as number | undefined,
    timeoutMs: typeof raw.timeoutMs === 'number' && raw.timeoutMs > 0 ? raw.timeoutMs : 120_000,
    locale: str(raw.locale, 'locale') ?? 'C.UTF-8',
  };
  if (!/^[A-Za-z0-9_.@-]+$/.test(cfg.locale))
    throw new Error('gammu locale must look like C.UTF-8 or en_US.UTF-8');
  if (mode === 'ssh') {
    const s = (raw.ssh ?? {}) as Record<string, unknown>;
    const port = s.port ?? 22;
    if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535)
      throw new Error('ssh port must be 1..65535');
    cfg.ssh = {
      host: str(s.host, 'ssh.host', false) as string,
      port: port as number,
      username: str(s.username, 'ssh.username', false) as string,
      privateKey: str(s.privateKey, 'ssh.privateKey'),
      password: str(s.password, 'ssh.password'),
      hostKeySha256: str(s.hostKeySha256, 'ssh.hostKeySha256'),
      connectTimeoutMs: typeof s.connectTimeoutMs === 'number' ? s.connectTimeoutMs : 10_000,
    };
    if (!cfg.ssh.privateKey && !cfg.ssh.password) throw new Error('ssh needs a privateKey or a password');
  }
  return cfg;
}

interface RunResult {
  output: string;
  exitCode: number | null;
  timedOut: boolean;
}

export class GammuDriver implements ChannelDriver {
  readonly capabilities: ChannelCapabilities = {
    flash: true,
    replace: true,
    // gammu sendsms asks for a report but does not wait for it; reports need gammu-smsd.
    deliveryReports: false,
    inbound: false,
    maxSegments: 255,
  };
  private status: ChannelHealth['status'] = 'stopped';
  private lastError: string | undefined;
  private inFlight = 0;
  /** Gammu locks the port: one command at a time per channel (the seed's lock, in memory). */
  private chain: Promise<unknown> = Promise.resolve();
  private ssh: Client | undefined;
  private connecting: Promise<Client> | undefined;
  /** Set by stop(): no new submit starts; start() clears it. */
  private stopped = false;

  constructor(private readonly config: GammuConfig) {}

  async start(events: ChannelEvents): Promise<void> {
    this.stopped = false;
    this.status = 'up';
    events.state(this.health());
  }

  submit(sms: OutboundSms): Promise<SubmitResult> {
    if (this.stopped) return Promise.reject(new SubmitError('channel_error', 'gammu channel is stopped'));
    const run = this.chain.then(() => this.send(sms));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async send(sms: OutboundSms): Promise<SubmitResult> {
    this.inFlight++;
    try {
      const args = sendsmsArgs(this.config, sms);
      const r = this.config.mode === 'ssh' ? await this.runRemote(args) : await this.runLocal(args);
      if (r.timedOut)
        throw this.fail(
          // gammu was running the send when it was stopped: the SMS may have left.
          new SubmitError(
            'channel_timeout',
            `gammu did not finish in ${this.config.timeoutMs} ms`,
            false,
            true,
          ),
        );
      const outcome = parseSendsms(r.output, r.exitCode);
      if (!outcome.ok) throw this.fail(new SubmitError(outcome.code, outcome.message));
      this.lastError = undefined;
      if (!this.stopped) this.status = 'up';
      // TP-MR wraps at 256 and the dummy driver always says 255: prefix with our id so
      // references from different messages never collide.
      return { remoteIds: outcome.references.map((ref, i) => `${sms.id}:${i}:${ref}`) };
    } finally {
      this.inFlight--;
    }
  }

  private fail(err: SubmitError): SubmitError {
    this.lastError = err.message;
    return err;
  }

  private runLocal(args: string[]): Promise<RunResult> {
    return new Promise((resolve) => {
      execFile(
        this.config.gammuPath,
        args,
        { timeout: this.config.timeoutMs, maxBuffer: 1 << 20 },
        (err, stdout, stderr) => {
          const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
          resolve({
            output: `${stdout}\n${stderr}${e && typeof e.code === 'string' ? `\nError: ${e.message}` : ''}`,
            exitCode: e ? (typeof e.code === 'number' ? e.code : null) : 0,
            timedOut: !!e?.killed,
          });
        },
      );
    });
  }

  private async connection(): Promise<Client> {
    if (this.ssh) return this.ssh;
    // ssh2 is loaded by the first remote command, not by every gateway (most run no Gammu).
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<Client> {
    const { Client } = await import('ssh2');
    return new Promise<Client>((resolve, reject) => {
      const s = this.config.ssh as NonNullable<GammuConfig['ssh']>;
      const client = new Client();
      client
        .on('ready', () => {
          this.ssh = client;
          resolve(client);
        })
        .on('error', (err) => reject(new SubmitError('channel_error', `ssh: ${err.message}`)))
        .on('close', () => {
          // Dropped: the next send reconnects.
          if (this.ssh === client) this.ssh = undefined;
        })
        .connect({
          host: s.host,
          port: s.port,
          username: s.username,
          privateKey: s.privateKey,
          password: s.password,
          readyTimeout: s.connectTimeoutMs,
          keepaliveInterval: 30_000,
          hostVerifier: s.hostKeySha256
            ? (key: Buffer) =>
                `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}` ===
                s.hostKeySha256
            : undefined,
        });
    });
  }

  private async runRemote(args: string[]): Promise<RunResult> {
    const client = await this.connection();
    const command = `LC_ALL=${shellQuote(this.config.locale)} ${[this.config.gammuPath, ...args].map(shellQuote).join(' ')}`;
    return new Promise((resolve, reject) => {
      client.exec(command, (err, stream) => {
        if (err) return reject(new SubmitError('channel_error', `ssh exec: ${err.message}`));
        let output = '';
        const timer = setTimeout(() => {
          stream.close();
          resolve({ output, exitCode: null, timedOut: true });
        }, this.config.timeoutMs);
        stream.on('data', (d: Buffer) => (output += d.toString('utf8')));
        stream.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
        stream.on('close', (code: number | null) => {
          clearTimeout(timer);
          resolve({ output, exitCode: code ?? null, timedOut: false });
        });
      });
    });
  }

  /**
   * Lets the sendsms in progress and those queued finish (each bounded by timeoutMs), then
   * closes the SSH connection (one still connecting too). Idempotent.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.status = 'stopped';
    await this.chain;
    const connecting = this.connecting;
    this.ssh?.end();
    this.ssh = undefined;
    await connecting?.then((c) => c.end()).catch(() => undefined);
  }

  health(): ChannelHealth {
    return { status: this.status, inFlight: this.inFlight, lastError: this.lastError };
  }
}

export function createGammuDriver(raw: Record<string, unknown>): GammuDriver {
  return new GammuDriver(parseGammuConfig(raw));
}
