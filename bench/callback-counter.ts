/**
 * The HTTP callback counter of `npm run bench:vs-kannel`: one keep-alive HTTP server that answers
 * 200 at once and counts final-state callbacks per message, so a missing one and one that came
 * twice are both seen. It understands the two gateways' callbacks:
 * - Kannel's dlr-url, a GET the bench built as `/kannel?i=<request index>&t=%d` (t: DLR type,
 *   1 delivered and 2 undelivered are final; 8/16 would be SMSC ack/nack, counted as other);
 * - smsgw's status webhook, a POST of `{message_id, status, …}`: delivered, undelivered, expired,
 *   failed, rejected, canceled are final; `sent` (which smsgw always reports) is counted as other.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';

const FINAL = new Set([
  'delivered',
  'undelivered',
  'partially_delivered',
  'expired',
  'failed',
  'rejected',
  'canceled',
]);

export interface CallbackCounter {
  url: string;
  /** Final-state callbacks per message key (Kannel: request index; smsgw: message id). */
  readonly finals: ReadonlyMap<string, number>;
  /** Final-state callbacks for a message that had one already. */
  readonly duplicates: number;
  /** Callbacks that are not a final state (smsgw's `sent`), and ones the counter could not read. */
  readonly others: number;
  readonly unreadable: number;
  /** performance.now() of the latest first final callback of a message. */
  readonly lastNewAt: number;
  close(): Promise<void>;
}

export async function startCallbackCounter(): Promise<CallbackCounter> {
  const finals = new Map<string, number>();
  let duplicates = 0;
  let others = 0;
  let unreadable = 0;
  let lastNewAt = 0;

  const final = (key: string) => {
    const before = finals.get(key) ?? 0;
    finals.set(key, before + 1);
    if (before > 0) {
      duplicates++;
      return;
    }
    lastNewAt = performance.now();
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/kannel') {
        const key = url.searchParams.get('i');
        const type = Number(url.searchParams.get('t'));
        if (key === null) unreadable++;
        else if (type === 1 || type === 2) final(key);
        else others++;
      } else {
        let event: { message_id?: unknown; status?: unknown } | undefined;
        try {
          event = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          event = undefined;
        }
        if (typeof event?.message_id !== 'string' || typeof event.status !== 'string') unreadable++;
        else if (FINAL.has(event.status)) final(event.message_id);
        else others++;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  // Both gateways keep their callback connections open; Node's default 5 s idle timeout is enough.
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    finals,
    get duplicates() {
      return duplicates;
    },
    get others() {
      return others;
    },
    get unreadable() {
      return unreadable;
    },
    get lastNewAt() {
      return lastNewAt;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
