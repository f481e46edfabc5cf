/**
 * The `smsgw` command. Management commands work on the database directly (same config as the
 * gateway), so they also work while the gateway is stopped; a running gateway picks up what
 * they queue.
 */
import { Command, Option } from 'commander';
import type { App } from '../app.js';
import { bootstrapAdmin, openStore, startApp } from '../app.js';
import { channelDefaults } from '../api/http/routes/admin.js';
import { loadConfig } from '../config.js';
import { ApiError } from '../core/errors.js';
import { MessageService } from '../services/messages.js';
import { hashPassword, mintApiKey } from '../services/secrets.js';
import type { Store } from '../store/index.js';
import { backupSqlite, restoreSqlite } from '../store/backup.js';
import { monthOf } from '../store/ids.js';
import { sqlitePathFor } from '../store/index.js';
import { registerCampaignCommands } from './campaigns.js';

const program = new Command('smsgw').description('Self-hosted SMS gateway').showHelpAfterError();

async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const store = await openStore(config);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

program
  .command('start')
  .description('Run the gateway (HTTP API, dispatcher, channels)')
  .action(async () => {
    const config = loadConfig();
    const app: App = await startApp(config);
    const lines = [`smsgw listening on ${app.url}  (dashboard: ${app.url}/, API docs: ${app.url}/docs)`];
    if (app.created) {
      lines.push(
        'First start: created the admin user. These credentials are shown only once:',
        `  login:    ${app.created.login}`,
        `  password: ${app.created.password}`,
        `  API key:  ${app.created.apiKey}`,
        `Try: curl -H "Authorization: Bearer ${app.created.apiKey}" -d to=+15555550100 -d text=hello ${app.url}/v1/messages`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      app.logger.info({ signal }, 'shutting down: finishing in-flight work');
      const force = setTimeout(() => process.exit(1), 30_000);
      force.unref();
      app.stop().then(
        () => process.exit(0),
        (err) => {
          app.logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
  });

program
  .command('migrate')
  .description('Apply database migrations and create the admin user if there is none')
  .action(() =>
    withStore(async (store) => {
      const created = await bootstrapAdmin(store, loadConfig());
      print({ migrated: true, ...(created ? { created } : {}) });
    }),
  );

const user = program.command('user').description('Manage users');
user
  .command('add <login>')
  .requiredOption('-p, --password <password>', 'password (at least 8 characters)')
  .addOption(new Option('-r, --role <role>', 'role').choices(['admin', 'user']).default('user'))
  .action((login: string, o: { password: string; role: 'admin' | 'user' }) =>
    withStore(async (store) => {
      if (o.password.length < 8) throw new Error('the password needs at least 8 characters');
      if (await store.users.byLogin(login)) throw new Error(`the login "${login}" is taken`);
      const u = await store.users.create({
        login,
        passwordHash: await hashPassword(o.password),
        role: o.role,
      });
      print({ id: u.id, login: u.login, role: u.role });
    }),
  );
user
  .command('list')
  .action(() =>
    withStore(async (store) =>
      print(
        (await store.users.list()).map((u) => ({ id: u.id, login: u.login, role: u.role, status: u.status })),
      ),
    ),
  );
for (const [cmd, status] of [
  ['block', 'blocked'],
  ['unblock', 'active'],
] as const) {
  user.command(`${cmd} <login>`).action((login: string) =>
    withStore(async (store) => {
      const u = await store.users.byLogin(login);
      if (!u) throw new Error(`no user "${login}"`);
      await store.users.update(u.id, { status });
      print({ login, status });
    }),
  );
}

const key = program.command('key').description('Manage API keys');
key
  .command('create <login>')
  .option('-n, --name <name>', 'what the key is for', 'cli')
  .action((login: string, o: { name: string }) =>
    withStore(async (store) => {
      const u = await store.users.byLogin(login);
      if (!u) throw new Error(`no user "${login}"`);
      const minted = mintApiKey();
      const row = await store.keys.create({
        userId: u.id,
        name: o.name,
        prefix: minted.prefix,
        secretHash: minted.secretHash,
      });
      print({ id: row.id, key: minted.key, note: 'shown once; store it now' });
    }),
  );
key.command('revoke <id>').action((id: string) =>
  withStore(async (store) => {
    if (!(await store.keys.byId(id))) throw new Error(`no key ${id}`);
    await store.keys.revoke(id);
    print({ id, revoked: true });
  }),
);

const channel = program.command('channel').description('Manage channels');
channel
  .command('add <name>')
  .requiredOption('-t, --type <type>', 'simulator | smpp | modem | gammu')
  .option('-c, --config <json>', 'driver config as JSON', '{}')
  .option('-o, --owner <login>', 'owner (default: shared by all users)')
  .option('-l, --monthly-limit <n>', 'monthly limit', (v) => Number.parseInt(v, 10))
  .option('-i, --interval-ms <n>', 'minimum interval between sends', (v) => Number.parseInt(v, 10))
  .action(
    (
      name: string,
      o: { type: string; config: string; owner?: string; monthlyLimit?: number; intervalMs?: number },
    ) =>
      withStore(async (store) => {
        const owner = o.owner ? await store.users.byLogin(o.owner) : undefined;
        if (o.owner && !owner) throw new Error(`no user "${o.owner}"`);
        if (await store.channels.byName(name)) throw new Error(`a channel named "${name}" exists`);
        JSON.parse(o.config);
        const d = channelDefaults(o.type);
        const row = await store.channels.create({
          name,
          type: o.type,
          owner_id: owner?.id ?? null,
          config: o.config,
          monthly_limit: o.monthlyLimit ?? null,
          count_mode: 'segments',
          min_interval_ms: o.intervalMs ?? d.min_interval_ms,
          max_in_flight: d.max_in_flight,
          priority: 100,
          enabled: 1,
        });
        print({ id: row.id, name: row.name, type: row.type });
      }),
  );
channel.command('list').action(() =>
  withStore(async (store) => {
    const month = monthOf(Date.now());
    const counters = await store.channels.counters(month);
    print(
      (await store.channels.list()).map((c) => ({
        id: c.id,
        name: c.name,
        type: c.type,
        enabled: c.enabled === 1,
        month,
        used: counters.get(c.id) ?? 0,
        monthly_limit: c.monthly_limit,
      })),
    );
  }),
);
for (const [cmd, enabled] of [
  ['disable', 0],
  ['enable', 1],
] as const) {
  channel.command(`${cmd} <name>`).action((name: string) =>
    withStore(async (store) => {
      const c = await store.channels.byName(name);
      if (!c) throw new Error(`no channel "${name}"`);
      await store.channels.update(c.id, { enabled });
      print({ name, enabled: enabled === 1 });
    }),
  );
}

program
  .command('send')
  .description('Queue a message')
  .requiredOption('--to <numbers>', 'comma-separated numbers')
  .requiredOption('--text <text>', 'message text')
  .option('--flash', 'flash (class 0) message')
  .option('--from <sender>', 'sender id')
  .option('--as <login>', 'send as this user', 'admin')
  .action((o: { to: string; text: string; flash?: boolean; from?: string; as: string }) =>
    withStore(async (store) => {
      const config = loadConfig();
      const u = await store.users.byLogin(o.as);
      if (!u) throw new Error(`no user "${o.as}"`);
      const service = new MessageService(store, {
        maxRecipients: config.maxRecipients,
        maxSegments: config.maxSegments,
        defaultValidityMinutes: config.defaultValidityMinutes,
        maxAttempts: config.dispatch.maxAttempts,
        defaultRegion: config.defaultRegion,
      });
      print(
        await service.send(
          { user: u, apiKeyId: null },
          { to: o.to.split(','), text: o.text, flash: o.flash, from: o.from },
        ),
      );
    }),
  );

program
  .command('backup <file>')
  .description('Copy the SQLite database to FILE while the gateway runs (PostgreSQL: use pg_dump)')
  .action(async (file: string) => {
    const config = loadConfig();
    if (config.databaseUrl) throw new Error('this gateway runs on PostgreSQL: back it up with pg_dump');
    print(await backupSqlite(sqlitePathFor(config.dataDir), file));
  });

program
  .command('restore <file>')
  .description('Replace the SQLite database by a backup (stop the gateway first)')
  .action(async (file: string) => {
    const config = loadConfig();
    if (config.databaseUrl) throw new Error('this gateway runs on PostgreSQL: restore with pg_restore/psql');
    print(await restoreSqlite(file, sqlitePathFor(config.dataDir)));
  });

program
  .command('status <id>')
  .description('A message and its events')
  .action((id: string) =>
    withStore(async (store) => {
      const m = await store.messages.byId(id);
      if (!m) throw new Error(`no message ${id}`);
      const events = await store.messages.events(id);
      print({
        id: m.id,
        to: m.to,
        status: m.status,
        error: m.error_code,
        segments: m.segments,
        events: events.map((e) => ({
          at: new Date(e.created_at).toISOString(),
          status: e.status,
          error: e.error_code,
          detail: e.detail,
        })),
      });
    }),
  );

const sim = program.command('sim').description('Simulators for tests and demos');
sim
  .command('smsc')
  .description('An SMSC that accepts SMPP binds, acknowledges submits and sends receipts')
  .option('-p, --port <n>', 'port to listen on', (v) => Number.parseInt(v, 10), 2776)
  .option('-d, --delay <ms>', 'receipt delay', (v) => Number.parseInt(v, 10), 1000)
  .option('-s, --success-rate <r>', 'share of messages delivered', (v) => Number.parseFloat(v), 0.95)
  .addOption(
    new Option('--id-format <f>', 'message id format (sequential: decimal ids 1, 2, 3 …)')
      .choices(['hex', 'decimal', 'sequential'])
      .default('hex'),
  )
  .addOption(
    new Option(
      '--receipt-timing <t>',
      'receipt after --delay, in the same write as submit_sm_resp, or before it',
    )
      .choices(['delay', 'with-resp', 'before-resp'])
      .default('delay'),
  )
  .option(
    '--receipt-lag <n>',
    'hold each receipt until n more submits arrived',
    (v) => Number.parseInt(v, 10),
    0,
  )
  .option(
    '--undeliv-every <n>',
    'ids divisible by n are UNDELIV, the rest DELIVRD',
    (v) => Number.parseInt(v, 10),
    0,
  )
  .action(
    async (o: {
      port: number;
      delay: number;
      successRate: number;
      idFormat: 'hex' | 'decimal' | 'sequential';
      receiptTiming: 'delay' | 'with-resp' | 'before-resp';
      receiptLag: number;
      undelivEvery: number;
    }) => {
      const { runSmscSimulatorCli } = await import('../sim/smsc/simulator.js');
      await runSmscSimulatorCli(o);
    },
  );

sim
  .command('modem')
  .description('An AT-command GSM modem on a TCP port or a pty (for Gammu or the modem channel)')
  .option('--tcp <port>', 'listen on this TCP port (channel config: {"port":"tcp://127.0.0.1:PORT"})', (v) =>
    Number.parseInt(v, 10),
  )
  .option(
    '--pty <dir>',
    'create a pty pair in this directory (needs socat); use <dir>/ttyModem as the device',
  )
  .option('--send-ms <ms>', 'time the network takes per message', (v) => Number.parseInt(v, 10), 3000)
  .option('--report-ms <ms>', 'status report (+CDS) delay after a send', (v) => Number.parseInt(v, 10), 200)
  .option(
    '--reference <n>',
    'TP-MR of the first message (0..255; e.g. 250 to see references wrap)',
    (v) => Number.parseInt(v, 10),
    1,
  )
  .action(async (o: { tcp?: number; pty?: string; sendMs: number; reportMs: number; reference: number }) => {
    for (const [name, v, max] of [
      ['--send-ms', o.sendMs, 600_000],
      ['--report-ms', o.reportMs, 86_400_000],
      ['--reference', o.reference, 255],
    ] as const) {
      if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(`${name} must be an integer 0..${max}`);
    }
    const { MODEM_SIM_DEFAULTS, ModemSimulator, ptyPair, serveModemTcp } =
      await import('../sim/modem/simulator.js');
    const modem = new ModemSimulator({
      ...MODEM_SIM_DEFAULTS,
      sendDelayMs: o.sendMs,
      reportDelayMs: o.reportMs,
      firstReference: o.reference,
    });
    let close: () => Promise<void>;
    if (o.pty) {
      const { modemSide, deviceSide, socat } = await ptyPair(o.pty);
      const { SerialPort } = await import('serialport');
      const port = new SerialPort({ path: modemSide, baudRate: 115200 });
      modem.attach(port);
      // socat owns the pty pair: it goes with us, and we go with it.
      socat.once('exit', () => process.exit(1));
      close = async () => {
        socat.removeAllListeners('exit');
        socat.kill();
        if (port.isOpen) await new Promise((r) => port.close(r));
      };
      process.stdout.write(`modem simulator on ${deviceSide}\n`);
    } else {
      const tcp = await serveModemTcp(modem, o.tcp ?? 0);
      close = () => tcp.close();
      process.stdout.write(`modem simulator on tcp://127.0.0.1:${tcp.port}\n`);
    }
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        modem.stop();
        void close().finally(() => process.exit(0));
      });
    }
  });

program
  .command('modem')
  .description('GSM modems on this host')
  .command('probe [ports...]')
  .description('List serial ports that answer AT, with manufacturer, model, IMSI/ICCID and signal')
  .action(async (ports: string[]) => {
    const { probeModems } = await import('../channels/modem/probe.js');
    print(await probeModems(ports.length ? ports : undefined));
  });

registerCampaignCommands(program, withStore);

program.parseAsync(process.argv).catch((err: unknown) => {
  const msg = err instanceof ApiError ? `${err.code}: ${err.message}` : (err as Error).message;
  process.stderr.write(`smsgw: ${msg}\n`);
  process.exit(1);
});
