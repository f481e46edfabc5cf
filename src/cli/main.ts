/**
 * The `smsgw` command. Management commands work on the database directly (same config as the
 * gateway), so they also work while the gateway is stopped; a running gateway picks up what
 * they queue.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import type { App } from '../app.js';
import { bootstrapAdmin, openStore, startApp } from '../app.js';
import { channelDefaults } from '../api/http/routes/admin.js';
import { render } from './output.js';
import { CHANNEL_TYPES, validateChannelConfig } from '../channels/factories.js';
import type { Config } from '../config.js';
import { loadConfig } from '../config.js';
import { redactUrl } from '../core/redact.js';
import { nodeStatus } from '../dispatch/leases.js';
import { ApiError } from '../core/errors.js';
import { packageVersion } from '../package-root.js';
import { MessageService } from '../services/messages.js';
import { hashPassword, mintApiKey } from '../services/secrets.js';
import { issueSmppCredentials } from '../services/smpp-credentials.js';
import type { Store } from '../store/index.js';
import { backupSqlite, restoreSqlite } from '../store/backup.js';
import { monthOf } from '../store/ids.js';
import { sqlitePathFor } from '../store/index.js';
import { isFailure } from '../channels/modem/probe.js';
import { registerPolicyCommands } from './policy.js';
import { registerTemplateCommands } from './templates.js';
import { registerCampaignCommands } from './campaigns.js';
import { CLI_LANG, m } from './i18n.js';

const program = new Command('smsgw')
  .description(m('cmd.root'))
  .version(packageVersion(), '-V, --version')
  .option('--json', m('opt.json'))
  .option('--lang <code>', m('opt.lang'))
  .showHelpAfterError();

/**
 * The gateway's database, which must exist: run from another directory, the CLI used to create
 * a new empty one there, and `user add` never reached the gateway. Only `start` and `migrate`
 * create a database.
 */
async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const config = loadConfig();
  await requireDatabase(config);
  const store = await openStore(config);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function requireDatabase(config: Readonly<Config>): Promise<void> {
  const hint = m('dbHint');
  if (!config.databaseUrl) {
    const file = join(config.dataDir, 'smsgw.db');
    if (!existsSync(file)) throw new Error(m('noDatabase', { file, hint }));
    return;
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: config.databaseUrl });
  await client.connect();
  try {
    const r = await client.query<{ t: string | null }>("select to_regclass('smsgw_migrations')::text as t");
    if (!r.rows[0]?.t) throw new Error(m('noPgTables', { url: redactUrl(config.databaseUrl), hint }));
  } finally {
    await client.end();
  }
}

function parseConfig(json: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (err) {
    throw new Error(m('configNotJson', { detail: (err as Error).message }));
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(m('configNotObject'));
  return v as Record<string, unknown>;
}

/** The same check the API makes: the driver must be able to start with this config. */
function checkChannelConfig(type: string, config: Record<string, unknown>, name: string): void {
  try {
    validateChannelConfig(type, config, name);
  } catch (err) {
    throw new Error(m('configRejected', { detail: (err as Error).message }));
  }
}

/** `migrate` may create the database (`start` does it through startApp). */
async function withNewStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(loadConfig());
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function print(value: unknown): void {
  process.stdout.write(render(value, program.opts<{ json?: boolean }>().json === true));
}

program
  .command('start')
  .description(m('cmd.start'))
  .action(async () => {
    const config = loadConfig();
    const app: App = await startApp(config);
    const lines = [m('listening', { url: app.url })];
    if (app.created) {
      const labels = [m('labelLogin'), m('labelPassword'), m('labelApiKey')].map((l) => `${l}:`);
      const width = Math.max(...labels.map((l) => l.length)) + 1;
      const values = [app.created.login, app.created.password, app.created.apiKey];
      lines.push(
        m('firstStart'),
        ...labels.map((l, i) => `  ${l.padEnd(width)}${values[i]}`),
        m('try', {
          command: `curl -H "Authorization: Bearer ${app.created.apiKey}" -d to=+15555550100 -d text=hello ${app.url}/v1/messages`,
        }),
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
  .description(m('cmd.migrate'))
  .action(() =>
    withNewStore(async (store) => {
      const config = loadConfig();
      const created = await bootstrapAdmin(store, config);
      const database = config.databaseUrl ? redactUrl(config.databaseUrl) : sqlitePathFor(config.dataDir);
      print({ migrated: true, database, ...(created ? { created } : {}) });
    }),
  );

const user = program.command('user').description(m('cmd.user'));
user
  .command('add <login>')
  .description(m('cmd.userAdd'))
  .requiredOption('-p, --password <password>', 'password (at least 8 characters)')
  .addOption(new Option('-r, --role <role>', 'role').choices(['admin', 'user']).default('user'))
  .action((login: string, o: { password: string; role: 'admin' | 'user' }) =>
    withStore(async (store) => {
      if (o.password.length < 8) throw new Error(m('passwordShort'));
      if (await store.users.byLogin(login)) throw new Error(m('loginTaken', { login }));
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
  .description(m('cmd.userList'))
  .action(() =>
    withStore(async (store) =>
      print(
        (await store.users.list()).map((u) => ({ id: u.id, login: u.login, role: u.role, status: u.status })),
      ),
    ),
  );
user
  .command('passwd <login>')
  .description(m('cmd.userPasswd'))
  .requiredOption('-p, --password <password>', 'the new password (at least 8 characters)')
  .action((login: string, o: { password: string }) =>
    withStore(async (store) => {
      if (o.password.length < 8) throw new Error(m('passwordShort'));
      const u = await store.users.byLogin(login);
      if (!u) throw new Error(m('noUser', { login }));
      await store.users.update(u.id, { password_hash: await hashPassword(o.password) });
      print({ login, password: 'changed' });
    }),
  );
for (const [cmd, status, about] of [
  ['block', 'blocked', 'cmd.userBlock'],
  ['unblock', 'active', 'cmd.userUnblock'],
] as const) {
  user
    .command(`${cmd} <login>`)
    .description(m(about))
    .action((login: string) =>
      withStore(async (store) => {
        const u = await store.users.byLogin(login);
        if (!u) throw new Error(m('noUser', { login }));
        await store.users.update(u.id, { status });
        print({ login, status });
      }),
    );
}

user
  .command('smpp <login>')
  .description(m('cmd.userSmpp'))
  .option('-s, --system-id <id>', 'the system_id (default: the current one, else the login if it fits)')
  .option('--remove', 'remove them: the user binds with its login and password again')
  .action((login: string, o: { systemId?: string; remove?: boolean }) =>
    withStore(async (store) => {
      const u = await store.users.byLogin(login);
      if (!u) throw new Error(m('noUser', { login }));
      if (o.remove) {
        await store.users.update(u.id, { smpp_system_id: null, smpp_password_hash: null });
        return print({ login, smpp: 'removed' });
      }
      const issued = await issueSmppCredentials(store, u, o.systemId);
      print({ login, ...issued, note: m('smppShownOnce') });
    }),
  );

const key = program.command('key').description(m('cmd.key'));
key
  .command('create <login>')
  .description(m('cmd.keyCreate'))
  .option('-n, --name <name>', 'what the key is for', 'cli')
  .action((login: string, o: { name: string }) =>
    withStore(async (store) => {
      const u = await store.users.byLogin(login);
      if (!u) throw new Error(m('noUser', { login }));
      const minted = mintApiKey();
      const row = await store.keys.create({
        userId: u.id,
        name: o.name,
        prefix: minted.prefix,
        secretHash: minted.secretHash,
      });
      print({ id: row.id, key: minted.key, note: m('shownOnce') });
    }),
  );
key
  .command('list [login]')
  .description(m('cmd.keyList'))
  .option('-a, --all', 'include revoked keys')
  .action((login: string | undefined, o: { all?: boolean }) =>
    withStore(async (store) => {
      const owner = login ? await store.users.byLogin(login) : undefined;
      if (login && !owner) throw new Error(m('noUser', { login }));
      const logins = new Map((await store.users.list()).map((u) => [u.id, u.login]));
      const keys = await store.keys.list(owner?.id);
      print(
        keys
          .filter((k) => o.all || k.revoked_at === null)
          .map((k) => ({
            id: k.id,
            owner: logins.get(k.user_id) ?? k.user_id,
            name: k.name,
            prefix: k.prefix,
            created: new Date(k.created_at).toISOString(),
            last_used: k.last_used_at ? new Date(k.last_used_at).toISOString() : null,
            revoked: k.revoked_at ? new Date(k.revoked_at).toISOString() : null,
          })),
      );
    }),
  );
key
  .command('revoke <id>')
  .description(m('cmd.keyRevoke'))
  .action((id: string) =>
    withStore(async (store) => {
      if (!(await store.keys.byId(id))) throw new Error(m('noKey', { id }));
      await store.keys.revoke(id);
      print({ id, revoked: true });
    }),
  );

const channel = program.command('channel').description(m('cmd.channel'));
channel
  .command('add <name>')
  .description(m('cmd.channelAdd'))
  .addOption(new Option('-t, --type <type>', 'channel type').choices(CHANNEL_TYPES).makeOptionMandatory())
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
        if (o.owner && !owner) throw new Error(m('noUser', { login: o.owner }));
        if (await store.channels.byName(name)) throw new Error(m('channelExists', { name }));
        checkChannelConfig(o.type, parseConfig(o.config), name);
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
channel
  .command('list')
  .description(m('cmd.channelList'))
  .action(() =>
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
channel
  .command('edit <name>')
  .description(m('cmd.channelEdit'))
  .option('-c, --config <json>', 'driver config as JSON')
  .option('-n, --rename <name>', 'new name')
  .option('-l, --monthly-limit <n>', 'monthly limit (0: none)', (v) => Number.parseInt(v, 10))
  .option('-i, --interval-ms <n>', 'minimum interval between sends', (v) => Number.parseInt(v, 10))
  .option('--priority <n>', 'routing priority (lower first)', (v) => Number.parseInt(v, 10))
  .action(
    (
      name: string,
      o: { config?: string; rename?: string; monthlyLimit?: number; intervalMs?: number; priority?: number },
    ) =>
      withStore(async (store) => {
        const c = await store.channels.byName(name);
        if (!c) throw new Error(m('noChannel', { name }));
        for (const [flag, v] of [
          ['--monthly-limit', o.monthlyLimit],
          ['--interval-ms', o.intervalMs],
          ['--priority', o.priority],
        ] as const) {
          if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new Error(m('flagWhole', { flag }));
        }
        if (o.rename && o.rename !== name && (await store.channels.byName(o.rename)))
          throw new Error(m('channelExists', { name: o.rename }));
        const config = o.config !== undefined ? parseConfig(o.config) : undefined;
        if (config) checkChannelConfig(c.type, config, o.rename ?? name);
        const row = await store.channels.update(c.id, {
          ...(config ? { config: JSON.stringify(config) } : {}),
          ...(o.rename ? { name: o.rename } : {}),
          ...(o.monthlyLimit !== undefined
            ? { monthly_limit: o.monthlyLimit === 0 ? null : o.monthlyLimit }
            : {}),
          ...(o.intervalMs !== undefined ? { min_interval_ms: o.intervalMs } : {}),
          ...(o.priority !== undefined ? { priority: o.priority } : {}),
        });
        print({
          id: c.id,
          name: row?.name,
          type: c.type,
          note: m('nextSync'),
        });
      }),
  );
channel
  .command('remove <name>')
  .description(m('cmd.channelRemove'))
  .action((name: string) =>
    withStore(async (store) => {
      const c = await store.channels.byName(name);
      if (!c) throw new Error(m('noChannel', { name }));
      const r = await store.channels.remove(c.id);
      if (!r.removed) throw new Error(m('stillWaiting', { count: r.waiting, name }));
      print({ name, removed: true });
    }),
  );
for (const [cmd, enabled, about] of [
  ['disable', 0, 'cmd.channelDisable'],
  ['enable', 1, 'cmd.channelEnable'],
] as const) {
  channel
    .command(`${cmd} <name>`)
    .description(m(about))
    .action((name: string) =>
      withStore(async (store) => {
        const c = await store.channels.byName(name);
        if (!c) throw new Error(m('noChannel', { name }));
        await store.channels.update(c.id, { enabled });
        print({ name, enabled: enabled === 1 });
      }),
    );
}

program
  .command('send')
  .description(m('cmd.send'))
  .requiredOption('--to <numbers>', 'comma-separated numbers')
  .requiredOption('--text <text>', 'message text')
  .option('--flash', 'flash (class 0) message')
  .option('--from <sender>', 'sender id')
  .option('--as <login>', 'send as this user', 'admin')
  .action((o: { to: string; text: string; flash?: boolean; from?: string; as: string }) =>
    withStore(async (store) => {
      const config = loadConfig();
      const u = await store.users.byLogin(o.as);
      if (!u) throw new Error(m('noUser', { login: o.as }));
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
  .description(m('cmd.backup'))
  .action(async (file: string) => {
    const config = loadConfig();
    if (config.databaseUrl) throw new Error(m('pgBackup'));
    print(await backupSqlite(sqlitePathFor(config.dataDir), file));
  });

program
  .command('restore <file>')
  .description(m('cmd.restore'))
  .action(async (file: string) => {
    const config = loadConfig();
    if (config.databaseUrl) throw new Error(m('pgRestore'));
    print(await restoreSqlite(file, sqlitePathFor(config.dataDir)));
  });

program
  .command('status <id>')
  .description(m('cmd.status'))
  .action((id: string) =>
    withStore(async (store) => {
      const row = await store.messages.byId(id);
      if (!row) throw new Error(m('noMessage', { id }));
      const events = await store.messages.events(id);
      print({
        id: row.id,
        to: row.to,
        status: row.status,
        error: row.error_code,
        segments: row.segments,
        events: events.map((e) => ({
          at: new Date(e.created_at).toISOString(),
          status: e.status,
          error: e.error_code,
          detail: e.detail,
        })),
      });
    }),
  );

program
  .command('nodes')
  .description(m('cmd.nodes'))
  .action(() =>
    withStore(async (store) => {
      const nodes = await nodeStatus(store, loadConfig().cluster.channelLeaseMs);
      if (program.opts<{ json?: boolean }>().json) return print(nodes);
      print(
        nodes.map((n) => ({
          node: n.name,
          status: n.status,
          heartbeat:
            n.status === 'stopped' ? null : m('ago', { seconds: (n.heartbeat_age_ms / 1000).toFixed(1) }),
          version: n.version,
          http: n.http_url,
          channels: n.channels.map((c) => c.name ?? c.id).join(', ') || null,
        })),
      );
    }),
  );

const sim = program.command('sim').description(m('cmd.sim'));
sim
  .command('smsc')
  .description(m('cmd.simSmsc'))
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
  .description(m('cmd.simModem'))
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
      if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(m('integerRange', { flag: name, max }));
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
      process.stdout.write(`${m('modemSim', { where: deviceSide })}\n`);
    } else {
      const tcp = await serveModemTcp(modem, o.tcp ?? 0);
      close = () => tcp.close();
      process.stdout.write(`${m('modemSim', { where: `tcp://127.0.0.1:${tcp.port}` })}\n`);
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
  .description(m('cmd.modem'))
  .command('probe [ports...]')
  .description(m('cmd.modemProbe'))
  .action(async (ports: string[]) => {
    const { probeModems } = await import('../channels/modem/probe.js');
    const results = await probeModems(ports.length ? ports : undefined);
    print(results);
    if (results.length > 0 && results.every(isFailure)) process.exitCode = 1;
  });

registerPolicyCommands(program, withStore, print);
registerTemplateCommands(program, withStore, print);

registerCampaignCommands(program, withStore);

program.parseAsync(process.argv).catch((err: unknown) => {
  const msg = err instanceof ApiError ? `${err.code}: ${err.messageIn(CLI_LANG)}` : (err as Error).message;
  process.stderr.write(`smsgw: ${msg}\n`);
  process.exit(1);
});
