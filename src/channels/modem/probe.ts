/**
 * `smsgw modem probe`: which serial ports answer AT, and what is behind them — so an operator
 * can add a channel per usable port in one step (the seed's Alcatel has five ports, two usable).
 */
import { readdirSync } from 'node:fs';
import { AtLine } from './at.js';
import type { OpenPort } from './port.js';
import { openPort } from './port.js';

export interface ProbedModem {
  path: string;
  manufacturer?: string | undefined;
  model?: string | undefined;
  revision?: string | undefined;
  imei?: string | undefined;
  imsi?: string | undefined;
  iccid?: string | undefined;
  signal?: number | undefined;
  registered?: boolean | undefined;
  operator?: string | undefined;
}

/** Candidate ports: what serialport lists plus /dev/ttyUSB* and /dev/ttyACM*. */
export async function candidatePorts(): Promise<string[]> {
  const { SerialPort } = await import('serialport');
  const listed = (await SerialPort.list().catch(() => [])).map((p) => p.path);
  const dev = readdirSync('/dev')
    .filter((n) => /^tty(USB|ACM)\d+$/.test(n))
    .map((n) => `/dev/${n}`);
  return [...new Set([...listed, ...dev])].sort();
}

/** A port that did not answer as a modem, and why, in words an operator can act on. */
export interface ProbeFailure {
  path: string;
  error: string;
}

export type ProbeResult = ProbedModem | ProbeFailure;

export function isFailure(r: ProbeResult): r is ProbeFailure {
  return 'error' in r;
}

/** Why a port could not be used, from the open or AT error. */
export function probeError(err: unknown): string {
  const e = err as { code?: string; message?: string; timeout?: boolean };
  if (e.timeout === true) return 'no answer to AT (not a modem port, or the modem is off)';
  const text = `${e.code ?? ''} ${e.message ?? String(err)}`;
  if (/EACCES|Permission denied/i.test(text))
    return 'permission denied: add this user to the "dialout" group (then log in again)';
  if (/EBUSY|Cannot lock port|Resource temporarily unavailable/i.test(text))
    return 'busy: another program holds the port (ModemManager, Gammu, a running gateway)';
  if (/ENOENT|No such file/i.test(text)) return 'no such device';
  if (/ECONNREFUSED|connection refused/i.test(text)) return 'connection refused';
  if (/timed? ?out|timeout/i.test(text)) return 'no answer to AT (not a modem port, or the modem is off)';
  return e.message ?? String(err);
}

/** Asks one port (a device path or tcp://host:port, as the simulator prints). */
export async function probePort(path: string, timeoutMs = 1500): Promise<ProbeResult> {
  let port: OpenPort | undefined;
  try {
    port = await openPort(path, 115200);
    const at = new AtLine(port.io);
    await at.command('ATE0', timeoutMs);
    const ask = async (cmd: string) =>
      (await at.command(cmd, timeoutMs).catch(() => [] as string[])).find((l) => l.trim() !== '');
    const strip = (v: string | undefined, prefix: RegExp) => v?.replace(prefix, '').trim();
    const csq = await ask('AT+CSQ');
    const creg = await ask('AT+CREG?');
    const cops = await ask('AT+COPS?');
    const signal = csq ? Number(/\+CSQ: ?(\d+)/.exec(csq)?.[1]) : undefined;
    const stat = creg ? Number(/,(\d+)/.exec(creg)?.[1]) : undefined;
    return {
      path,
      manufacturer: await ask('AT+CGMI'),
      model: await ask('AT+CGMM'),
      revision: await ask('AT+CGMR'),
      imei: await ask('AT+CGSN'),
      imsi: await ask('AT+CIMI'),
      iccid: strip(await ask('AT+CCID'), /^\+?(CCID|ICCID):\s*/i),
      signal: signal === 99 ? undefined : signal,
      registered: stat === 1 || stat === 5,
      operator: cops ? /"([^"]*)"/.exec(cops)?.[1] : undefined,
    };
  } catch (err) {
    return { path, error: probeError(err) };
  } finally {
    await port?.close();
  }
}

/** Every port asked, in order: the modems found and, for the others, why not. */
export async function probeModems(paths?: string[]): Promise<ProbeResult[]> {
  const out: ProbeResult[] = [];
  for (const path of paths ?? (await candidatePorts())) out.push(await probePort(path));
  return out;
}
