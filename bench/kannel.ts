/**
 * Kannel (Debian's `kannel` package: bearerbox + smsbox) as the peer of `npm run bench:vs-kannel`:
 * found on the machine, never installed; started in a temp directory as an ESME bound
 * (transceiver) to the bench's SMPP sink (test/support/kannel.ts writes the config).
 *
 * Tuned as its documentation and the peers notes advise for throughput: log level 2 (warning)
 * in every group and `-v 4` on the console, no access log, internal DLR storage, `max-messages`
 * 10, concatenation on; `max-pending-submits` (its SMPP window) is the variant.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findKannel, kannelConfig } from '../test/support/kannel.js';
import { freePort } from './support.js';

export const KANNEL_USER = 'bench';
export const KANNEL_PASSWORD = 'benchpw';

export { findKannel };

export interface Kannel {
  /** smsbox's sendsms interface, e.g. http://127.0.0.1:PORT */
  url: string;
  pids: number[];
  stop(): Promise<void>;
}

async function answers(url: string, contains: RegExp): Promise<boolean> {
  try {
    const res = await fetch(url);
    return contains.test(await res.text());
  } catch {
    return false;
  }
}

function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    proc.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

/** Starts bearerbox, then smsbox; resolves when the SMSC link is online and smsbox is connected. */
export async function startKannel(sbin: string, sinkPort: number, maxPending: number): Promise<Kannel> {
  const dir = mkdtempSync(join(tmpdir(), 'kannel-bench-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const conf = join(dir, 'kannel.conf');
  writeFileSync(
    conf,
    kannelConfig({
      dir,
      adminPort: ports[0] as number,
      boxPort: ports[1] as number,
      sendsmsPort: ports[2] as number,
      smppPort: sinkPort,
      smscId: 'sink',
      username: 'kannel',
      password: 'secret',
      maxPendingSubmits: maxPending,
      logLevel: 2,
      sendsmsUser: KANNEL_USER,
      sendsmsPassword: KANNEL_PASSWORD,
      maxMessages: 10,
    }),
  );
  const box = (name: string) =>
    spawn(join(sbin, name), ['-v', '4', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  const bearerbox = box('bearerbox');
  const procs = [bearerbox];
  const stop = async () => {
    for (const p of [...procs].reverse()) await stopProcess(p);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const status = `http://127.0.0.1:${ports[0]}/status.txt?password=statuspw`;
    const until = Date.now() + 30_000;
    while (!(await answers(status, /sink\[.*online/))) {
      if (bearerbox.exitCode !== null)
        throw new Error(`bearerbox exited (${bearerbox.exitCode}); see ${dir}`);
      if (Date.now() > until) throw new Error(`Kannel's SMSC link did not come online; see ${dir}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const smsbox = box('smsbox');
    procs.push(smsbox);
    const url = `http://127.0.0.1:${ports[2]}`;
    while (!(await answers(status, /smsbox:/)) || !(await answers(`${url}/cgi-bin/sendsms`, /./))) {
      if (smsbox.exitCode !== null) throw new Error(`smsbox exited (${smsbox.exitCode}); see ${dir}`);
      if (Date.now() > until) throw new Error(`smsbox did not come up; see ${dir}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { url, pids: procs.map((p) => p.pid as number), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
