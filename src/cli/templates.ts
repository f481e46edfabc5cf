/**
 * `smsgw template …`, `smsgw signature …` and `smsgw policy …`: the review queue and the
 * templates-only switch from the command line, on the database directly (like the other
 * management commands), with the same audit rows as the API.
 */
import type { Command } from 'commander';
import { forgetPolicySettings } from '../policy/settings.js';
import type { Store } from '../store/index.js';
import type { TemplateKind } from '../store/templates.js';
import { m } from './i18n.js';

type WithStore = <T>(fn: (store: Store) => Promise<T>) => Promise<T>;

async function actor(store: Store, login: string): Promise<string> {
  const u = await store.users.byLogin(login);
  if (!u || u.role !== 'admin') throw new Error(m('noAdmin', { login }));
  return u.id;
}

export function registerTemplateCommands(
  program: Command,
  withStore: WithStore,
  print: (v: unknown) => void,
): void {
  for (const kind of ['template', 'signature'] as const satisfies readonly TemplateKind[]) {
    const cmd = program.command(kind).description(`Review ${kind}s`);
    cmd
      .command('list')
      .option('--status <status>', 'pending, approved or rejected')
      .option('--user <login>', "only this user's")
      .action((o: { status?: string; user?: string }) =>
        withStore(async (store) => {
          const owner = o.user ? await store.users.byLogin(o.user) : undefined;
          if (o.user && !owner) throw new Error(m('noUser', { login: o.user }));
          const rows = await store.templates.list(kind, { ownerId: owner?.id, status: o.status, limit: 500 });
          print(
            rows.map((r) => ({
              id: r.id,
              owner_id: r.owner_id,
              name: r.name,
              text: r.text,
              category: r.category,
              status: r.status,
              reason: r.reason,
            })),
          );
        }),
      );
    cmd
      .command('approve <id>')
      .option('--as <login>', 'the admin deciding', 'admin')
      .action((id: string, o: { as: string }) =>
        withStore(async (store) => {
          const done = await store.templates.decide(kind, id, 'approved', await actor(store, o.as), null);
          if (!done) throw new Error(m('noPending', { kind, id }));
          print({ id, status: done.status });
        }),
      );
    cmd
      .command('reject <id>')
      .requiredOption('--reason <reason>', 'what the user should change')
      .option('--as <login>', 'the admin deciding', 'admin')
      .action((id: string, o: { reason: string; as: string }) =>
        withStore(async (store) => {
          const done = await store.templates.decide(kind, id, 'rejected', await actor(store, o.as), o.reason);
          if (!done) throw new Error(m('noPending', { kind, id }));
          print({ id, status: done.status, reason: done.reason });
        }),
      );
  }

  const policy = program.command('policy').description("A user's sending policy");
  policy.command('show <login>').action((login: string) =>
    withStore(async (store) => {
      const u = await store.users.byLogin(login);
      if (!u) throw new Error(m('noUser', { login }));
      print(await store.policySettings.get(u.id));
    }),
  );
  policy
    .command('templates-only <login> <on|off>')
    .description('Allow this user to send approved templates only')
    .action((login: string, value: string) =>
      withStore(async (store) => {
        if (value !== 'on' && value !== 'off') throw new Error(m('onOff'));
        const u = await store.users.byLogin(login);
        if (!u) throw new Error(m('noUser', { login }));
        const now = await store.policySettings.get(u.id);
        await store.policySettings.put(u.id, { ...now, templatesOnly: value === 'on' });
        forgetPolicySettings(u.id);
        print({ login, templates_only: value === 'on' });
      }),
    );
}
