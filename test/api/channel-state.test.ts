/** A channel's `state` in the API says what is true now (it said `stopped` while health was `up`). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp } from '../support/app.js';

describe('channel state', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('running while up, disabled when disabled, error when the driver refused its config', async () => {
    const sim = (await t.call('GET', '/v1/channels')).body.data[0];
    const running = await eventually(async () => {
      const c = (await t.call('GET', `/v1/channels/${sim.id}`)).body;
      return c.health?.status === 'up' ? c : undefined;
    });
    expect(running.state).toBe('running');
    await t.call('POST', `/v1/channels/${sim.id}/disable`);
    expect((await t.call('GET', `/v1/channels/${sim.id}`)).body.state).toBe('disabled');
    // A config the driver refuses, written behind the API's back (an old row, a hand edit).
    const bad = await t.app.store.channels.create({
      name: 'broken',
      type: 'simulator',
      owner_id: null,
      config: JSON.stringify({ successRate: 7 }),
      monthly_limit: null,
      count_mode: 'segments',
      min_interval_ms: 0,
      max_in_flight: 1,
      priority: 100,
      enabled: 1,
    });
    await t.app.registry.sync();
    expect((await t.call('GET', `/v1/channels/${bad.id}`)).body.state).toBe('error');
  });
});
