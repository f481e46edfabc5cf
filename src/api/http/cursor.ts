/** Page cursors the lists give out are row ids (UUIDv7); anything else is refused, not searched for. */
import { ApiError, say } from '../../core/errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function idCursor(raw: string | undefined, field = 'cursor'): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!UUID.test(raw)) {
    throw new ApiError('invalid_cursor', say('api.cursor', { field }), field);
  }
  return raw.toLowerCase();
}
