/**
 * Node status on a single node (SQLite, the exclusive case): GET /v1/nodes for admins only, the
 * channel's `node` field, and `smsgw nodes` reading the same database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { startTestApp } from '../support/app.js';
import { cli, cliJson } from '../support/cli.js';

describe('node status (single node)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SMSGW_NODE_NAME: 'solo-1' });
    await t.call('POST', '/v1/users', { body: { login: 'plain', password: 'plain-password' } });
  });
  afterAll(() => t?.stop());

  it('lists this node, live, holding every enabled channel; users get 403', async () => {
    const r = await t.call('GET', '/v1/nodes');
    expect(r.status).toBe(200);
    expect(r.body.data).toHaveLength(1);
    const n = r.body.data[0];
    expect(n).toMatchObject({ name: 'solo-1', status: 'live', self: true, http_url: t.url });
    expect(n.channels.map((c: { name: string }) => c.name)).toEqual(['simulator']);
    const user = await t.call('GET', '/v1/nodes', { auth: 'plain:plain-password' });
    expect(user.status).toBe(403);
    expect(user.body.error.code).toBe('forbidden');
    expect((await t.call('GET', '/v1/nodes', { auth: null })).status).toBe(401);
  });

  it('shows where each channel runs; a disabled one runs nowhere', async () => {
    const list = await t.call('GET', '/v1/channels');
    expect(list.body.data[0].node).toBe('solo-1');
    const c = await t.call('POST', '/v1/channels', {
      body: { name: 'off', type: 'simulator', enabled: false },
    });
    expect(c.status).toBe(201);
    expect(c.body.node).toBeNull();
  });

  it('`smsgw nodes --json` reads the same database', async () => {
    const env = { ...process.env, SMSGW_DATA_DIR: t.app.config.dataDir };
    const nodes = (await cliJson(['nodes'], { env })) as {
      name: string;
      status: string;
      channels: { name: string }[];
    }[];
    expect(nodes.map((n) => [n.name, n.status, n.channels.map((c) => c.name)])).toEqual([
      ['solo-1', 'live', ['simulator']],
    ]);
    const text = await cli(['nodes'], { env });
    expect(text.stdout).toMatch(/^NODE\s+STATUS/);
    expect(text.stdout).toMatch(/solo-1\s+live/);
  }, 120_000); // two CLI processes, each compiling TypeScript on start
});
