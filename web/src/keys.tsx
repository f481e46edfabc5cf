/** API keys in the dashboard: one key's line in a list, and revoking one (Settings for one's own, Users for an admin's view). */
import { api } from './api';
import { confirmAction } from './confirm';
import { t } from './i18n';
import { RowButton, when } from './ui';

/** Asks, then revokes; resolves true when the key was revoked, false when the operator declined. */
export async function revokeKey(k: { id: string; name: string }): Promise<boolean> {
  const ok = await confirmAction({
    title: t('keys.confirmRevoke', { name: k.name }),
    body: t('keys.confirmRevokeBody'),
    action: t('keys.revoke'),
    danger: true,
  });
  if (!ok) return false;
  await api('DELETE', `/v1/keys/${encodeURIComponent(k.id)}`);
  return true;
}

/** An API key as GET /v1/keys lists it (never its secret). */
export interface Key {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** One key in a list: name, prefix, when last used (or revoked), its owner when given, Revoke. */
export function KeyItem({ k, owner, onRevoke }: { k: Key; owner?: string; onRevoke: (k: Key) => void }) {
  return (
    <li>
      <strong>{k.name}</strong> <code dir="ltr">{k.prefix}…</code>{' '}
      {owner !== undefined && (
        <span class="badge" data-testid="key-owner">
          {t('keys.owner', { login: owner })}
        </span>
      )}{' '}
      <span class="muted small">
        {k.revoked_at
          ? t('keys.revokedAt', { when: when(k.revoked_at) })
          : t('keys.lastUsed', { when: when(k.last_used_at) })}
      </span>{' '}
      {!k.revoked_at && <RowButton label={t('keys.revoke')} row={k.name} onClick={() => onRevoke(k)} />}
    </li>
  );
}
