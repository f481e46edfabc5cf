/**
 * The webhook worker's HTTP client (delivery/http-exchange.ts): every wait bounded, connections
 * kept alive and reused, and the URL guard's lookup deciding where a name connects.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpExchanges } from '../../src/delivery/http-exchange.js';

const servers: Server[] = [];
async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

describe('HttpExchanges', () => {
  it('posts, reads the status and a bounded prefix, and reuses the connection', async () => {
    const sockets = new Map<string, unknown>();
    const bodies: string[] = [];
    const url = await serve((req, res) => {
      sockets.set(req.url ?? '', req.socket);
      let b = '';
      req.on('data', (c: Buffer) => (b += c.toString('utf8')));
      req.on('end', () => {
        bodies.push(b);
        res.end('OK and more');
      });
    });
    const http = new HttpExchanges();
    try {
      const a = await http.request(`${url}/x`, { method: 'POST', headers: {}, body: 'é1', timeoutMs: 2000 });
      expect(a.statusCode).toBe(200);
      expect(await a.text(2)).toBe('OK');
      const b = await http.request(`${url}/y`, { method: 'POST', headers: {}, body: 'two', timeoutMs: 2000 });
      await b.dump();
      const c = await http.request(`${url}/z`, {
        method: 'POST',
        headers: {},
        body: 'three',
        timeoutMs: 2000,
      });
      await c.dump();
      expect(bodies).toEqual(['é1', 'two', 'three']);
      // Kept alive: an exchange whose body was read to its end hands its connection to the next.
      expect(sockets.get('/z')).toBe(sockets.get('/y'));
    } finally {
      http.close();
    }
  });

  it('gives up on a receiver that never answers, and on one that stalls its body', async () => {
    const silent = await serve(() => undefined);
    const stalling = await serve((_req, res) => {
      res.writeHead(200);
      res.write('part');
    });
    const http = new HttpExchanges();
    try {
      const t0 = Date.now();
      await expect(
        http.request(silent, { method: 'POST', headers: {}, body: '{}', timeoutMs: 200 }),
      ).rejects.toThrow(/no answer within 200 ms/);
      expect(Date.now() - t0).toBeLessThan(5_000);
      const r = await http.request(stalling, { method: 'POST', headers: {}, body: '{}', timeoutMs: 200 });
      await expect(r.text(4096)).rejects.toThrow();
    } finally {
      http.close();
    }
  });

  it("connects where the guard's lookup says, and fails with its refusal", async () => {
    const url = await serve((_req, res) => res.end('ok'));
    const port = new URL(url).port;
    const seen: string[] = [];
    const lookup: LookupFunction = (hostname, options, callback) => {
      seen.push(hostname);
      if (hostname === 'refused.test')
        return callback(Object.assign(new Error('refused: private'), { code: 'EUNSAFEADDR' }), '', 4);
      if ((options as { all?: boolean }).all) return callback(null, [{ address: '127.0.0.1', family: 4 }]);
      return callback(null, '127.0.0.1', 4);
    };
    const http = new HttpExchanges(lookup);
    try {
      const ok = await http.request(`http://hooks.test:${port}/`, {
        method: 'GET',
        headers: {},
        timeoutMs: 2000,
      });
      expect(ok.statusCode).toBe(200);
      await ok.dump();
      await expect(
        http.request(`http://refused.test:${port}/`, { method: 'GET', headers: {}, timeoutMs: 2000 }),
      ).rejects.toMatchObject({ code: 'EUNSAFEADDR' });
      expect(seen).toEqual(['hooks.test', 'refused.test']);
    } finally {
      http.close();
    }
  });
});
