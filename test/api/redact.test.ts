/** Secrets never reach the logs (issue 12, item 6): headers, passwords, webhook secrets, URL credentials. */
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { REDACT_PATHS, redactUrl } from '../../src/core/redact.js';

describe('log redaction', () => {
  it('removes credentials from URLs, also relative request URLs of the seed API', () => {
    expect(redactUrl('https://user:s3cret@hooks.example.com/x?a=1')).toBe(
      'https://***@hooks.example.com/x?a=1',
    );
    expect(redactUrl('/smsc.php?login=bob&pass=hunter2&tel=1')).toBe('/smsc.php?login=bob&pass=***&tel=1');
    expect(redactUrl('http://h/cb?token=abc&api_key=def&x=1')).toBe('http://h/cb?token=***&api_key=***&x=1');
    expect(redactUrl('not a url://user:pw@x')).not.toContain('pw');
  });

  it('censors authorization headers, cookies, passwords and webhook secrets in log lines', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
    log.info(
      {
        req: { headers: { authorization: 'Bearer sgw_abc_secretvalue', cookie: 'smsgw_session=tok' } },
        user: { login: 'bob', password: 'hunter2' },
        settings: { webhook_secret: 'whsec_xyz' },
        password: 'top',
      },
      'something happened',
    );
    const out = lines.join('');
    for (const secret of ['secretvalue', 'smsgw_session=tok', 'hunter2', 'whsec_xyz', '"top"']) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('"login":"bob"');
    expect(out).toContain('[redacted]');
  });
});
