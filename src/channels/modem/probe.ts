/**
 * `smsgw modem probe`: which serial ports answer AT, and what is behind them — so an operator
 * can add a channel per usable port in one step (the seed's Alcatel has five ports, two usable).
 */
import { readdirSync } from 'node:fs';
import { AtLine } from './at.js';

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

/** Asks one port; undefined when it does not answer AT within `timeoutMs`. */
export async function probePort(path: string, timeoutMs = 1500): Promise<ProbedModem | undefined> {
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  try {
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    const at = new AtLine(port);
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
  } catch {
    return undefined;
  } finally {
    if (port.isOpen) await new Promise((r) => port.close(r));
  }
}

export async function probeModems(paths?: string[]): Promise<ProbedModem[]> {
  const found: ProbedModem[] = [];
  for (const path of paths ?? (await candidatePorts())) {
    const m = await probePort(path);
    if (m) found.push(m);
  }
  return found;
}
