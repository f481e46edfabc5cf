/**
 * Config writes announce themselves. Every node caches config: running channels (the registry),
 * verified API keys and passwords (auth), a key's default callback and a user's settings
 * (message service, webhook signing secrets). A write through any of the methods below — from
 * the HTTP API, the CLI or a script on any node — publishes a `config` notification naming its
 * area after it returned (committed), and every node drops or reloads that area at once instead
 * of at its next periodic sync.
 *
 * Runtime writes are not config and are not listed (a channel's `state`, a key's last use, a
 * user's last SMPP bind): announcing them would wake every node on every health change, and the
 * registry's own `state: 'error'` write would wake the registries into writing it again.
 */
import type { ChannelPatch } from './channels.js';
import type { Store } from './index.js';
import type { ConfigArea, Notifier } from './notify/index.js';

type Announced = {
  repo: 'channels' | 'users' | 'keys' | 'keywords' | 'webhooks';
  area: ConfigArea;
  method: string;
  /** Whether this call changes config (default: every call). */
  when?: (args: unknown[]) => boolean;
};

export const CONFIG_WRITES: readonly Announced[] = [
  { repo: 'channels', area: 'channels', method: 'create' },
  {
    repo: 'channels',
    area: 'channels',
    method: 'update',
    when: (args) => Object.keys((args[1] ?? {}) as ChannelPatch).some((k) => k !== 'state'),
  },
  { repo: 'users', area: 'users', method: 'create' },
  { repo: 'users', area: 'users', method: 'update' },
  { repo: 'keys', area: 'keys', method: 'create' },
  { repo: 'keys', area: 'keys', method: 'revoke' },
  { repo: 'keywords', area: 'keywords', method: 'create' },
  { repo: 'keywords', area: 'keywords', method: 'delete' },
  { repo: 'webhooks', area: 'settings', method: 'updateSettings' },
];

/** Wraps the listed methods of the store's repositories to publish after they resolve. */
export function announceConfigWrites(store: Store, notifier: Notifier): void {
  for (const w of CONFIG_WRITES) {
    const repo = store[w.repo] as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const original = repo[w.method];
    if (typeof original !== 'function') throw new Error(`config write ${w.repo}.${w.method} does not exist`);
    repo[w.method] = async (...args: unknown[]) => {
      const result = await original.apply(repo, args);
      if (!w.when || w.when(args)) notifier.publish('config', w.area);
      return result;
    };
  }
}
