/**
 * Leases under a slow submit: renewed while the submit runs, so a message is not sent a second
 * time by the lease recovery; and outcomes fenced by the claim they belong to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorDriver } from '../../src/channels/simulator/driver.js';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp } from '../support/app.js';

describe('leases during a slow submit', () => {
  let t: TestApp;
  beforeAll(async () => {
    // A 1 s lease, recovered every second, and a channel that takes 3.5 s to accept a submit
    // (a modem on a congested network): without renewal the message would be claimed again.
    t = await startTestApp({ SMSGW_SIMULATOR: 'false', SMSGW_LEASE_MS: '1000' });
  });
  afterAll(() => t.stop());

  it('renews the lease, so the message is submitted once and its outcome lands', async () => {
    const ch = await t.call('POST', '/v1/channels', {
      body: {
        name: 'slow',
        type: 'simulator',
        config: { latencyMs: 3500, deliveryDelayMs: 50, successRate: 1 },
      },
    });
    expect(ch.status).toBe(201);
    const sent = await t.call('POST', '/v1/messages', { body: { to: '+15555550111', text: 'slow one' } });
    const id = sent.body.messages[0].id as string;
    const m = await eventually(async () => {
      const r = await t.call('GET', `/v1/messages/${id}`);
      return r.body.status === 'delivered' ? r.body : undefined;
    });
    const driver = t.app.registry.get(ch.body.id)!.driver as SimulatorDriver;
    expect(driver.submitCalls).toBe(1);
    expect(m.events.map((e: { status: string }) => e.status)).toEqual([
      'queued',
      'sending',
      'sent',
      'delivered',
    ]);
    expect(t.app.dispatcher.stats.fencedOutcomes).toBe(0);
  });
});
