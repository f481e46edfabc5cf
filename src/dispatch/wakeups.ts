/**
 * Who wakes whom (store/notify/ carries it between nodes): accepted messages wake every node's
 * dispatcher; a config write drops the caches of its area on every node (the channel registry
 * syncs, auth and settings caches are emptied); a channel lease that moved makes every registry
 * sync. Each subscriber also polls as before (dispatcher `pollMs`, registry every 60 s), so a
 * lost notification costs one poll interval, never correctness.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { WebhookWorker } from '../delivery/webhooks.js';
import type { AuthService } from '../services/auth.js';
import type { MessageService } from '../services/messages.js';
import type { ConfigArea, Notifier } from '../store/notify/index.js';
import type { Dispatcher } from './dispatcher.js';
import type { ChannelRegistry } from './registry.js';

export interface WakeupParts {
  notifier: Notifier;
  dispatcher: Pick<Dispatcher, 'poke'>;
  registry: Pick<ChannelRegistry, 'sync'>;
  auth: Pick<AuthService, 'forget'>;
  messages: Pick<MessageService, 'forget' | 'onAccepted'>;
  webhooks: Pick<WebhookWorker, 'forgetSecrets'>;
  log: Logger;
}

/** Subscribes every part; returns the function that unsubscribes them. */
export function wireWakeups(p: WakeupParts): () => void {
  const sync = () =>
    void p.registry
      .sync()
      .catch((err: unknown) => p.log.error({ err }, 'channel sync after a notification failed'));
  const forget = (area: ConfigArea | undefined) => {
    if (area === undefined || area === 'channels') sync();
    if (area === undefined || area === 'users' || area === 'keys') p.auth.forget();
    if (area === undefined || area === 'keys' || area === 'settings') p.messages.forget();
    if (area === undefined || area === 'settings') p.webhooks.forgetSecrets();
  };
  p.notifier.onError = (err, what) => p.log.warn({ err }, `notifier: ${what}`);
  let open = true;
  // Told after the accepting commit (onAccepted runs then); this node pokes itself directly, so
  // its own notification, which comes back a moment later, is ignored: it made the dispatcher
  // claim a second time after every accept, finding nothing (a write transaction for nothing).
  const self = randomBytes(6).toString('hex');
  p.messages.onAccepted(() => {
    if (open) p.notifier.publish('work', self);
  });
  const offs = [
    p.notifier.subscribe('work', (from, { resync }) => {
      if (from !== self || resync) p.dispatcher.poke();
    }),
    p.notifier.subscribe('config', (payload, { resync }) =>
      forget(resync ? undefined : ((payload || undefined) as ConfigArea | undefined)),
    ),
    p.notifier.subscribe('channels', () => sync()),
  ];
  return () => {
    open = false;
    for (const off of offs) off();
  };
}
