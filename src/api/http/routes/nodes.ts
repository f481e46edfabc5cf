/** Node status (issue 17): the gateway processes sharing the database and the channels each runs. Admin only. */
import type { FastifyInstance } from 'fastify';
import type { NodeStatus } from '../../../dispatch/leases.js';
import { requireAdmin } from '../auth.js';
import { ListOf, NodeView } from '../schemas.js';

export interface NodeStatusSource {
  status(): Promise<NodeStatus[]>;
}

export function nodeRoutes(app: FastifyInstance, deps: { cluster?: NodeStatusSource | undefined }): void {
  app.get(
    '/v1/nodes',
    {
      schema: {
        tags: ['admin'],
        summary: 'Nodes, their heartbeats and the channels each runs',
        response: { 200: ListOf(NodeView) },
      },
    },
    async (req) => {
      requireAdmin(req);
      return { data: deps.cluster ? await deps.cluster.status() : [] };
    },
  );
}
