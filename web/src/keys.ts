/** API keys in the dashboard: revoking one (Settings for one's own, Users for an admin's view). */
import { api } from './api';
import { confirmAction } from './confirm';
import { t } from './i18n';

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
