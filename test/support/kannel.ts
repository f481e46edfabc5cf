/**
 * Kannel 1.4.5 (Debian's `kannel`: bearerbox + smsbox) as a real peer for tests and benchmarks:
 * where it is installed, and a kannel.conf that makes it an ESME bound (transceiver) to an SMPP
 * server on 127.0.0.1 with `/cgi-bin/sendsms` on smsbox.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

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

export interface KannelConfig {
  /** Where the log files go. */
  dir: string;
  adminPort: number;
  boxPort: number;
  sendsmsPort: number;
  /** The SMPP server Kannel binds to, with these credentials (8 characters at most: SMPP's limit). */
  smppPort: number;
  smscId: string;
  username: string;
  password: string;
  /** Kannel's SMPP window. */
  maxPendingSubmits: number;
  /** 0 debug … 2 warning … 4 panic, in every group. */
  logLevel: number;
  sendsmsUser: string;
  sendsmsPassword: string;
  maxMessages: number;
  /** The sms-service get-url inbound messages go to (none: no sms-service group). */
  moUrl?: string;
}

/** kannel.conf; a blank line ends a group, so each group's lines stay together. No access log. */
export function kannelConfig(c: KannelConfig): string {
  const groups = [
    `group = core
admin-port = ${c.adminPort}
admin-interface = 127.0.0.1
admin-password = adminpw
status-password = statuspw
admin-allow-ip = "127.0.0.1"
smsbox-port = ${c.boxPort}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "${c.dir}/bearerbox.log"
log-level = ${c.logLevel}
dlr-storage = internal`,
    `group = smsc
smsc = smpp
smsc-id = ${c.smscId}
host = 127.0.0.1
port = ${c.smppPort}
transceiver-mode = true
smsc-username = ${c.username}
smsc-password = ${c.password}
system-type = ""
source-addr-ton = 1
source-addr-npi = 1
dest-addr-ton = 1
dest-addr-npi = 1
enquire-link-interval = 30
reconnect-delay = 1
max-pending-submits = ${c.maxPendingSubmits}
log-file = "${c.dir}/smsc.log"
log-level = ${c.logLevel}`,
    `group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = ${c.boxPort}
sendsms-port = ${c.sendsmsPort}
sendsms-interface = 127.0.0.1
log-file = "${c.dir}/smsbox.log"
log-level = ${c.logLevel}`,
    `group = sendsms-user
username = ${c.sendsmsUser}
password = ${c.sendsmsPassword}
max-messages = ${c.maxMessages}
concatenation = true`,
  ];
  if (c.moUrl)
    groups.push(`group = sms-service
keyword = default
get-url = "${c.moUrl}"
max-messages = 0
catch-all = true`);
  return `${groups.join('\n\n')}\n`;
}
