/**
 * An inbound message is committed before the network is answered, and its rules run after. A
 * gateway that stops in between runs them at its next start: a STOP is never forgotten.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventually, startTestApp } from '../support/app.js';

describe('inbound rules after a restart', () => {
  it('runs the rules of a message stored by a gateway that stopped before running them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smsgw-inbound-resume-'));
    const first = await startTestApp({ SMSGW_DATA_DIR: dir });
    const admin = (await first.call('GET', '/v1/me')).body.id as string;
    const channelId = (await first.call('GET', '/v1/channels')).body.data[0].id as string;
    // What a channel's commit leaves when the process dies right after it: stored, rules not run.
    const row = await first.app.store.inbound.insert({
      owner_id: admin,
      channel_id: channelId,
      from: '+15555550177',
      to: null,
      text: 'STOP',
      incomplete: 0,
      keyword: null,
      received_at: Date.now(),
    });
    await first.stop();

    const second = await startTestApp({ SMSGW_DATA_DIR: dir });
    try {
      const optOuts = await eventually(async () => {
        const r = await second.call('GET', '/v1/opt-outs');
        return r.body.data.length > 0 ? r.body.data : undefined;
      });
      expect(optOuts).toMatchObject([{ number: '+15555550177', keyword: 'STOP' }]);
      const stored = await second.app.store.inbound.byId(row.id);
      expect(stored?.processed_at).not.toBeNull();
      expect(stored?.keyword).toBe('STOP');
      // Done once: nothing is left for the next start.
      expect(await second.app.store.inbound.unprocessed(10)).toEqual([]);
    } finally {
      await second.stop();
    }
  });
});
