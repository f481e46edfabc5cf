/**
 * `smsgw blacklist|whitelist|caps|price|credit`: the sending policy's settings from the command
 * line, on the database directly (as the other management commands). Without `--user` a list or
 * cap is the global one.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import { loadConfig } from '../config.js';
import { normalizeNumber } from '../core/phone.js';
import { LIST_CSV_HEADER, listCsvRows, parseListCsv } from '../policy/list-csv.js';
import { PERIODS } from '../policy/periods.js';
import type { Period } from '../policy/periods.js';
import type { Store } from '../store/index.js';
import { ListFullError } from '../store/policy.js';
import { m } from './i18n.js';

type WithStore = <T>(fn: (store: Store) => Promise<T>) => Promise<T>;

async function ownerOf(store: Store, login: string | undefined): Promise<string> {
  if (login === undefined) return '';
  const u = await store.users.byLogin(login);
  if (!u) throw new Error(m('noUser', { login }));
  return u.id;
}

export function registerPolicyCommands(
  program: Command,
  withStore: WithStore,
  print: (v: unknown) => void,
): void {
  const config = () => loadConfig();
  for (const kind of ['black', 'white'] as const) {
    const max = () => (kind === 'white' ? config().lists.whitelistMax : config().lists.blacklistMax);
    const list = program
      .command(`${kind}list`)
      .description(`The ${kind}list (global, or a user's with --user)`);
    const add = async (
      store: Store,
      owner: string,
      entries: { number: string; reason: string | null }[],
      source: string,
    ) => {
      try {
        return await store.policy.addToList(kind, owner, entries, source, max());
      } catch (err) {
        if (err instanceof ListFullError) throw new Error(err.message);
        throw err;
      }
    };
    list
      .command('add <number>')
      .option('-u, --user <login>', "the user's list instead of the global one")
      .option('-r, --reason <text>', 'why')
      .action((raw: string, o: { user?: string; reason?: string }) =>
        withStore(async (store) => {
          const n = normalizeNumber(raw, config().defaultRegion);
          if (!n.ok) throw new Error(n.reason);
          const added = await add(
            store,
            await ownerOf(store, o.user),
            [{ number: n.e164, reason: o.reason ?? null }],
            'cli',
          );
          print({ number: n.e164, added: added > 0 });
        }),
      );
    list
      .command('remove <number>')
      .option('-u, --user <login>', "the user's list instead of the global one")
      .action((raw: string, o: { user?: string }) =>
        withStore(async (store) => {
          const n = normalizeNumber(raw, config().defaultRegion);
          if (!n.ok) throw new Error(n.reason);
          print({
            number: n.e164,
            removed: await store.policy.removeFromList(kind, await ownerOf(store, o.user), n.e164),
          });
        }),
      );
    list
      .command('import <file>')
      .description('CSV: number[,reason] per line; a header line is optional')
      .option('-u, --user <login>', "the user's list instead of the global one")
      .action((file: string, o: { user?: string }) =>
        withStore(async (store) => {
          const parsed = parseListCsv(readFileSync(file, 'utf8'), config().defaultRegion);
          const added = await add(store, await ownerOf(store, o.user), parsed.entries, 'csv');
          print({
            added,
            already_listed: parsed.entries.length - added,
            invalid_count: parsed.invalidCount,
            invalid: parsed.invalid,
          });
        }),
      );
    list
      .command('export')
      .description('CSV to standard output: number, reason, source, created_at')
      .option('-u, --user <login>', "the user's list instead of the global one")
      .action((o: { user?: string }) =>
        withStore(async (store) => {
          process.stdout.write(LIST_CSV_HEADER);
          for await (const page of store.policy.listAll(kind, await ownerOf(store, o.user))) {
            process.stdout.write(listCsvRows(page));
          }
        }),
      );
  }

  const caps = program
    .command('caps')
    .description('Frequency caps per recipient (global defaults, or a user’s)');
  caps
    .command('set [rules...]')
    .description('Replace the caps: e.g. `minute=1 hour=5 day=10 month=20`; none clears them')
    .option('-u, --user <login>', "a user's caps instead of the global defaults")
    .option('-c, --category <name>', 'only for messages of this template category')
    .action((rules: string[], o: { user?: string; category?: string }) =>
      withStore(async (store) => {
        const owner = await ownerOf(store, o.user);
        const category = o.category ?? '';
        const parsed = rules.map((r) => {
          const [period, max] = r.split('=');
          if (!PERIODS.includes(period as Period) || !/^\d{1,7}$/.test(max ?? ''))
            throw new Error(m('periodForm', { rule: r, periods: PERIODS.join(', ') }));
          return { category, period: period as Period, max_count: Number(max) };
        });
        // Replaces the caps of this category only; the owner's others stay.
        const others = (await store.policy.caps(owner)).filter((c) => c.category !== category);
        const all = await store.policy.replaceCaps(owner, [...others, ...parsed]);
        print(all.map((c) => ({ category: c.category || null, period: c.period, max: c.max_count })));
      }),
    );
  caps
    .command('list')
    .option('-u, --user <login>', "a user's caps instead of the global defaults")
    .action((o: { user?: string }) =>
      withStore(async (store) =>
        print(
          (await store.policy.caps(await ownerOf(store, o.user))).map((c) => ({
            category: c.category || null,
            period: c.period,
            max: c.max_count,
          })),
        ),
      ),
    );

  const price = program.command('price').description('The price list (credits per segment)');
  price
    .command('set <prefix> <perSegment>')
    .description('Price per segment for a destination prefix (digits, or "default"); the longest prefix wins')
    .addOption(
      new Option('-e, --encoding <enc>', 'only for this encoding')
        .choices(['any', 'gsm7', 'ucs2'])
        .default('any'),
    )
    .action((prefix: string, per: string, o: { encoding: string }) =>
      withStore(async (store) => {
        if (!/^(\d{1,15}|default)$/.test(prefix)) throw new Error(m('prefixForm'));
        if (!/^\d{1,10}$/.test(per)) throw new Error(m('priceWhole'));
        print(await store.policy.setPrice(prefix === 'default' ? '' : prefix, o.encoding, Number(per)));
      }),
    );
  price.command('list').action(() => withStore(async (store) => print(await store.policy.prices())));

  program
    .command('credit <login> <amount>')
    .description('Add credit to a user (negative takes it); --mode switches prepaid/unlimited')
    .addOption(new Option('-m, --mode <mode>', 'account mode').choices(['prepaid', 'unlimited']))
    .option('-n, --note <text>', 'ledger note')
    .action((login: string, amount: string, o: { mode?: 'prepaid' | 'unlimited'; note?: string }) =>
      withStore(async (store) => {
        if (!/^-?\d{1,13}$/.test(amount)) throw new Error(m('amountWhole'));
        const owner = await ownerOf(store, login);
        const r = await store.policy.credit(
          owner,
          Number(amount),
          o.note ?? null,
          o.mode === undefined ? undefined : o.mode === 'prepaid',
        );
        print({ login, mode: r.prepaid ? 'prepaid' : 'unlimited', balance: r.balance });
      }),
    );
}
