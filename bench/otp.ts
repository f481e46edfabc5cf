/**
 * `npm run bench:otp`: how fast OTP answers (issue 15 asks < 50 ms). The gateway in its own
 * process (SQLite, the built-in simulator channel); N OTPs sent to N numbers, then per OTP one
 * wrong code and the right one (read from the sent message) verified: one at a time, then 16 at
 * a time. Latency of POST /v1/otp and POST /v1/otp/verify as the client sees it (HTTP included):
 * median, p95, p99.
 */
import { loadavg } from 'node:os';
import { api, cpuSeconds, machine, median, percentile, startGateway, writeSection } from './support.js';

const N = Number(process.env.BENCH_OTP ?? 300);
const KEY = 'bench-admin-key-0123456789abcdef';

async function main(): Promise<void> {
  const gw = await startGateway({
    SMSGW_ADMIN_API_KEY: KEY,
    SMSGW_SMPP_PORT: '0',
    SMSGW_OTP_PER_NUMBER_PER_HOUR: '1000',
  });
  try {
    await api(gw.url, KEY, 'POST', '/v1/users', { login: 'otpbench', password: 'otp-bench-password' });
    const auth = `Basic ${Buffer.from('otpbench:otp-bench-password').toString('base64')}`;
    const call = async (method: string, path: string, body?: unknown) => {
      const t0 = performance.now();
      const res = await fetch(gw.url + path, {
        method,
        headers: { authorization: auth, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const json = (await res.json()) as any;
      if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
      return { ms: performance.now() - t0, json };
    };
    const sendMs: number[] = [];
    const otps: { id: string; code: string }[] = [];
    for (let i = 0; i < N; i++) {
      const r = await call('POST', '/v1/otp', {
        to: `+1555${String(i).padStart(7, '0')}`,
        template: 'Code {code}',
      });
      sendMs.push(r.ms);
      const m = await call('GET', `/v1/messages/${r.json.message_id}`);
      otps.push({ id: r.json.id, code: (m.json.text as string).slice(5) });
    }
    const sequential: number[] = [];
    for (const o of otps.slice(0, N / 2)) {
      const wrong = await call('POST', '/v1/otp/verify', { id: o.id, code: 'x' });
      if (wrong.json.status !== 'invalid') throw new Error('wrong code not invalid');
      const right = await call('POST', '/v1/otp/verify', { id: o.id, code: o.code });
      if (right.json.status !== 'valid') throw new Error('right code not valid');
      sequential.push(wrong.ms, right.ms);
    }
    const parallel: number[] = [];
    const rest = otps.slice(N / 2);
    // The gateway's own CPU for the concurrent phase: what a verification costs it, which the
    // shared box's load does not change the way it changes the round trips.
    const cpu0 = cpuSeconds(gw.proc.pid);
    for (let i = 0; i < rest.length; i += 16) {
      await Promise.all(
        rest.slice(i, i + 16).map(async (o) => {
          const r = await call('POST', '/v1/otp/verify', { id: o.id, code: o.code });
          if (r.json.status !== 'valid') throw new Error('right code not valid');
          parallel.push(r.ms);
        }),
      );
    }
    const cpuPerVerify = ((cpuSeconds(gw.proc.pid) - cpu0) * 1000) / rest.length;
    const fmt = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return `${median(s).toFixed(1)} | ${percentile(s, 95).toFixed(1)} | ${percentile(s, 99).toFixed(1)}`;
    };
    const load = loadavg()
      .map((l) => l.toFixed(1))
      .join(', ');
    const body = `Machine: ${machine()}, load average ${load} while measuring (shared box). ${N} OTPs; SQLite (synchronous FULL; verifications arriving together share one transaction); HTTP round trip as the client sees it (ms).

| Call | median | p95 | p99 |
| --- | --- | --- | --- |
| POST /v1/otp (send, one at a time) | ${fmt(sendMs)} |
| POST /v1/otp/verify, one at a time (wrong then right code) | ${fmt(sequential)} |
| POST /v1/otp/verify, 16 at a time | ${fmt(parallel)} |

Gateway CPU per verification in the 16-at-a-time phase: ${cpuPerVerify.toFixed(2)} ms.
`;
    console.log(body);
    writeSection('OTP (npm run bench:otp)', body);
  } finally {
    await gw.stop();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
