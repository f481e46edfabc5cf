/**
 * Kannel (Debian's `kannel` package: bearerbox + smsbox) as the peer of `npm run bench:vs-kannel`:
 * found on the machine, never installed; configured in a temp directory as an ESME bound
 * (transceiver) to the bench's SMPP sink, with `/cgi-bin/sendsms` on smsbox.
 *
 * Tuned as its documentation and the peers notes advise for throughput: log level 2 (warning)
 * in every group and `-v 4` on the console, no access log, internal DLR storage, `max-messages`
 * 10, concatenation on; `max-pending-submits` (its SMPP window) is the variant.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './support.js';

export const KANNEL_USER = 'bench';
export const KANNEL_PASSWORD = 'benchpw';

/** The directory holding bearerbox and smsbox (KANNEL_SBIN, /usr/sbin, /usr/local/sbin, PATH), or undefined. */
export function findKannel(): string | undefined {
  const dirs = [
    process.env.KANNEL_SBIN,
    '/usr/sbin',
    '/usr/local/sbin',
    ...(process.env.PATH ?? '').split(delimiter),
  ];
  return dirs.find((d) => d && existsSync(join(d, 'bearerbox')) && existsSync(join(d, 'smsbox')));
}

export interface Kannel {
  /** smsbox's sendsms interface, e.g. http://127.0.0.1:PORT */
  url: string;
  pids: number[];
  stop(): Promise<void>;
}

/** kannel.conf: a blank line ends a group, so each group's lines stay together. */
function config(o: { dir: string; sinkPort: number; maxPending: number; ports: number[] }): string {
  const [admin, boxes, sendsms] = o.ports;
  return `group = core
admin-port = ${admin}
admin-interface = 127.0.0.1
admin-password = adminpw
status-password = statuspw
admin-allow-ip = "127.0.0.1"
smsbox-port = ${boxes}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "${o.dir}/bearerbox.log"
log-level = 2
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = sink
host = 127.0.0.1
port = ${o.sinkPort}
transceiver-mode = true
smsc-username = kannel
smsc-password = secret
system-type = ""
source-addr-ton = 1
source-addr-npi = 1
dest-addr-ton = 1
dest-addr-npi = 1
enquire-link-interval = 30
reconnect-delay = 1
max-pending-submits = ${o.maxPending}
log-file = "${o.dir}/smsc.log"
log-level = 2

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = ${boxes}
sendsms-port = ${sendsms}
sendsms-interface = 127.0.0.1
log-file = "${o.dir}/smsbox.log"
log-level = 2

group = sendsms-user
username = ${KANNEL_USER}
password = ${KANNEL_PASSWORD}
max-messages = 10
concatenation = true
`;
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
  writeFileSync(conf, config({ dir, sinkPort, maxPending, ports }));
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
