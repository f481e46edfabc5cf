/**
 * One outbound HTTP exchange for the webhook worker, on node's own http/https client with
 * keep-alive agents: connect, response headers and body each bounded by `timeoutMs`, the whole
 * by three times that. The URL guard's `lookup` goes to the agents, so the socket connects to
 * the address it checked (url-guard.ts).
 *
 * Why not undici (used before): its first request compiles its WebAssembly HTTP parser with
 * V8's optimising compiler, +28 MB of RSS at the gateway's first webhook (bench/mem-split.mjs,
 * docs/benchmarks.md "Memory under load"); node's parser is native and already loaded.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { IncomingMessage, RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';

export interface Exchange {
  statusCode: number;
  /** The body's first `max` bytes as UTF-8; the rest is discarded. */
  text(max: number): Promise<string>;
  /** Discards the body (the connection goes back to the pool). */
  dump(): Promise<void>;
}

export interface ExchangeRequest {
  method: string;
  headers: Record<string, string>;
  body?: string | undefined;
  timeoutMs: number;
}

export class HttpExchanges {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;

  constructor(lookup?: LookupFunction) {
    const opts = { keepAlive: true, ...(lookup ? { lookup } : {}) };
    this.http = new HttpAgent(opts);
    this.https = new HttpsAgent(opts);
  }

  request(url: string, req: ExchangeRequest): Promise<Exchange> {
    const u = new URL(url);
    const secure = u.protocol === 'https:';
    if (!secure && u.protocol !== 'http:')
      return Promise.reject(new Error(`unsupported scheme ${u.protocol}`));
    const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
    const options: RequestOptions = {
      method: req.method,
      agent: secure ? this.https : this.http,
      headers: body ? { ...req.headers, 'content-length': String(body.length) } : req.headers,
      // Idle socket (connect, waiting for headers or body): each wait bounded.
      timeout: req.timeoutMs,
      signal: AbortSignal.timeout(req.timeoutMs * 3),
    };
    return new Promise<Exchange>((resolve, reject) => {
      const r = (secure ? httpsRequest : httpRequest)(u, options, (res) => resolve(exchange(res)));
      r.on('timeout', () => r.destroy(new Error(`no answer within ${req.timeoutMs} ms`)));
      r.on('error', reject);
      r.end(body);
    });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

function exchange(res: IncomingMessage): Exchange {
  return {
    statusCode: res.statusCode ?? 0,
    async text(max) {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res as AsyncIterable<Buffer>) {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= max) break;
      }
      // What is left: drained when it has all arrived (the socket is reused), else cut.
      if (res.complete) await drain(res);
      else res.destroy();
      return Buffer.concat(chunks).subarray(0, max).toString('utf8');
    },
    dump() {
      return drain(res);
    },
  };
}

/**
 * Reads a response to its end: only an ended response gives its socket back to the agent, and
 * one the parser already has whole (`complete`) but nobody read kept its connection out of the
 * pool (every exchange opened a new one).
 */
function drain(res: IncomingMessage): Promise<void> {
  return new Promise<void>((resolve) => {
    if (res.readableEnded || res.destroyed) return resolve();
    res
      .once('end', resolve)
      .once('close', resolve)
      .once('error', () => resolve());
    res.resume();
  });
}
