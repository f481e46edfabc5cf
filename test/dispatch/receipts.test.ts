/** Receipts are a choice: per message (`delivery_report`) and per channel (config `receipts`). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorDriver } from '../../src/channels/simulator/driver.js';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp } from '../support/app.js';

describe('delivery reports on request', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SMSGW_SIMULATOR: 'false' });
  });
  afterAll(() => t.stop());

  async function finalOf(id: string) {
    return eventually(async () => {
      const r = await t.call('GET', `/v1/messages/${id}`);
      return r.body.final ? r.body : undefined;
    });
  }

  it('asks for none when the message says so, and `sent` is then final', async () => {
    const ch = await t.call('POST', '/v1/channels', {
      body: {
        name: 'with-reports',
        type: 'simulator',
        config: { latencyMs: 1, deliveryDelayMs: 20, successRate: 1 },
      },
    });
    const driver = t.app.registry.get(ch.body.id)!.driver as SimulatorDriver;
    const r = await t.call('POST', '/v1/messages', {
      body: { to: ['+15555550120', '+15555550121'], text: 'no report please', delivery_report: false },
    });
    expect(r.status).toBe(202);
    for (const m of r.body.messages) {
      const done = await finalOf(m.id);
      expect(done).toMatchObject({ status: 'sent', delivery_report: false, final: true });
    }
    expect(driver.sent.every((s) => !s.deliveryReport)).toBe(true);
    const withReport = await t.call('POST', '/v1/messages', { body: { to: '+15555550122', text: 'report' } });
    const done = await finalOf(withReport.body.messages[0].id);
    expect(done).toMatchObject({ status: 'delivered', delivery_report: true, final: true });
    expect(driver.sent.at(-1)?.deliveryReport).toBe(true);
    await t.call('POST', `/v1/channels/${ch.body.id}/disable`);
  });

  it('asks for none on a channel configured without receipts', async () => {
    const ch = await t.call('POST', '/v1/channels', {
      body: { name: 'no-reports', type: 'simulator', config: { latencyMs: 1, receipts: false } },
    });
    expect(ch.status).toBe(201);
    const r = await t.call('POST', '/v1/messages', { body: { to: '+15555550123', text: 'quiet channel' } });
    const done = await finalOf(r.body.messages[0].id);
    expect(done).toMatchObject({
      status: 'sent',
      delivery_report: true,
      final: true,
      channel_id: ch.body.id,
    });
  });

  it('counts what the lifecycle refused or kept waiting, in the metrics', async () => {
    const r = await t.call('GET', '/metrics');
    expect(r.status).toBe(200);
    for (const name of [
      'smsgw_reports_pending',
      'smsgw_outcomes_fenced_total',
      'smsgw_reports_unmatched_total',
    ]) {
      expect(r.body).toContain(name);
    }
    expect(r.body).toMatch(/^smsgw_reports_pending 0$/m);
  });
});
