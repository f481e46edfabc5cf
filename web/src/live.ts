/** Live status updates: long-polls the change feed and hands each batch of events to a callback. */
import { api } from './api';
import type { MessageStatus } from '../../src/core/message.js';

export interface FeedEvent {
  id: number;
  message_id: string;
  status: MessageStatus;
  error_code: string | null;
  at: string;
}

export function followEvents(onEvents: (events: FeedEvent[]) => void): () => void {
  let stopped = false;
  (async () => {
    let cursor =
      (await api<{ next_cursor: number }>('GET', '/v1/events?latest=true').catch(() => null))?.next_cursor ??
      0;
    while (!stopped) {
      try {
        const page = await api<{ data: FeedEvent[]; next_cursor: number }>(
          'GET',
          `/v1/events?after=${cursor}&wait=20&limit=500`,
        );
        cursor = page.next_cursor;
        if (page.data.length > 0 && !stopped) onEvents(page.data);
      } catch {
        await new Promise((r) => setTimeout(r, 3000)); // server restarting or session ended
      }
    }
  })();
  return () => {
    stopped = true; // the poll in flight ends by itself within its wait
  };
}
