/**
 * XML on the native API through a real gateway: POST /v1/messages with an XML body (the README
 * schema), XML answers when Accept asks, and the hardened parser: a DOCTYPE with an external
 * entity (XXE), a "billion laughs" internal subset, an undeclared entity, broken and too deep
 * documents are 400s with a code, in XML when XML was asked for.
 */
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { startTestApp } from '../support/app.js';

describe('XML API', () => {
  let t: TestApp;
  const auth = `Basic ${Buffer.from('xmluser:xml-password-1').toString('base64')}`;
  const read = new XMLParser({ parseTagValue: false, isArray: (name) => name === 'messages' });

  beforeAll(async () => {
    t = await startTestApp();
    await t.call('POST', '/v1/users', { body: { login: 'xmluser', password: 'xml-password-1' } });
  });
  afterAll(async () => {
    await t.stop();
  });

  const post = async (body: string, accept = 'application/json', type = 'application/xml') => {
    const res = await fetch(`${t.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': type, accept },
      body,
    });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  };

  it('sends from an XML body; answers JSON by default and XML when asked', async () => {
    const doc = `<?xml version="1.0" encoding="UTF-8"?>
<message>
  <to>+15555550500</to>
  <to>+15555550501</to>
  <text>Fish &amp; chips &#8364;5 &lt;today&gt;</text>
  <from>ACME</from>
  <flash>true</flash>
  <validity>60</validity>
  <client_ref>order-42</client_ref>
</message>`;
    const json = await post(doc);
    expect(json.status, json.text).toBe(202);
    const body = JSON.parse(json.text);
    expect(body.accepted).toBe(2);
    const m = await t.call('GET', `/v1/messages/${body.messages[0].id}`, { auth: 'xmluser:xml-password-1' });
    expect(m.body).toMatchObject({
      text: 'Fish & chips €5 <today>',
      from: 'ACME',
      flash: true,
      validity: 60,
      client_ref: 'order-42',
    });

    const xml = await post(doc.replace('order-42', 'order-43'), 'application/xml');
    expect(xml.status).toBe(202);
    expect(xml.type).toMatch(/^application\/xml/);
    expect(xml.text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<response>')).toBe(true);
    const parsed = read.parse(xml.text).response;
    expect(parsed.accepted).toBe('2');
    expect(parsed.messages).toHaveLength(2);
    expect(parsed.messages[0].status).toBe('queued');
    // A text/xml body and a single recipient as a comma-separated list work the same.
    const plain = await post(
      '<message><to>+15555550502,+15555550503</to><text>x</text></message>',
      'application/json',
      'text/xml',
    );
    expect(JSON.parse(plain.text).accepted).toBe(2);
  });

  it('refuses a DOCTYPE with an external entity (XXE) with 400 xml_dtd_forbidden, in XML when asked', async () => {
    const xxe = `<?xml version="1.0"?>
<!DOCTYPE message [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<message><to>+15555550504</to><text>&xxe;</text></message>`;
    const r = await post(xxe);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).error.code).toBe('xml_dtd_forbidden');
    const x = await post(xxe, 'application/xml');
    expect(x.status).toBe(400);
    expect(read.parse(x.text).response.error.code).toBe('xml_dtd_forbidden');
    // Whatever the case and spacing.
    expect((await post('<! doctype message SYSTEM "http://127.0.0.1/x.dtd"><message/>')).status).toBe(400);
  });

  it('refuses entity expansion, undeclared entities, broken and deep documents with 400 codes', async () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><message><to>+15555550505</to><text>&lol2;</text></message>`;
    expect(JSON.parse((await post(laughs)).text).error.code).toBe('xml_dtd_forbidden');
    const undeclared = await post('<message><to>+15555550505</to><text>&foo;</text></message>');
    expect(undeclared.status).toBe(400);
    expect(JSON.parse(undeclared.text).error.code).toBe('invalid_xml');
    const broken = await post('<message><to>+15555550505</to><text>x</message>');
    expect(broken.status).toBe(400);
    expect(JSON.parse(broken.text).error.code).toBe('invalid_xml');
    const deep = await post(
      `<message><to>+15555550505</to><text>x</text>${'<a>'.repeat(50)}${'</a>'.repeat(50)}</message>`,
    );
    expect(deep.status).toBe(400);
    expect(JSON.parse(deep.text).error.code).toBe('invalid_xml');
    const bad = await post('<message><to>+15555550505</to><text>x</text><validity>lots</validity></message>');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error).toMatchObject({ code: 'validation_failed', field: 'validity' });
    // Nothing of these was queued.
    const list = await t.call('GET', '/v1/messages?to=%2B15555550505', { auth: 'xmluser:xml-password-1' });
    expect(list.body.data).toHaveLength(0);
  });

  it('answers GET in XML when Accept prefers it, JSON when JSON is preferred or tied', async () => {
    const get = async (accept: string) =>
      fetch(`${t.url}/v1/messages?limit=1`, { headers: { authorization: auth, accept } });
    expect((await get('application/xml')).headers.get('content-type')).toMatch(/^application\/xml/);
    expect((await get('application/json, application/xml;q=0.5')).headers.get('content-type')).toMatch(
      /^application\/json/,
    );
    expect((await get('*/*')).headers.get('content-type')).toMatch(/^application\/json/);
  });
});
