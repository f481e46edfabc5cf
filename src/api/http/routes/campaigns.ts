/** REST v1 campaigns: create (with the cost estimate), list, progress, pause/resume/cancel, results as CSV. */
import { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { Campaign, CampaignCost, CsvText, Open } from '../schemas.js';
import { ApiError, say } from '../../../core/errors.js';
import type { CampaignService } from '../../../services/campaigns.js';
import { campaignView } from '../../../services/campaigns.js';
import { OUTCOME_STATUSES } from '../../../store/campaigns.js';
import type { Store } from '../../../store/index.js';
import { ownerScope, principalOf } from '../auth.js';
import { csvCell } from './reports.js';

const Outcome = Type.Union([
  Type.Literal('delivered'),
  Type.Literal('failed'),
  Type.Literal('replied'),
  Type.Literal('sent'),
]);

export const CampaignBody = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 200 })),
  text: Type.Optional(
    Type.String({
      maxLength: 20_000,
      description: 'Text with {variables} from contact fields or recipient columns.',
    }),
  ),
  template_id: Type.Optional(
    Type.String({ maxLength: 64, description: 'An approved template (when templates are available).' }),
  ),
  from: Type.Optional(Type.String({ maxLength: 16 })),
  channel_id: Type.Optional(Type.String({ maxLength: 64 })),
  audience: Type.Object({
    group_ids: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 100 })),
    contacts: Type.Optional(
      Type.Object({
        tag: Type.Optional(Type.String({ maxLength: 64 })),
        q: Type.Optional(Type.String({ maxLength: 100 })),
      }),
    ),
    recipients: Type.Optional(
      Type.Array(
        Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 1000 }), { maxProperties: 50 }),
        { maxItems: 10_000 },
      ),
    ),
    follow_up: Type.Optional(Type.Object({ campaign_id: Type.String({ maxLength: 64 }), outcome: Outcome })),
  }),
  send_at: Type.Optional(
    Type.String({ maxLength: 40, description: 'ISO time; without an offset it is read in time_zone.' }),
  ),
  time_zone: Type.Optional(
    Type.String({
      maxLength: 64,
      description: 'IANA zone for send_at, recurrence and recipients of unknown zone; default UTC.',
    }),
  ),
  window: Type.Optional(
    Type.Object(
      { start: Type.String({ maxLength: 5 }), end: Type.String({ maxLength: 5 }) },
      { description: 'Recipient local time, e.g. 09:00–20:00.' },
    ),
  ),
  rate: Type.Optional(
    Type.Number({ minimum: 0.001, maximum: 100_000, description: 'Messages per second at most.' }),
  ),
  recurrence: Type.Optional(
    Type.Object({
      cron: Type.String({ maxLength: 100, description: 'Cron syntax, in time_zone, e.g. "0 9 1 * *".' }),
    }),
  ),
  draft: Type.Optional(Type.Boolean({ description: 'Keep as a draft (POST …/start to schedule it).' })),
});

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
  parent_id: Type.Optional(
    Type.String({ maxLength: 64, description: 'The occurrences of a recurring campaign.' }),
  ),
});
const EXPORT_PAGE = 2_000;
const SUCCESS = new Set(['sent', ...OUTCOME_STATUSES.delivered]);

export function campaignRoutes(
  untyped: FastifyInstance,
  deps: { store: Store; campaigns: CampaignService },
): void {
  const app = untyped.withTypeProvider<TypeBoxTypeProvider>();
  const { store, campaigns } = deps;

  app.post(
    '/v1/campaigns',
    {
      schema: {
        response: { 201: Campaign },
        tags: ['campaigns'],
        summary: 'Create a campaign (scheduled at once unless draft)',
        body: CampaignBody,
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      return reply.status(201).send(await campaigns.create(p, req.body));
    },
  );

  app.get(
    '/v1/campaigns',
    {
      schema: {
        response: { 200: Open({ data: Type.Array(Campaign) }) },
        tags: ['campaigns'],
        summary: 'Campaigns, newest first',
        querystring: ListQuery,
      },
    },
    async (req) => {
      const p = principalOf(req);
      const q = req.query;
      const limit = q.limit ?? 50;
      const rows = await store.campaigns.list(ownerScope(p), {
        before: q.cursor,
        limit,
        parentId: q.parent_id,
      });
      const now = Date.now();
      return {
        // The list shows done / total; per-status counts are on GET /v1/campaigns/:id.
        data: rows.map((c) =>
          campaignView(c, { pending: Math.max(0, c.recipients_total - c.recipients_done) }, now),
        ),
        next_cursor: rows.length === limit ? (rows[rows.length - 1] as { id: string }).id : null,
      };
    },
  );

  app.get(
    '/v1/campaigns/:id',
    {
      schema: {
        response: { 200: Campaign },
        tags: ['campaigns'],
        summary: 'A campaign with its progress (counts per status, rate, ETA) and estimate',
        params: IdParams,
      },
    },
    async (req) => {
      const p = principalOf(req);
      return campaigns.view(ownerScope(p), req.params.id);
    },
  );

  app.get(
    '/v1/campaigns/:id/estimate',
    {
      schema: {
        response: { 200: CampaignCost },
        tags: ['campaigns'],
        summary: 'The cost of a campaign at the price list (create it as a draft to ask before it starts)',
        params: IdParams,
      },
    },
    async (req) => {
      const p = principalOf(req);
      return campaigns.cost(ownerScope(p), req.params.id);
    },
  );

  for (const action of ['pause', 'resume', 'cancel', 'start'] as const) {
    app.post(
      `/v1/campaigns/:id/${action}`,
      {
        schema: {
          response: { 200: Campaign },
          tags: ['campaigns'],
          summary: `${action[0]?.toUpperCase()}${action.slice(1)} a campaign`,
          params: IdParams,
        },
      },
      async (req) => {
        const p = principalOf(req);
        return campaigns.move(ownerScope(p), req.params.id, action);
      },
    );
  }

  app.get(
    '/v1/campaigns/:id/results.csv',
    {
      schema: {
        response: { 200: CsvText('Each recipient with its message id, status and error.') },
        tags: ['campaigns'],
        summary: 'Per-recipient results (success, failure or all) as CSV',
        params: IdParams,
        querystring: Type.Object({
          outcome: Type.Optional(
            Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('all')]),
          ),
        }),
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const id = req.params.id;
      const outcome = req.query.outcome ?? 'all';
      const c = await store.campaigns.byId(id, ownerScope(p));
      if (!c) throw new ApiError('not_found', say('api.campaign.noSuchCampaign'));
      const failed = new Set(OUTCOME_STATUSES.failed);
      const keep = (status: string | null, skip: string | null) => {
        if (outcome === 'all') return true;
        if (outcome === 'success') return status !== null && SUCCESS.has(status);
        return skip !== null || (status !== null && failed.has(status));
      };
      async function* lines() {
        yield '\uFEFFnumber,message_id,status,error_code,sent_at,final_at\r\n';
        let after = '';
        for (;;) {
          const rows = await store.campaigns.results(id, after, EXPORT_PAGE);
          if (rows.length === 0) return;
          after = (rows[rows.length - 1] as { number: string }).number;
          yield rows
            .filter((r) => keep(r.status, r.skip_code))
            .map((r) => {
              const cells = [
                r.number,
                r.message_id ?? '',
                r.status ?? (r.skip_code ? 'skipped' : 'pending'),
                r.error_code ?? r.skip_code ?? '',
                r.sent_at ? new Date(r.sent_at).toISOString() : '',
                r.final_at ? new Date(r.final_at).toISOString() : '',
              ];
              return `${cells.map(csvCell).join(',')}\r\n`;
            })
            .join('');
        }
      }
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="campaign-${id}-${outcome}.csv"`)
        .send(Readable.from(lines(), { objectMode: false }));
    },
  );
}
