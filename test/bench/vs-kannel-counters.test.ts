/**
 * The counters `npm run bench:vs-kannel` judges a run by: the SMPP sink sees a message sent twice
 * as a duplicate (whatever the '+'), answers every kind of bind and sends a receipt only when one
 * is asked for; the callback counter reads both gateways' callbacks, counts a second final
 * callback of a message as a duplicate, and does not take smsgw's `sent` for a final state.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CMD } from '../../src/codec/smpp-pdu.js';
import { startCallbackCounter } from '../../bench/callback-counter.js';
import type { CallbackCounter } from '../../bench/callback-counter.js';
import { startSink } from '../../bench/smpp-sink.js';
import type { Sink } from '../../bench/smpp-sink.js';
import { Client } from '../support/esme.js';

let sink: Sink | undefined;
let counter: CallbackCounter | undefined;
const clients: Client[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await sink?.stop();
  await counter?.close();
  sink = counter = undefined;
});

describe('the SMPP sink', () => {
  it('counts each destination once, a repeat as a duplicate, and receipts only when asked', async () => {
    sink = await startSink(0);
    const esme = await Client.open(sink.port);
    clients.push(esme);
    expect((await esme.bind('any', 'thing')).id).toBe(CMD.bind_transceiver_resp);
    expect((await esme.submit('447700000001', 'a')).status).toBe(0);
    expect((await esme.submit('+447700000002', 'b', { registered: 1 })).status).toBe(0);
    const receipt = await esme.next();
    expect(receipt.id).toBe(CMD.deliver_sm);
    expect(receipt.body.toString('latin1')).toContain('stat:DELIVRD');
    expect((await esme.submit('447700000001', 'a again')).status).toBe(0);
    expect({ unique: sink.unique, duplicates: sink.duplicates }).toEqual({ unique: 2, duplicates: 1 });
    expect(sink.has('+447700000001') && sink.has('447700000002') && !sink.has('447700000003')).toBe(true);
    expect(sink.sim.stats.receipts).toBe(1);
  });

  it('answers transmitter and receiver binds', async () => {
    sink = await startSink(0);
    for (const [bind, resp] of [
      [CMD.bind_transmitter, CMD.bind_transmitter_resp],
      [CMD.bind_receiver, CMD.bind_receiver_resp],
    ] as const) {
      const esme = await Client.open(sink.port);
      clients.push(esme);
      const answer = await esme.bind('any', 'thing', bind);
      expect({ id: answer.id, status: answer.status }).toEqual({ id: resp, status: 0 });
    }
  });
});

describe('the callback counter', () => {
  it("counts Kannel's and smsgw's final callbacks per message, duplicates and the rest apart", async () => {
    counter = await startCallbackCounter();
    const get = (q: string) => fetch(`${counter?.url}/kannel?${q}`).then((r) => r.status);
    const post = (body: unknown) =>
      fetch(`${counter?.url}/smsgw`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => r.status);
    expect(await get('i=1&t=1')).toBe(200);
    await get('i=2&t=2');
    await get('i=1&t=1');
    await get('i=3&t=8');
    await post({ message_id: 'm1', status: 'sent' });
    await post({ message_id: 'm1', status: 'delivered' });
    await post({ message_id: 'm2', status: 'failed' });
    await post({ message_id: 'm2', status: 'failed' });
    await post({ status: 'delivered' });
    expect(Object.fromEntries(counter.finals)).toEqual({ '1': 2, '2': 1, m1: 1, m2: 2 });
    expect({
      duplicates: counter.duplicates,
      others: counter.others,
      unreadable: counter.unreadable,
    }).toEqual({
      duplicates: 2,
      others: 2,
      unreadable: 1,
    });
  });
});
