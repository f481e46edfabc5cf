/**
 * Outbound URL safety for webhooks, callback URLs and keyword forwards. A tenant chooses these
 * URLs and the gateway fetches them from inside the operator's network, so without a guard any
 * user can make it call the cloud metadata service (169.254.169.254), the database's admin port
 * or anything on loopback (SSRF). Targets are resolved and refused when any address is
 * loopback, link-local, private, CGNAT, multicast or otherwise not public — IPv4 and IPv6,
 * including IPv4 wrapped in IPv6 (`::ffff:127.0.0.1`, NAT64, 6to4) — unless the operator allows
 * private targets or lists CIDRs.
 *
 * Checked twice: when the URL is set (a clear 400), and when a delivery connects, through the
 * socket's `lookup`, so the address connected to is the address checked (DNS can change between
 * the two; a name that resolved to a public address at set time can later resolve to 10.0.0.1).
 */
import { BlockList, isIP } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import { ApiError, say } from '../core/errors.js';
import type { Sentence } from '../i18n/index.js';

/** Resolves a host name to its addresses; tests pass their own so they need no DNS. */
export type Resolver = (hostname: string) => Promise<string[]>;

export interface UrlGuardOptions {
  allowPrivate: boolean;
  /** CIDRs that may be reached although they are in a refused range. */
  allowCidrs: readonly string[];
  resolve?: Resolver | undefined;
}

/** Refused ranges: the English words (logs, `refusal`) and the catalogue key (api.url.range.*). */
const REFUSED_V4: [string, number, string, string][] = [
  ['0.0.0.0', 8, 'this network', 'thisNetwork'],
  ['10.0.0.0', 8, 'private', 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT', 'cgnat'],
  ['127.0.0.0', 8, 'loopback', 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)', 'metadata'],
  ['172.16.0.0', 12, 'private', 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments', 'ietf'],
  ['192.0.2.0', 24, 'documentation', 'documentation'],
  ['192.88.99.0', 24, '6to4 relay', 'relay6to4'],
  ['192.168.0.0', 16, 'private', 'private'],
  ['198.18.0.0', 15, 'benchmarking', 'benchmarking'],
  ['198.51.100.0', 24, 'documentation', 'documentation'],
  ['203.0.113.0', 24, 'documentation', 'documentation'],
  ['224.0.0.0', 4, 'multicast', 'multicast'],
  ['240.0.0.0', 4, 'reserved', 'reserved'],
];
const REFUSED_V6: [string, number, string, string][] = [
  ['::', 128, 'unspecified', 'unspecified'],
  ['::1', 128, 'loopback', 'loopback'],
  ['100::', 64, 'discard', 'discard'],
  ['2001:db8::', 32, 'documentation', 'documentation'],
  ['fc00::', 7, 'unique local (private)', 'uniqueLocal'],
  ['fe80::', 10, 'link-local', 'linkLocal'],
  ['fec0::', 10, 'site-local', 'siteLocal'],
  ['ff00::', 8, 'multicast', 'multicast'],
];

const refused: { list: BlockList; family: 'ipv4' | 'ipv6'; why: string; range: Sentence }[] = [
  ...REFUSED_V4.map(([net, bits, why, key]) => ({ net, bits, why, key, family: 'ipv4' as const })),
  ...REFUSED_V6.map(([net, bits, why, key]) => ({ net, bits, why, key, family: 'ipv6' as const })),
].map(({ net, bits, why, key, family }) => {
  const list = new BlockList();
  list.addSubnet(net, bits, family);
  return { list, family, why, range: say(`api.url.range.${key}`) };
});

/** `a.b.c.d/n` or `v6::/n`; undefined when it is not one. */
export function parseCidr(
  cidr: string,
): { address: string; bits: number; family: 'ipv4' | 'ipv6' } | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr.trim());
  if (!m) return undefined;
  const address = m[1] as string;
  const bits = Number(m[2]);
  const v = isIP(address);
  if (v === 4 && bits <= 32) return { address, bits, family: 'ipv4' };
  if (v === 6 && bits <= 128) return { address, bits, family: 'ipv6' };
  return undefined;
}

/** The 16 bytes of an IPv6 address (isIP(a) === 6 already checked). */
function v6Bytes(a: string): number[] {
  let addr = a.split('%')[0] as string;
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(addr);
  if (dotted) {
    tail.push(...(dotted[1] as string).split('.').map(Number));
    addr = addr.slice(0, -(dotted[1] as string).length) + '0:0';
  }
  const [head, rest] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const words = (s: string | undefined) => (s ? s.split(':').filter((w) => w !== '') : []);
  const h = words(head);
  const r = words(rest);
  const all = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  const bytes = all.flatMap((w) => {
    const n = parseInt(w, 16);
    return [n >> 8, n & 0xff];
  });
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any. */
export function embeddedV4(a: string): string | undefined {
  const b = v6Bytes(a);
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const quad = (i: number) => b.slice(i, i + 4).join('.');
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated but still routed by some stacks)
  if (zero(0, 10) && ((b[10] === 0xff && b[11] === 0xff) || (b[10] === 0 && b[11] === 0))) return quad(12);
  // 64:ff9b::a.b.c.d and 64:ff9b:1::/48 (NAT64)
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) return quad(12);
  // 2002:aabb:ccdd::/48 (6to4)
  if (b[0] === 0x20 && b[1] === 0x02) return quad(2);
  return undefined;
}

/**
 * The system resolver, bounded: a name whose lookup hangs (a dead DNS server, a tarpit domain)
 * would otherwise hold an API request or a delivery slot for the resolver's retries.
 */
const LOOKUP_TIMEOUT_MS = 3000;
async function systemResolver(host: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`lookup of ${host} timed out`), { code: 'ETIMEOUT' })),
      LOOKUP_TIMEOUT_MS,
    );
  });
  try {
    const found = await Promise.race([dnsLookup(host, { all: true, verbatim: true }), timeout]);
    return found.map((a) => a.address);
  } finally {
    clearTimeout(timer);
  }
}

export class UrlGuard {
  private readonly allowed = new BlockList();
  private readonly resolver: Resolver;

  constructor(private readonly opts: UrlGuardOptions) {
    for (const c of opts.allowCidrs) {
      const p = parseCidr(c);
      if (!p) throw new Error(`not a CIDR: ${c}`);
      this.allowed.addSubnet(p.address, p.bits, p.family);
    }
    this.resolver = opts.resolve ?? systemResolver;
  }

  /** Why the gateway may not connect to this IP address, or undefined when it may. */
  refusal(ip: string): string | undefined {
    return this.refusalOf(ip)?.why;
  }

  /** The same, in English words and as a catalogue sentence for the client's answer. */
  private refusalOf(ip: string): { why: string; range: Sentence } | undefined {
    if (this.opts.allowPrivate) return undefined;
    const v = isIP(ip);
    if (v === 0) return { why: 'not an IP address', range: say('api.url.range.notIp') };
    const family = v === 4 ? 'ipv4' : 'ipv6';
    if (this.allowed.check(ip, family)) return undefined;
    if (v === 6) {
      const direct = refused.find((r) => r.family === 'ipv6' && r.list.check(ip, 'ipv6'));
      if (direct) return direct;
      const inner = embeddedV4(ip);
      if (inner !== undefined) {
        const r = this.refusalOf(inner);
        return r
          ? {
              why: `${r.why} (IPv4 ${inner} inside IPv6)`,
              range: say('api.url.inside', { range: r.range, address: inner }),
            }
          : undefined;
      }
    }
    return refused.find((r) => r.family === family && r.list.check(ip, family));
  }

  /** Refuses (ApiError unsafe_url, 400) a URL that is not http(s) or whose host is not public. */
  async check(url: string, field: string): Promise<void> {
    const host = this.hostOf(url, field);
    const addresses = isIP(host) ? [host] : await this.resolveOrRefuse(host, field);
    this.assertAll(host, addresses, field);
  }

  /**
   * The same check for a host that is already an IP address; names are left to `lookup` at
   * connect time. For the delivery path, before the request is made.
   */
  checkLiteral(url: string): void {
    const host = this.hostOf(url, 'url');
    if (isIP(host)) this.assertAll(host, [host], 'url');
  }

  /**
   * A `dns.lookup`-compatible function for `net.connect` (the webhook agents' `lookup`): resolves
   * with our resolver and fails the connection when any address is refused, so the socket
   * connects only to an address that was checked.
   */
  readonly lookup = (
    hostname: string,
    options: { all?: boolean; family?: number | string } | number | undefined,
    callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    const all = typeof options === 'object' && options !== null && options.all === true;
    this.resolver(hostname).then(
      (addresses) => {
        const bad = addresses.map((a) => [a, this.refusal(a)] as const).find(([, why]) => why);
        if (addresses.length === 0)
          return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '');
        if (bad) {
          return callback(
            Object.assign(new Error(`refused: ${hostname} resolves to ${bad[0]} (${bad[1]})`), {
              code: 'EUNSAFEADDR',
            }),
            '',
          );
        }
        const list = addresses.map((address) => ({ address, family: isIP(address) }));
        if (all) return callback(null, list);
        const first = list[0] as LookupAddress;
        return callback(null, first.address, first.family);
      },
      (err: Error) => callback(err, ''),
    );
  };

  private hostOf(url: string, field: string): string {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new ApiError('validation_failed', say('api.misc.notUrl'), field);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new ApiError('unsafe_url', say('api.misc.httpOnly'), field);
    }
    // WHATWG parsing already turned 2130706433, 0x7f.1 and friends into dotted quads.
    return u.hostname.replace(/^\[|\]$/g, '');
  }

  private async resolveOrRefuse(host: string, field: string): Promise<string[]> {
    try {
      const addresses = await this.resolver(host);
      if (addresses.length > 0) return addresses;
    } catch {
      // fall through
    }
    throw new ApiError('unsafe_url', say('api.misc.noResolve', { host }), field);
  }

  private assertAll(host: string, addresses: string[], field: string): void {
    for (const a of addresses) {
      const r = this.refusalOf(a);
      if (r) {
        throw new ApiError(
          'unsafe_url',
          host === a
            ? say('api.url.notPublic', { address: a, range: r.range })
            : say('api.url.resolvesTo', { host, address: a, range: r.range }),
          field,
        );
      }
    }
  }
}
