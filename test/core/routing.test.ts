import { describe, expect, it } from 'vitest';
import type { ChannelSnapshot, RoutableMessage } from '../../src/core/routing.js';
import { backoffMs, route } from '../../src/core/routing.js';

const NOW = 1_000_000;

function ch(id: string, over: Partial<ChannelSnapshot> = {}): ChannelSnapshot {
  return {
    id,
    ownerId: null,
    enabled: true,
    up: true,
    flash: true,
    replace: true,
    maxSegments: 10,
    monthlyLimit: null,
    countMode: 'segments',
    usedThisMonth: 0,
    inFlight: 0,
    maxInFlight: 1,
    minIntervalMs: 0,
    lastSendAt: 0,
    priority: 100,
    prefixes: [],
    simulated: false,
    ...over,
  };
}

const msg = (over: Partial<RoutableMessage> = {}): RoutableMessage => ({
  ownerId: 'u1',
  to: '+79001234567',
  segments: 1,
  flash: false,
  replaceId: null,
  avoidChannelId: null,
  ...over,
});

describe('routing', () => {
  it('prefers the least used SIM relative to its limit', () => {
    const d = route(
      msg(),
      [ch('a', { usedThisMonth: 50, monthlyLimit: 100 }), ch('b', { usedThisMonth: 60, monthlyLimit: 200 })],
      NOW,
    );
    expect(d).toEqual({ kind: 'channel', channelId: 'b' });
  });

  it('skips SIMs whose monthly limit would be passed, counting segments', () => {
    const channels = [
      ch('a', { usedThisMonth: 98, monthlyLimit: 100 }),
      ch('b', { usedThisMonth: 500, monthlyLimit: 1000 }),
    ];
    expect(route(msg({ segments: 3 }), channels, NOW)).toEqual({ kind: 'channel', channelId: 'b' });
    expect(route(msg({ segments: 3 }), [channels[0]!], NOW).kind).toBe('none');
    expect(
      route(
        msg({ segments: 3 }),
        [ch('a', { usedThisMonth: 98, monthlyLimit: 100, countMode: 'messages' })],
        NOW,
      ).kind,
    ).toBe('channel');
  });

  it('waits for the minimum interval and the one-at-a-time lock', () => {
    const busy = [
      ch('a', { minIntervalMs: 10_000, lastSendAt: NOW - 4_000 }),
      ch('b', { inFlight: 1, minIntervalMs: 10_000, lastSendAt: NOW - 2_000 }),
    ];
    expect(route(msg(), busy, NOW)).toEqual({ kind: 'wait', until: NOW + 6_000 });
  });

  it("uses the owner's own channels before shared ones, and never another user's", () => {
    const channels = [
      ch('shared'),
      ch('mine', { ownerId: 'u1', usedThisMonth: 999 }),
      ch('theirs', { ownerId: 'u2' }),
    ];
    expect(route(msg(), channels, NOW)).toEqual({ kind: 'channel', channelId: 'mine' });
    expect(route(msg({ ownerId: 'u3' }), channels, NOW)).toEqual({ kind: 'channel', channelId: 'shared' });
    expect(route(msg({ ownerId: 'u3' }), [ch('theirs', { ownerId: 'u2' })], NOW)).toMatchObject({
      kind: 'none',
      reason: 'no channel for this user',
    });
  });

  it('fails over away from the channel that just failed when another qualifies', () => {
    const channels = [ch('a'), ch('b', { usedThisMonth: 10 })];
    expect(route(msg({ avoidChannelId: 'a' }), channels, NOW)).toEqual({ kind: 'channel', channelId: 'b' });
    expect(route(msg({ avoidChannelId: 'a' }), [ch('a')], NOW)).toEqual({ kind: 'channel', channelId: 'a' });
  });

  it('uses only the pinned channel, waiting for it rather than taking another', () => {
    const channels = [ch('a'), ch('b', { usedThisMonth: 10 })];
    expect(route(msg({ pinnedChannelId: 'b' }), channels, NOW)).toEqual({ kind: 'channel', channelId: 'b' });
    const busy = [ch('a'), ch('b', { inFlight: 1 })];
    expect(route(msg({ pinnedChannelId: 'b' }), busy, NOW).kind).toBe('wait');
    expect(route(msg({ pinnedChannelId: 'b' }), [ch('a'), ch('b', { up: false })], NOW).kind).toBe('none');
  });

  it('skips down, disabled and feature-less channels', () => {
    const channels = [
      ch('down', { up: false }),
      ch('off', { enabled: false }),
      ch('noflash', { flash: false }),
      ch('ok', { usedThisMonth: 5 }),
    ];
    expect(route(msg({ flash: true }), channels, NOW)).toEqual({ kind: 'channel', channelId: 'ok' });
  });

  it('prefers SIMs of the recipient operator by prefix', () => {
    const channels = [
      ch('mts', { prefixes: ['+7916'], usedThisMonth: 100 }),
      ch('beeline', { prefixes: ['+7903'] }),
    ];
    expect(route(msg({ to: '+79161234567' }), channels, NOW)).toEqual({ kind: 'channel', channelId: 'mts' });
    expect(route(msg({ to: '+79991234567' }), channels, NOW)).toEqual({
      kind: 'channel',
      channelId: 'beeline',
    });
  });

  describe('the shared simulator is a test instrument, not a sink', () => {
    const sim = (over: Partial<ChannelSnapshot> = {}) =>
      ch('sim', { simulated: true, maxInFlight: 200, ...over });

    it('takes messages on a fresh install, where it is the only channel', () => {
      expect(route(msg(), [sim()], NOW)).toEqual({ kind: 'channel', channelId: 'sim' });
      // A second simulator is not a real channel either.
      expect(route(msg(), [sim(), ch('sim2', { simulated: true, usedThisMonth: 9 })], NOW)).toEqual({
        kind: 'channel',
        channelId: 'sim',
      });
    });

    it('takes nothing once a real channel is enabled, even a busy, down or limited one', () => {
      // The simulator is free, unlimited and unused: without the rule it would win every time.
      const real = ch('smsc', { usedThisMonth: 900, monthlyLimit: 1000 });
      expect(route(msg(), [sim(), real], NOW)).toEqual({ kind: 'channel', channelId: 'smsc' });
      expect(route(msg(), [sim(), ch('smsc', { inFlight: 1 })], NOW).kind).toBe('wait');
      const down = route(msg(), [sim(), ch('smsc', { up: false })], NOW);
      expect(down).toMatchObject({
        kind: 'none',
        reason: 'every usable channel is down, exhausted or lacks a feature',
      });
      // Another user's real channel is still a real channel: the shared simulator stands back.
      const theirs = route(msg(), [sim(), ch('modem', { ownerId: 'u2' })], NOW);
      expect(theirs.kind).toBe('none');
      expect((theirs as { reason: string }).reason).toMatch(
        /shared simulator takes only messages pinned to it/,
      );
    });

    it('takes them again when the real channel is disabled', () => {
      expect(route(msg(), [sim(), ch('smsc', { enabled: false })], NOW)).toEqual({
        kind: 'channel',
        channelId: 'sim',
      });
    });

    it('takes a message pinned to it', () => {
      expect(route(msg({ pinnedChannelId: 'sim' }), [sim(), ch('smsc')], NOW)).toEqual({
        kind: 'channel',
        channelId: 'sim',
      });
    });

    it('serves as an own channel when an admin routed a user to it', () => {
      const mine = sim({ ownerId: 'u1' });
      expect(route(msg(), [mine, ch('smsc')], NOW)).toEqual({ kind: 'channel', channelId: 'sim' });
      // Others do not see it, and its owner loses it as soon as it is down, like any channel.
      expect(route(msg({ ownerId: 'u2' }), [mine, ch('smsc')], NOW)).toEqual({
        kind: 'channel',
        channelId: 'smsc',
      });
      expect(route(msg(), [sim({ ownerId: 'u1', up: false }), ch('smsc')], NOW)).toEqual({
        kind: 'channel',
        channelId: 'smsc',
      });
    });
  });

  it('backs off exponentially with a cap', () => {
    expect([1, 2, 3, 10].map((n) => backoffMs(n, 1000, 5000))).toEqual([1000, 2000, 4000, 5000]);
  });
});
