/**
 * `smsgw contacts import <file>` and `smsgw campaign list|show|pause|resume|cancel`: on the
 * database directly, like the other management commands; a running gateway's runner sees the
 * changes (a paused campaign's next batch is refused by the fence).
 */
import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import type { Target } from '../services/contact-import.js';
import { ContactImporter } from '../services/contact-import.js';
import { CAMPAIGN_LIMITS, CampaignService, campaignView } from '../services/campaigns.js';
import type { Store } from '../store/index.js';
import { m } from './i18n.js';

type WithStore = <T>(fn: (store: Store) => Promise<T>) => Promise<T>;

/** `smsgw --json …` (the global flag) or the command's own `--json`: JSON; else text for people. */
let globalJson = (): boolean => false;

function out(value: unknown, json: boolean | undefined, text: () => string): void {
  process.stdout.write(json || globalJson() ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

async function ownerOf(store: Store, login: string): Promise<string> {
  const u = await store.users.byLogin(login);
  if (!u) throw new Error(m('noUser', { login }));
  return u.id;
}

function summary(v: Record<string, unknown>): string {
  const p = v.progress as {
    total: number;
    done: number;
    pending: number;
    rate: number;
    eta_seconds: number | null;
  };
  const eta = p.eta_seconds === null ? '' : ` eta ${p.eta_seconds}s`;
  return `${String(v.id)}  ${String(v.status).padEnd(9)}  ${p.done}/${p.total}  ${p.rate} msg/s${eta}  ${String(v.name)}`;
}

export function registerCampaignCommands(program: Command, withStore: WithStore): void {
  globalJson = () => program.opts<{ json?: boolean }>().json === true;
  const contacts = program.command('contacts').description('The address book');
  contacts
    .command('import <file>')
    .description('Import contacts from a CSV or TXT file (streamed; refused rows are reported)')
    .option('--as <login>', 'owner of the contacts', 'admin')
    .option('--group <name>', 'add them to this group (created if new)')
    .option('--delimiter <char>', 'field delimiter (guessed when absent)')
    .option('--map <mapping>', 'header mapping, e.g. "telefono:number,nome:name"')
    .option('--json', 'print JSON')
    .action(
      (file: string, o: { as: string; group?: string; delimiter?: string; map?: string; json?: boolean }) =>
        withStore(async (store) => {
          const config = loadConfig();
          const mapping: Record<string, Target> | undefined = o.map
            ? Object.fromEntries(
                o.map.split(',').map((pair) => {
                  const i = pair.lastIndexOf(':');
                  return [pair.slice(0, i).trim().toLowerCase(), pair.slice(i + 1).trim() as Target];
                }),
              )
            : undefined;
          const report = await new ContactImporter(store.book).run(createReadStream(file), {
            ownerId: await ownerOf(store, o.as),
            groupName: o.group,
            delimiter: o.delimiter === 'tab' ? '\t' : o.delimiter,
            mapping,
            defaultRegion: config.defaultRegion,
            maxBytes: Number.MAX_SAFE_INTEGER,
          });
          const refused = await store.book.importErrors(report.id, 0, 20);
          out({ ...report, refused_first: refused }, o.json, () =>
            [
              m('importLine', {
                id: report.id,
                status: report.status,
                imported: report.rows_imported,
                refused: report.rows_refused,
                total: report.rows_total,
              }),
              ...refused.map((r) => m('importRefused', { line: r.line, reason: r.reason })),
              ...(report.rows_refused > refused.length
                ? [m('importMore', { path: `/v1/contacts/imports/${report.id}/errors.csv` })]
                : []),
            ].join('\n'),
          );
        }),
    );

  const campaign = program.command('campaign').description('Campaigns');
  campaign
    .command('list')
    .option('--as <login>', 'only this user’s campaigns')
    .option('--limit <n>', 'how many, newest first', '50')
    .option('--json', 'print JSON')
    .action((o: { as?: string; limit: string; json?: boolean }) =>
      withStore(async (store) => {
        const owner = o.as ? await ownerOf(store, o.as) : undefined;
        const rows = await store.campaigns.list(owner, { limit: Math.min(1000, Number(o.limit) || 50) });
        const views = rows.map((c) =>
          campaignView(c, { pending: Math.max(0, c.recipients_total - c.recipients_done) }, Date.now()),
        );
        out(views, o.json, () => (views.length ? views.map(summary).join('\n') : m('noCampaigns')));
      }),
    );
  campaign
    .command('show <id>')
    .option('--json', 'print JSON')
    .action((id: string, o: { json?: boolean }) =>
      withStore(async (store) => {
        const v = await new CampaignService(store, CAMPAIGN_LIMITS).view(undefined, id);
        out(
          v,
          o.json,
          () =>
            `${summary(v)}\n  ${m('byStatus')}: ${JSON.stringify((v.progress as { by_status: unknown }).by_status)}`,
        );
      }),
    );
  for (const action of ['pause', 'resume', 'cancel'] as const) {
    campaign
      .command(`${action} <id>`)
      .option('--json', 'print JSON')
      .action((id: string, o: { json?: boolean }) =>
        withStore(async (store) => {
          const v = await new CampaignService(store, CAMPAIGN_LIMITS).move(undefined, id, action);
          out(v, o.json, () => summary(v));
        }),
      );
  }
}
