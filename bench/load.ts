/**
 * The load generator of `npm run bench:vs-kannel`: `concurrency` keep-alive HTTP connections
 * (one undici Client each), each sending its next request when the previous answer is read,
 * until `n` requests are answered. Concurrency 1 is the sequential mode.
 *
 * The connections are opened one at a time, each with a warm-up request that sends nothing
 * (`warmPath`), before the clock starts: Kannel's smsbox listens with a backlog of 10, and 64
 * connects at once lose SYNs to it (a second's retransmit in a p99).
 */
import { Client } from 'undici';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadOptions {
  origin: string;
  n: number;
  concurrency: number;
  warmPath: string;
  request(i: number): LoadRequest;
  /** Whether answer `i` accepted its message; false counts as an error. */
  accepted(i: number, status: number, body: string): boolean;
}

export interface LoadResult {
  /** Request latencies (send → answer read), ms, ascending. */
  latenciesMs: number[];
  errors: number;
  firstError: string;
  /** performance.now() when the first request was sent and the last answer read. */
  startedAt: number;
  endedAt: number;
  /** TCP connections opened during the run (after the warm-up): more than 0 means one was closed. */
  reconnects: number;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const clients: Client[] = [];
  let connects = 0;
  for (let k = 0; k < o.concurrency; k++) {
    const client = new Client(o.origin, { keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 });
    client.on('connect', () => connects++);
    const warm = await client.request({ method: 'GET', path: o.warmPath });
    await warm.body.text();
    clients.push(client);
  }
  const warmConnects = connects;
  const latencies = new Float64Array(o.n);
  let next = 0;
  let errors = 0;
  let firstError = '';
  const startedAt = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      for (let i = next++; i < o.n; i = next++) {
        const r = o.request(i);
        const t0 = performance.now();
        try {
          const res = await client.request({
            method: r.method,
            path: r.path,
            headers: r.headers,
            body: r.body,
          });
          const body = await res.body.text();
          latencies[i] = performance.now() - t0;
          if (!o.accepted(i, res.statusCode, body)) {
            errors++;
            firstError ||= `request ${i}: ${res.statusCode} ${body.slice(0, 200)}`;
          }
        } catch (err) {
          latencies[i] = performance.now() - t0;
          errors++;
          firstError ||= `request ${i}: ${(err as Error).message}`;
        }
      }
    }),
  );
  const endedAt = performance.now();
  await Promise.all(clients.map((c) => c.close()));
  return {
    latenciesMs: Array.from(latencies).sort((a, b) => a - b),
    errors,
    firstError,
    startedAt,
    endedAt,
    reconnects: connects - warmConnects,
  };
}
