/** Shared pieces for channel driver tests: an outbound message and a recorder of channel events. */
import type { ChannelEvents, DeliveryReport, InboundSms, OutboundSms } from '../../src/channels/port.js';
import { preview } from '../../src/codec/index.js';

export function outbound(text: string, over: Partial<OutboundSms> = {}): OutboundSms {
  const p = preview(text);
  return {
    id: `m${Math.random().toString(36).slice(2)}`,
    to: '+79001234567',
    text,
    encoding: p.encoding,
    segments: p.segments,
    flash: false,
    deliveryReport: true,
    ...over,
  };
}

export function recorder(): { reports: DeliveryReport[]; inbound: InboundSms[]; events: ChannelEvents } {
  const reports: DeliveryReport[] = [];
  const inbound: InboundSms[] = [];
  const events: ChannelEvents = {
    deliveryReport: async (r) => void reports.push(r),
    inbound: async (s) => void inbound.push(s),
    state: () => undefined,
  };
  return { reports, inbound, events };
}
