/** SMPP over TLS: our client channel binds to the gateway's TLS server face with a pinned CA. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmppClientDriver, parseSmppClientConfig } from '../../src/channels/smpp/driver.js';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp } from '../support/app.js';
import { freePort } from '../support/net.js';
import { HAVE_OPENSSL, selfSignedCert } from '../support/tls.js';

describe.skipIf(!HAVE_OPENSSL)('SMPP over TLS', () => {
  let t: TestApp;
  let port: number;
  let cert: string;

  beforeAll(async () => {
    const tls = selfSignedCert();
    cert = tls.cert;
    port = await freePort();
    t = await startTestApp({
      SMSGW_SIMULATOR: 'false',
      SMSGW_SMPP_TLS_PORT: String(port),
      SMSGW_SMPP_TLS_CERT: tls.certFile,
      SMSGW_SMPP_TLS_KEY: tls.keyFile,
    });
    await t.call('POST', '/v1/users', { body: { login: 'tlsuser', password: 'tlspass1' } });
  });
  afterAll(() => t?.stop());

  const noEvents = {
    deliveryReport: async () => undefined,
    inbound: async () => undefined,
    state: () => undefined,
  };

  it('accepts submits over TLS from a client that trusts the certificate', async () => {
    const d = new SmppClientDriver(
      parseSmppClientConfig({
        host: '127.0.0.1',
        port,
        systemId: 'tlsuser',
        password: 'tlspass1',
        tls: true,
        tlsCa: cert,
      }),
    );
    await d.start(noEvents);
    try {
      const r = await d.submit({
        id: 'x',
        to: '+79001234567',
        text: 'over TLS',
        encoding: 'gsm7',
        segments: 1,
        flash: false,
        deliveryReport: false,
      });
      const m = await eventually(
        async () =>
          (await t.call('GET', `/v1/messages/${r.remoteIds[0]}`, { auth: 'tlsuser:tlspass1' })).body,
      );
      expect(m).toMatchObject({ text: 'over TLS', to: '+79001234567' });
    } finally {
      await d.stop();
    }
  });

  it('refuses a client that does not trust the certificate', async () => {
    const d = new SmppClientDriver(
      parseSmppClientConfig({
        host: '127.0.0.1',
        port,
        systemId: 'tlsuser',
        password: 'tlspass1',
        tls: true,
        bindWaitMs: 1500,
      }),
    );
    await d.start(noEvents);
    try {
      const err = await d
        .submit({
          id: 'x',
          to: '+79001234567',
          text: 'no',
          encoding: 'gsm7',
          segments: 1,
          flash: false,
          deliveryReport: false,
        })
        .catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/not bound/);
    } finally {
      await d.stop();
    }
  });
});
