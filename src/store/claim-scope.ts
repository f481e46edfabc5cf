/**
 * Which queued messages a node may claim when channels are spread over several nodes (issue 17):
 * only those a channel it holds can send, so a message is never taken by a node that would
 * have to put it back (or, worse, send it through the wrong channel).
 */
import type { ExpressionBuilder, ExpressionWrapper, SqlBool } from 'kysely';
import type { Database } from './schema.js';

export interface ClaimScope {
  /** Channels this node holds: it claims messages pinned to them. */
  held: string[];
  /** Every enabled channel on any node. A message pinned to none of them fails routing anywhere. */
  enabled: string[];
  /** Owners with an own channel held here: this node claims their unpinned messages. */
  owners: string[];
  /** This node holds a shared channel that takes unpinned messages (not a standing-back simulator). */
  shared: boolean;
  /** Owners with an own enabled channel somewhere: their unpinned messages go to that channel's node. */
  ownersWithOwn: string[];
}

/** The WHERE condition for a claim under `scope`. */
export function scopeCondition(
  eb: ExpressionBuilder<Database, 'messages'>,
  scope: ClaimScope,
): ExpressionWrapper<Database, 'messages', SqlBool> {
  const any: ExpressionWrapper<Database, 'messages', SqlBool>[] = [];
  if (scope.held.length > 0) any.push(eb('pinned_channel_id', 'in', scope.held));
  // Pinned to a channel that is disabled or gone: any node claims it and routing says why not.
  any.push(
    scope.enabled.length > 0
      ? eb.and([eb('pinned_channel_id', 'is not', null), eb('pinned_channel_id', 'not in', scope.enabled)])
      : eb('pinned_channel_id', 'is not', null),
  );
  const unpinned: ExpressionWrapper<Database, 'messages', SqlBool>[] = [];
  if (scope.owners.length > 0) unpinned.push(eb('owner_id', 'in', scope.owners));
  if (scope.shared)
    unpinned.push(
      scope.ownersWithOwn.length > 0
        ? eb('owner_id', 'not in', scope.ownersWithOwn)
        : eb('owner_id', 'is not', null),
    );
  if (unpinned.length > 0) any.push(eb.and([eb('pinned_channel_id', 'is', null), eb.or(unpinned)]));
  return eb.or(any);
}
