/**
 * Where the channels run (issue 17 item 5): the gateway nodes sharing the database, each with its
 * status, how long ago it last renewed its heartbeat, and the channels it holds. Admins only
 * (GET /v1/nodes); shown under the Channels table.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { Card, ErrorBox } from '../ui';
import { fmtNumber, t } from '../i18n';

/** The fields of GET /v1/nodes the page shows (src/dispatch/leases.ts NodeStatus). */
export interface NodeInfo {
  id: string;
  name: string;
  self: boolean;
  status: 'live' | 'silent' | 'stopped';
  heartbeat_age_ms: number;
  channels: { id: string; name: string | null }[];
}

export function Nodes({ refresh }: { refresh: number }) {
  const [nodes, setNodes] = useState<NodeInfo[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api<{ data: NodeInfo[] }>('GET', '/v1/nodes').then((r) => {
      setNodes(r.data);
      setError(null);
    }, setError);
  }, [refresh]);

  return (
    <Card title={t('ops.nodes.title')} wide>
      <ErrorBox error={error} />
      {nodes && nodes.length === 0 && <p class="muted">{t('ops.nodes.none')}</p>}
      {/* A list, not a table: a node is a few facts, and its channel names must not make it a
          second "row" named like the channel in the table above. */}
      {nodes && nodes.length > 0 && (
        <ul class="plain" data-testid="nodes">
          {nodes.map((n) => (
            <li key={n.id} aria-label={n.name}>
              <strong>
                <bdi>{n.name}</bdi>
              </strong>
              {n.self && <span class="muted small"> · {t('ops.nodes.self')}</span>}{' '}
              <span class="nowrap">
                <span class={`dot dot-${n.status === 'live' ? 'up' : 'off'}`} aria-hidden="true" />{' '}
                {t(`ops.nodes.state.${n.status}`)}
              </span>
              <dl class="small">
                <dt>{t('ops.nodes.heartbeat')}</dt>
                <dd>
                  {t('ops.nodes.ago', {
                    s: fmtNumber(n.heartbeat_age_ms / 1000, { maximumFractionDigits: 1 }),
                  })}
                </dd>
                <dt>{t('ops.nodes.channels')}</dt>
                <dd>
                  {n.channels.length === 0
                    ? t('common.none')
                    : n.channels.map((c) => c.name ?? c.id).join(', ')}
                </dd>
              </dl>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
