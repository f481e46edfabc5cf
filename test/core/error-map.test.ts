import { describe, expect, it } from 'vitest';
import { fromCmsError, fromReceipt, fromSmppStatus, fromTpStatus } from '../../src/core/error-map.js';

describe('one error mapping table', () => {
  it.each([
    [0x58, { code: 'throttled', permanent: false, throttle: true }],
    [0x14, { code: 'throttled', permanent: false, throttle: true }],
    [0x0b, { code: 'invalid_number', permanent: true }],
    [0x45, { code: 'channel_error', permanent: false }],
    [0x1234, { code: 'channel_error', permanent: false }],
  ])('SMPP status 0x%s', (status, expected) => {
    expect(fromSmppStatus(status)).toEqual(expected);
  });

  it.each([
    ['DELIVRD', '000', { state: 'delivered' }],
    ['delivrd', undefined, { state: 'delivered' }],
    ['UNDELIV', '001', { state: 'undelivered', code: 'unknown_subscriber' }],
    ['UNDELIV', '027', { state: 'undelivered', code: 'absent_subscriber' }],
    ['UNDELIV', '999', { state: 'undelivered', code: 'network_error' }],
    ['EXPIRED', '0', { state: 'expired', code: 'expired' }],
    ['REJECTD', '', { state: 'rejected', code: 'rejected_by_network' }],
    ['ENROUTE', '0', { state: 'enroute' }],
    ['ACCEPTD', '0', { state: 'accepted' }],
    ['garbage', '0', { state: 'unknown', code: undefined }],
  ])('receipt stat:%s err:%s', (stat, err, expected) => {
    expect(fromReceipt(stat, err)).toEqual(expected);
  });

  it.each([
    [0x00, { state: 'delivered' }],
    [0x02, { state: 'delivered' }],
    [0x21, { state: 'enroute' }],
    [0x43, { state: 'undelivered', code: 'unknown_subscriber' }],
    [0x46, { state: 'expired', code: 'expired' }],
    [0x62, { state: 'undelivered', code: 'absent_subscriber' }],
    [0x60, { state: 'undelivered', code: 'network_error' }],
    [0xff, { state: 'unknown' }],
  ])('TP-ST 0x%s', (st, expected) => {
    expect(fromTpStatus(st)).toEqual(expected);
  });

  it.each([
    [1, { code: 'unknown_subscriber', permanent: true }],
    [21, { code: 'rejected_by_network', permanent: true }],
    [42, { code: 'network_error', permanent: false }],
    [310, { code: 'channel_error', permanent: false }],
    [500, { code: 'channel_error', permanent: false }],
  ])('+CMS ERROR: %s', (n, expected) => {
    expect(fromCmsError(n)).toEqual(expected);
  });
});
