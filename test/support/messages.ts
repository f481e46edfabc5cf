/** Message and channel rows as the store takes them, for tests that write to the store directly. */
import type { NewChannel } from '../../src/store/channels.js';
import { newId } from '../../src/store/ids.js';
import type { NewMessage } from '../../src/store/schema.js';

/** A shared, enabled simulator channel with no limits (`over` changes any column). */
export function channel(over: Partial<NewChannel> = {}): NewChannel {
  return {
    name: 'sim',
    type: 'simulator',
    owner_id: null,
    config: '{}',
    monthly_limit: null,
    count_mode: 'segments',
    min_interval_ms: 0,
    max_in_flight: 10,
    priority: 1,
    enabled: 1,
    ...over,
  };
}

export function message(ownerId: string, over: Partial<NewMessage> = {}): NewMessage {
  const now = over.created_at ?? Date.now();
  return {
    id: newId(),
    owner_id: ownerId,
    api_key_id: null,
    batch_id: 'b1',
    to: '+15555550100',
    from: null,
    text: 'hello',
    encoding: 'gsm7',
    segments: 1,
    flash: 0,
    replace_id: null,
    validity_minutes: null,
    send_at: null,
    expires_at: now + 3_600_000,
    status: 'queued',
    attempts: 0,
    max_attempts: 3,
    tries_per_attempt: 1,
    next_attempt_at: now,
    lease_owner: null,
    lease_until: null,
    channel_id: null,
    avoid_channel_id: null,
    report_requested: 1,
    error_code: null,
    error_message: null,
    client_ref: null,
    callback_url: null,
    created_at: now,
    updated_at: now,
    sent_at: null,
    final_at: null,
    ...over,
  };
}
