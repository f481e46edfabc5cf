/**
 * The template side of sending, for every way in (REST, seed API, SMPP, SMTP, Kannel, CLI):
 * a templates-only account sends nothing but its approved templates (`template_required`);
 * a request with `template_id` + `params` gets the rendered, signed text and the template's
 * category (which the consent and quiet-hours rules look at).
 */
import { ApiError, say } from '../core/errors.js';
import { isZone } from '../core/quiet-hours.js';
import { policySettingsOf } from '../policy/settings.js';
import type { Store } from '../store/index.js';
import type { Principal } from './auth.js';
import type { SendInput } from './messages.js';
import { resolveTemplate } from './templates.js';

/** The account may send only approved templates (an admin's setting). */
export async function templatesOnly(store: Store, userId: string): Promise<boolean> {
  return (await policySettingsOf(store.db.kysely, [userId])).get(userId)?.templatesOnly ?? false;
}

export async function applyTemplate(
  store: Store,
  principal: Principal,
  input: SendInput,
  opts: { bypassOptOut?: boolean | undefined; category?: string | undefined },
): Promise<{ input: SendInput; category: string | undefined }> {
  if (input.timeZone !== undefined && (typeof input.timeZone !== 'string' || !isZone(input.timeZone))) {
    throw new ApiError('validation_failed', say('api.policy.ianaZone'), 'time_zone');
  }
  if (input.templateId === undefined) {
    // STOP and HELP confirmations (bypass) are the gateway's own answers, not the user's content.
    if (!opts.bypassOptOut && (await templatesOnly(store, principal.user.id))) {
      throw new ApiError('template_required', say('api.templates.templatesOnly'), 'template_id');
    }
    return { input, category: opts.category };
  }
  if (typeof input.templateId !== 'string' || input.templateId === '') {
    throw new ApiError('validation_failed', say('api.templates.templateId'), 'template_id');
  }
  if (input.text !== undefined && input.text !== '') {
    throw new ApiError('validation_failed', say('api.templates.textOrTemplate'), 'text');
  }
  const t = await resolveTemplate(store, principal.user.id, input.templateId, input.params);
  return { input: { ...input, text: t.text }, category: t.category };
}
