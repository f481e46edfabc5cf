/**
 * Choosing a channel for a message (the seed's SIM balancing, generalized). Pure: the
 * dispatcher passes a snapshot of every channel and gets back a channel or a time to come back.
 *
 * Rules, in order:
 *  1. A channel must be the one the sender pinned, if any, and be enabled, up, usable by the owner (its own or shared), able to carry the
 *     message's features, and have monthly allowance left for its units.
 *     A shared simulator (no owner) is a test instrument, not a sink: it qualifies only while no
 *     real channel is enabled (a fresh install's quick start), or for a message pinned to it. Once
 *     a SIM or an SMSC exists, nothing goes to it by accident (issue 11: 5 of 6 real messages went
 *     to the unlimited shared simulator and were marked delivered without being sent). A
 *     simulator owned by a user (an admin routed that user to it) is an own channel like any other.
 *  2. The owner's own channels are used before shared ones.
 *  3. Channels whose prefixes match the recipient (e.g. the SIM of the recipient's operator)
 *     are preferred within a tier.
 *  4. After a failed attempt, another channel is preferred when one qualifies (failover).
 *  5. Among those free right now (in-flight below capacity, minimum interval passed), the least
 *     used this month goes first, then lower priority value, then the one idle longest.
 *  If some qualify but none is free, the answer is the earliest time one will be.
 */

export interface ChannelSnapshot {
  id: string;
  ownerId: string | null;
  enabled: boolean;
  up: boolean;
  flash: boolean;
  replace: boolean;
  maxSegments: number;
  monthlyLimit: number | null;
  countMode: 'segments' | 'messages';
  usedThisMonth: number;
  inFlight: number;
  maxInFlight: number;
  minIntervalMs: number;
  lastSendAt: number;
  priority: number;
  prefixes: string[];
  /** The channel only pretends to send (the built-in simulator). */
  simulated: boolean;
}

export interface RoutableMessage {
  ownerId: string;
  to: string;
  segments: number;
  flash: boolean;
  replaceId: number | null;
  avoidChannelId: string | null;
  /** Chosen by the sender: no other channel qualifies. */
  pinnedChannelId?: string | null;
}

export type RouteDecision =
  { kind: 'channel'; channelId: string } | { kind: 'wait'; until: number } | { kind: 'none'; reason: string };

export function unitsFor(ch: Pick<ChannelSnapshot, 'countMode'>, segments: number): number {
  return ch.countMode === 'segments' ? segments : 1;
}

export function freeAt(ch: ChannelSnapshot): number {
  return ch.minIntervalMs > 0 ? ch.lastSendAt + ch.minIntervalMs : 0;
}

export function isFree(ch: ChannelSnapshot, now: number): boolean {
  return ch.inFlight < ch.maxInFlight && freeAt(ch) <= now;
}

export function route(msg: RoutableMessage, channels: ChannelSnapshot[], now: number): RouteDecision {
  const realChannelExists = channels.some((c) => c.enabled && !c.simulated);
  /** A shared simulator stands back once a real channel exists, unless the sender pinned it. */
  const standsBack = (ch: ChannelSnapshot): boolean =>
    ch.simulated && ch.ownerId === null && realChannelExists && msg.pinnedChannelId !== ch.id;
  const qualifies = (ch: ChannelSnapshot): boolean =>
    ch.enabled &&
    !standsBack(ch) &&
    ch.up &&
    (!msg.pinnedChannelId || ch.id === msg.pinnedChannelId) &&
    (ch.ownerId === null || ch.ownerId === msg.ownerId) &&
    (!msg.flash || ch.flash) &&
    (msg.replaceId === null || ch.replace) &&
    msg.segments <= ch.maxSegments &&
    (ch.monthlyLimit === null || ch.usedThisMonth + unitsFor(ch, msg.segments) <= ch.monthlyLimit);

  const usable = channels.filter(qualifies);
  if (usable.length === 0) {
    const forOwner = channels.filter((c) => c.enabled && (c.ownerId === null || c.ownerId === msg.ownerId));
    return {
      kind: 'none',
      reason:
        forOwner.length === 0
          ? 'no channel for this user'
          : forOwner.every(standsBack)
            ? 'no channel for this user (the shared simulator takes only messages pinned to it once a real channel is enabled)'
            : 'every usable channel is down, exhausted or lacks a feature',
    };
  }
  const own = usable.filter((c) => c.ownerId !== null);
  let tier = own.length > 0 ? own : usable;
  const byPrefix = tier.filter((c) => c.prefixes.some((p) => msg.to.startsWith(p)));
  if (byPrefix.length > 0) tier = byPrefix;
  const others = tier.filter((c) => c.id !== msg.avoidChannelId);
  if (others.length > 0) tier = others;

  const free = tier.filter((c) => isFree(c, now));
  if (free.length === 0) {
    // A channel busy with a submit has no known end time: look again in half a second at the earliest.
    const next = Math.min(
      ...tier.map((c) => (c.inFlight < c.maxInFlight ? freeAt(c) : Math.max(freeAt(c), now + 500))),
    );
    return { kind: 'wait', until: Math.max(next, now + 1) };
  }
  free.sort(
    (a, b) =>
      usage(a) - usage(b) ||
      a.priority - b.priority ||
      a.lastSendAt - b.lastSendAt ||
      a.id.localeCompare(b.id),
  );
  return { kind: 'channel', channelId: (free[0] as ChannelSnapshot).id };
}

/** Share of the monthly limit used, so SIMs with different limits fill evenly; raw count when unlimited. */
function usage(c: ChannelSnapshot): number {
  return c.monthlyLimit ? c.usedThisMonth / c.monthlyLimit : c.usedThisMonth / 1e9;
}

/** Exponential backoff for attempt n (1-based): base, 2·base, 4·base … capped. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}
