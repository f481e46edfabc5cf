/**
 * What we ask Gammu to do, as an argument vector, and what its answer means. Pure: the
 * driver runs the vector locally with execFile (no shell) or remotely over SSH (quoted).
 */
import type { OutboundSms } from '../port.js';

export interface GammuTarget {
  /** Path of the gammu binary on the host that runs it. */
  gammuPath: string;
  /** gammurc to use (-c); default: Gammu's own lookup (~/.gammurc). */
  configFile?: string | undefined;
  /** Section of the gammurc (-s N): the seed's gateway_id, one per modem port. */
  section?: number | undefined;
}

/** Gammu's named validity periods: the shortest one that covers the requested minutes. */
function validityArg(minutes: number): string {
  if (minutes <= 60) return 'HOUR';
  if (minutes <= 360) return '6HOURS';
  if (minutes <= 1440) return 'DAY';
  if (minutes <= 4320) return '3DAYS';
  if (minutes <= 10080) return 'WEEK';
  return 'MAX';
}

export function sendsmsArgs(t: GammuTarget, sms: OutboundSms): string[] {
  const args: string[] = [];
  if (t.configFile) args.push('-c', t.configFile);
  if (t.section !== undefined) args.push('-s', String(t.section));
  args.push('sendsms', 'TEXT', sms.to);
  if (sms.encoding === 'ucs2') args.push('-unicode');
  // -autolen splits into as many concatenated parts as the text needs (without it Gammu
  // silently cuts a long text to one SMS).
  args.push('-autolen', String(Math.max(1, sms.text.length)));
  if (sms.flash) args.push('-flash');
  if (sms.replaceId !== undefined) args.push('-replacemessages', String(sms.replaceId));
  if (sms.validityMinutes !== undefined) args.push('-validity', validityArg(sms.validityMinutes));
  if (sms.deliveryReport) args.push('-report');
  args.push('-text', sms.text);
  return args;
}

/** POSIX shell quoting for the remote side: everything inside single quotes is literal. */
export function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export type GammuOutcome =
  | { ok: true; references: string[] }
  | { ok: false; code: 'channel_timeout' | 'channel_error' | 'network_error'; message: string };

/** Reads `Sending SMS 1/2..OK, message reference=17` lines, or the error Gammu printed. */
export function parseSendsms(output: string, exitCode: number | null): GammuOutcome {
  const references = [...output.matchAll(/OK, message reference=(\d+)/g)].map((m) => m[1] as string);
  const parts = [...output.matchAll(/Sending SMS (\d+)\/(\d+)/g)];
  const total = Number(parts[0]?.[2] ?? references.length);
  if (exitCode === 0 && references.length > 0 && references.length >= total) return { ok: true, references };
  const error = /Error[^\n]*/.exec(output)?.[0]?.trim() ?? `gammu exited with ${exitCode ?? 'a signal'}`;
  if (/timeout|No response/i.test(output)) return { ok: false, code: 'channel_timeout', message: error };
  if (/network|not registered|SMSC/i.test(error)) return { ok: false, code: 'network_error', message: error };
  return { ok: false, code: 'channel_error', message: error };
}
