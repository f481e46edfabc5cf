/**
 * SMPP 3.4 PDUs for the server face: framing, header, and the bodies a gateway receives from
 * client applications (bind, submit_sm, submit_multi, query_sm, cancel_sm, replace_sm,
 * enquire_link, unbind) and sends to them (responses, deliver_sm, generic_nack).
 * Decoding never throws anything but PduError, which carries the command_status to answer.
 */

export const CMD = {
  generic_nack: 0x80000000,
  bind_receiver: 0x00000001,
  bind_receiver_resp: 0x80000001,
  bind_transmitter: 0x00000002,
  bind_transmitter_resp: 0x80000002,
  query_sm: 0x00000003,
  query_sm_resp: 0x80000003,
  submit_sm: 0x00000004,
  submit_sm_resp: 0x80000004,
  deliver_sm: 0x00000005,
  deliver_sm_resp: 0x80000005,
  unbind: 0x00000006,
  unbind_resp: 0x80000006,
  replace_sm: 0x00000007,
  replace_sm_resp: 0x80000007,
  cancel_sm: 0x00000008,
  cancel_sm_resp: 0x80000008,
  bind_transceiver: 0x00000009,
  bind_transceiver_resp: 0x80000009,
  enquire_link: 0x00000015,
  enquire_link_resp: 0x80000015,
  submit_multi: 0x00000021,
  submit_multi_resp: 0x80000021,
  data_sm: 0x00000103,
  data_sm_resp: 0x80000103,
} as const;

export const STATUS = {
  ESME_ROK: 0x00,
  ESME_RINVMSGLEN: 0x01,
  ESME_RINVCMDLEN: 0x02,
  ESME_RINVCMDID: 0x03,
  ESME_RINVBNDSTS: 0x04,
  ESME_RALYBND: 0x05,
  ESME_RSYSERR: 0x08,
  ESME_RINVSRCADR: 0x0a,
  ESME_RINVDSTADR: 0x0b,
  ESME_RINVMSGID: 0x0c,
  ESME_RBINDFAIL: 0x0d,
  ESME_RINVPASWD: 0x0e,
  ESME_RINVSYSID: 0x0f,
  ESME_RCANCELFAIL: 0x11,
  ESME_RREPLACEFAIL: 0x13,
  ESME_RINVNUMDESTS: 0x33,
  ESME_RTHROTTLED: 0x58,
  ESME_RINVSCHED: 0x61,
  ESME_RINVEXPIRY: 0x62,
  ESME_RINVDCS: 0x104,
  ESME_RSUBMITFAIL: 0x45,
  ESME_RQUERYFAIL: 0x67,
  ESME_RX_T_APPN: 0x64,
  ESME_RUNKNOWNERR: 0xff,
} as const;

/** Largest PDU we accept: a submit with a full message_payload fits easily. */
export const MAX_PDU = 64 * 1024;

export class PduError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Header {
  length: number;
  id: number;
  status: number;
  seq: number;
}

export function readHeader(buf: Buffer): Header {
  return {
    length: buf.readUInt32BE(0),
    id: buf.readUInt32BE(4),
    status: buf.readUInt32BE(8),
    seq: buf.readUInt32BE(12),
  };
}

/** Reads fields of a PDU body in order; every read is bounds-checked. */
export class Reader {
  private pos = 16;
  constructor(private readonly buf: Buffer) {}

  cstring(max: number, field: string): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end === -1) throw new PduError(STATUS.ESME_RINVCMDLEN, `${field}: missing terminator`);
    if (end - this.pos > max - 1)
      throw new PduError(STATUS.ESME_RINVCMDLEN, `${field}: longer than ${max - 1}`);
    const s = this.buf.toString('latin1', this.pos, end);
    this.pos = end + 1;
    return s;
  }

  u8(field: string): number {
    if (this.pos + 1 > this.buf.length) throw new PduError(STATUS.ESME_RINVCMDLEN, `${field}: PDU too short`);
    return this.buf.readUInt8(this.pos++);
  }

  bytes(n: number, field: string): Buffer {
    if (this.pos + n > this.buf.length) throw new PduError(STATUS.ESME_RINVMSGLEN, `${field}: PDU too short`);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** Optional parameters (TLVs) to the end of the PDU. */
  tlvs(): Map<number, Buffer> {
    const out = new Map<number, Buffer>();
    while (this.pos < this.buf.length) {
      if (this.pos + 4 > this.buf.length) throw new PduError(STATUS.ESME_RINVCMDLEN, 'truncated TLV header');
      const tag = this.buf.readUInt16BE(this.pos);
      const len = this.buf.readUInt16BE(this.pos + 2);
      this.pos += 4;
      out.set(tag, this.bytes(len, `TLV 0x${tag.toString(16)}`));
    }
    return out;
  }
}

/** Builds a PDU: header plus body fields. */
export class Writer {
  private parts: Buffer[] = [];

  cstring(s: string): this {
    this.parts.push(Buffer.from(s, 'latin1'), Buffer.alloc(1));
    return this;
  }

  u8(n: number): this {
    this.parts.push(Buffer.from([n & 0xff]));
    return this;
  }

  bytes(b: Uint8Array): this {
    this.parts.push(Buffer.from(b));
    return this;
  }

  tlv(tag: number, value: Buffer): this {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(tag, 0);
    h.writeUInt16BE(value.length, 2);
    this.parts.push(h, value);
    return this;
  }

  pdu(id: number, status: number, seq: number): Buffer {
    const body = Buffer.concat(this.parts);
    const h = Buffer.alloc(16);
    h.writeUInt32BE(16 + body.length, 0);
    h.writeUInt32BE(id >>> 0, 4);
    h.writeUInt32BE(status >>> 0, 8);
    h.writeUInt32BE(seq >>> 0, 12);
    return Buffer.concat([h, body]);
  }
}

export const TLV = {
  user_message_reference: 0x0204,
  sar_msg_ref_num: 0x020c,
  sar_total_segments: 0x020e,
  sar_segment_seqnum: 0x020f,
  message_payload: 0x0424,
  qos_time_to_live: 0x0017,
  message_state: 0x0427,
  receipted_message_id: 0x001e,
  network_error_code: 0x0423,
} as const;

export interface Bind {
  systemId: string;
  password: string;
  systemType: string;
}

/**
 * SMPP 3.4 allows 15 characters of system_id and 8 of password; longer ones (up to 64) are
 * read anyway, so a client that sends them is refused as an unknown system_id or a wrong
 * password (what it is), not as a malformed PDU.
 */
export function decodeBind(buf: Buffer): Bind {
  const r = new Reader(buf);
  const systemId = r.cstring(65, 'system_id');
  const password = r.cstring(65, 'password');
  const systemType = r.cstring(13, 'system_type');
  return { systemId, password, systemType };
}

export interface Submit {
  serviceType: string;
  source: string;
  destinations: string[];
  esmClass: number;
  protocolId: number;
  scheduleDeliveryTime: string;
  validityPeriod: string;
  registeredDelivery: number;
  replaceIfPresent: number;
  dataCoding: number;
  shortMessage: Buffer;
  tlvs: Map<number, Buffer>;
}

/** submit_sm, and submit_multi when `multi` (several destinations, SME addresses only). */
export function decodeSubmit(buf: Buffer, multi: boolean): Submit {
  const r = new Reader(buf);
  const serviceType = r.cstring(6, 'service_type');
  r.u8('source_addr_ton');
  r.u8('source_addr_npi');
  const source = r.cstring(21, 'source_addr');
  const destinations: string[] = [];
  if (multi) {
    const n = r.u8('number_of_dests');
    if (n < 1 || n > 254) throw new PduError(STATUS.ESME_RINVNUMDESTS, 'number_of_dests must be 1..254');
    for (let i = 0; i < n; i++) {
      const flag = r.u8('dest_flag');
      if (flag === 1) {
        r.u8('dest_addr_ton');
        r.u8('dest_addr_npi');
        destinations.push(r.cstring(21, 'destination_addr'));
      } else {
        r.cstring(21, 'dl_name'); // distribution lists are not supported; the name is skipped
      }
    }
  } else {
    r.u8('dest_addr_ton');
    r.u8('dest_addr_npi');
    destinations.push(r.cstring(21, 'destination_addr'));
  }
  const esmClass = r.u8('esm_class');
  const protocolId = r.u8('protocol_id');
  r.u8('priority_flag');
  const scheduleDeliveryTime = r.cstring(17, 'schedule_delivery_time');
  const validityPeriod = r.cstring(17, 'validity_period');
  const registeredDelivery = r.u8('registered_delivery');
  const replaceIfPresent = r.u8('replace_if_present_flag');
  const dataCoding = r.u8('data_coding');
  r.u8('sm_default_msg_id');
  const smLength = r.u8('sm_length');
  const shortMessage = r.bytes(smLength, 'short_message');
  const tlvs = r.tlvs();
  return {
    serviceType,
    source,
    destinations,
    esmClass,
    protocolId,
    scheduleDeliveryTime,
    validityPeriod,
    registeredDelivery,
    replaceIfPresent,
    dataCoding,
    shortMessage,
    tlvs,
  };
}

/**
 * data_sm (SMPP 3.4 §4.7): the submit_sm fields a data_sm has, the text in message_payload.
 * It has no schedule, validity (qos_time_to_live, in seconds, stands for it) or replace flag.
 */
export function decodeDataSm(buf: Buffer): Submit {
  const r = new Reader(buf);
  const serviceType = r.cstring(6, 'service_type');
  r.u8('source_addr_ton');
  r.u8('source_addr_npi');
  const source = r.cstring(65, 'source_addr');
  r.u8('dest_addr_ton');
  r.u8('dest_addr_npi');
  const destination = r.cstring(65, 'destination_addr');
  const esmClass = r.u8('esm_class');
  const registeredDelivery = r.u8('registered_delivery');
  const dataCoding = r.u8('data_coding');
  const tlvs = r.tlvs();
  return {
    serviceType,
    source,
    destinations: [destination],
    esmClass,
    protocolId: 0,
    scheduleDeliveryTime: '',
    validityPeriod: '',
    registeredDelivery,
    replaceIfPresent: 0,
    dataCoding,
    shortMessage: Buffer.alloc(0),
    tlvs,
  };
}

/** query_sm and cancel_sm both start with message_id and a source address. */
export function decodeMessageRef(buf: Buffer): { messageId: string } {
  const r = new Reader(buf);
  const messageId = r.cstring(65, 'message_id');
  return { messageId };
}

export interface Replace {
  messageId: string;
  source: string;
  scheduleDeliveryTime: string;
  validityPeriod: string;
  registeredDelivery: number;
  shortMessage: Buffer;
}

/** replace_sm. It has no data_coding: the original message's applies (the caller knows it). */
export function decodeReplace(buf: Buffer): Replace {
  const r = new Reader(buf);
  const messageId = r.cstring(65, 'message_id');
  r.u8('source_addr_ton');
  r.u8('source_addr_npi');
  const source = r.cstring(21, 'source_addr');
  const scheduleDeliveryTime = r.cstring(17, 'schedule_delivery_time');
  const validityPeriod = r.cstring(17, 'validity_period');
  const registeredDelivery = r.u8('registered_delivery');
  r.u8('sm_default_msg_id');
  const smLength = r.u8('sm_length');
  return {
    messageId,
    source,
    scheduleDeliveryTime,
    validityPeriod,
    registeredDelivery,
    shortMessage: r.bytes(smLength, 'short_message'),
  };
}

export interface MessageFields {
  source: string;
  sourceTon?: number;
  sourceNpi?: number;
  destination: string;
  esmClass: number;
  protocolId?: number;
  validityPeriod?: string;
  registeredDelivery?: number;
  dataCoding: number;
  /** short_message, or message_payload when longer than 254 octets. */
  body: Buffer;
  tlvs?: [number, Buffer][];
}

/** The body shared by submit_sm and deliver_sm (they have the same layout). Addresses lose a leading '+'. */
export function messageBody(d: MessageFields): Writer {
  const w = new Writer()
    .cstring('')
    .u8(d.sourceTon ?? 1)
    .u8(d.sourceNpi ?? 1)
    .cstring(d.source.replace(/^\+/, ''))
    .u8(1)
    .u8(1)
    .cstring(d.destination.replace(/^\+/, ''))
    .u8(d.esmClass)
    .u8(d.protocolId ?? 0)
    .u8(0)
    .cstring('')
    .cstring(d.validityPeriod ?? '')
    .u8(d.registeredDelivery ?? 0)
    .u8(0)
    .u8(d.dataCoding)
    .u8(0);
  if (d.body.length <= 254) w.u8(d.body.length).bytes(d.body);
  else w.u8(0).tlv(TLV.message_payload, d.body);
  for (const [tag, value] of d.tlvs ?? []) w.tlv(tag, value);
  return w;
}

/** deliver_sm to a client: a receipt (esm_class 0x04) or a mobile-originated message. */
export function encodeDeliver(seq: number, d: MessageFields): Buffer {
  return messageBody(d).pdu(CMD.deliver_sm, 0, seq);
}
