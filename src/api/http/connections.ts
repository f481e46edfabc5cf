/**
 * Open connections per client address. Each idle keep-alive socket holds a file descriptor and
 * ~50 kB in Node's HTTP machinery, so one address opening thousands (a slowloris, a broken
 * client pool) could take the process's descriptors from everyone. Over the limit the new
 * connection is answered `429 too_many_connections` in our error shape and closed; any request
 * that still arrives on it is dropped unanswered by the hook below before it runs.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { tr } from '../../i18n/index.js';
import { errorBody } from './errors.js';

export class ConnectionLimit {
  private readonly open = new Map<string, number>();
  private readonly refused = new WeakSet<Socket>();
  /** Connections refused since start (for tests and metrics). */
  refusedCount = 0;

  constructor(private readonly maxPerIp: number) {}

  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.onConnection(socket));
  }

  /** How many connections this address holds now. */
  openFrom(ip: string): number {
    return this.open.get(ip) ?? 0;
  }

  private onConnection(socket: Socket): void {
    const ip = socket.remoteAddress ?? 'unknown';
    const n = (this.open.get(ip) ?? 0) + 1;
    this.open.set(ip, n);
    socket.once('close', () => {
      const left = (this.open.get(ip) ?? 1) - 1;
      if (left <= 0) this.open.delete(ip);
      else this.open.set(ip, left);
    });
    if (n <= this.maxPerIp) return;
    this.refusedCount++;
    this.refused.add(socket);
    // Answered as the connection opens, before the client sent a byte: no Accept-Language to
    // read, so English (waiting for the request to learn its language would hold the very
    // socket this limit is there to refuse).
    const message = tr('en', 'api.tooManyConnections', { max: this.maxPerIp });
    const body = JSON.stringify(errorBody('too_many_connections', message));
    socket.end(
      `HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nRetry-After: 1\r\nContent-Language: en\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
    // A peer that never reads must not keep the refused socket either.
    setTimeout(() => socket.destroy(), 2000).unref();
  }

  /** onRequest hook: a request that arrives on a refused connection is not handled at all. */
  readonly hook = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (this.refused.has(req.raw.socket)) {
      reply.hijack();
      req.raw.socket.destroy();
    }
  };
}
