/**
 * Templates and sender signatures: submitting, editing, reviewing (admins), and turning a
 * template and its params into the text a message carries. Shared by REST and the CLI; the
 * sending side (`resolveTemplate`) by MessageService, so every way in renders the same way.
 */
import type { TemplateCategory, VariableSpec } from '../core/template.js';
import { TEMPLATE_CATEGORIES, checkTemplate, render, sign } from '../core/template.js';
import { ApiError, say } from '../core/errors.js';
import type { Store } from '../store/index.js';
import type { TemplateRow } from '../store/schema.js';
import type { TemplateKind } from '../store/templates.js';

/** Per user: templates and signatures are reviewed by hand, so a few hundred is plenty. */
export const MAX_TEMPLATES = 500;
export const MAX_SIGNATURES = 20;
export const MAX_TEMPLATE_TEXT = 1_000;
export const MAX_SIGNATURE_TEXT = 32;

export interface TemplateFields {
  name?: string | undefined;
  text?: string | undefined;
  category?: string | undefined;
  placement?: 'prefix' | 'suffix' | undefined;
  variables?: Record<string, VariableSpec> | undefined;
}

function checkFields(kind: TemplateKind, f: TemplateFields): void {
  if (f.text !== undefined) {
    const max = kind === 'template' ? MAX_TEMPLATE_TEXT : MAX_SIGNATURE_TEXT;
    if (f.text.trim() === '' || f.text.length > max) {
      throw new ApiError('validation_failed', say('api.templates.textLength', { max }), 'text');
    }
    if (kind === 'signature' && /[{}]/.test(f.text)) {
      throw new ApiError('validation_failed', say('api.templates.sigNoVars'), 'text');
    }
  }
  if (f.category !== undefined && !(TEMPLATE_CATEGORIES as readonly string[]).includes(f.category)) {
    throw new ApiError(
      'validation_failed',
      say('api.templates.category', { categories: TEMPLATE_CATEGORIES.join(', ') }),
      'category',
    );
  }
}

export async function submit(
  store: Store,
  kind: TemplateKind,
  ownerId: string,
  actorId: string,
  f: TemplateFields,
): Promise<TemplateRow> {
  checkFields(kind, f);
  const text = f.text ?? '';
  if (kind === 'template') {
    if (!f.category) throw new ApiError('missing_parameter', say('api.templates.needCategory'), 'category');
    checkTemplate(text, f.variables);
  }
  const max = kind === 'template' ? MAX_TEMPLATES : MAX_SIGNATURES;
  if ((await store.templates.count(ownerId, kind)) >= max) {
    throw new ApiError(
      'conflict',
      say(kind === 'template' ? 'api.templates.maxTemplates' : 'api.templates.maxSignatures', { max }),
    );
  }
  return store.templates.create(
    {
      owner_id: ownerId,
      kind,
      name: f.name ?? text,
      text,
      category: kind === 'template' ? (f.category ?? null) : null,
      placement: kind === 'signature' ? (f.placement ?? 'prefix') : null,
      variables: kind === 'template' && f.variables ? JSON.stringify(f.variables) : null,
    },
    actorId,
  );
}

/** An edit of any field sends the item (back) to review. */
export async function edit(
  store: Store,
  current: TemplateRow,
  actorId: string,
  f: TemplateFields,
): Promise<TemplateRow> {
  checkFields(current.kind, f);
  if (current.kind === 'template') {
    checkTemplate(f.text ?? current.text, f.variables ?? declared(current));
  }
  const patch: Partial<TemplateRow> = {};
  if (f.name !== undefined) patch.name = f.name;
  if (f.text !== undefined) patch.text = f.text;
  if (f.category !== undefined && current.kind === 'template') patch.category = f.category;
  if (f.placement !== undefined && current.kind === 'signature') patch.placement = f.placement;
  if (f.variables !== undefined && current.kind === 'template') patch.variables = JSON.stringify(f.variables);
  const row = await store.templates.edit(current, patch, actorId);
  if (!row) throw new ApiError('conflict', say('api.templates.changed'));
  return row;
}

export function declared(row: TemplateRow): Record<string, VariableSpec> | undefined {
  return row.variables ? (JSON.parse(row.variables) as Record<string, VariableSpec>) : undefined;
}

/**
 * The text of a message sent with a template: the owner's approved template rendered with the
 * params, signed with the owner's approved signature (a user with no signature at all sends
 * unsigned; one whose signatures are all under review or rejected cannot send yet).
 */
/**
 * A campaign's text from an approved template: its variables left in place (the campaign fills
 * them per recipient from contact fields), signed like any templated message. Undefined when it
 * is not one of the owner's approved templates.
 */
export async function campaignTemplate(
  store: Store,
  ownerId: string,
  templateId: string,
): Promise<{ text: string; category: TemplateCategory } | undefined> {
  const t = await store.templates.byId('template', templateId, ownerId);
  if (!t || t.status !== 'approved') return undefined;
  const sig = await store.templates.signatureOf(ownerId);
  if (sig.any && !sig.approved) throw new ApiError('signature_not_approved');
  return {
    text: sign(
      t.text,
      sig.approved ? { text: sig.approved.text, placement: sig.approved.placement } : undefined,
    ),
    category: t.category as TemplateCategory,
  };
}

export async function resolveTemplate(
  store: Store,
  ownerId: string,
  templateId: string,
  params: Record<string, unknown> | undefined,
): Promise<{ text: string; category: TemplateCategory }> {
  // Cached per owner for 2 s (store/templates.ts forSending): resolved on every request.
  const { template: t, signature: sig } = await store.templates.forSending(ownerId, templateId);
  if (!t) throw new ApiError('not_found', say('api.templates.noSuchTemplateOfYours'), 'template_id');
  if (t.status !== 'approved') {
    throw new ApiError(
      'template_not_approved',
      t.status === 'rejected'
        ? t.reason
          ? say('api.templates.rejectedReason', { reason: t.reason })
          : say('api.templates.rejected')
        : say('api.templates.waiting'),
      'template_id',
    );
  }
  if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
    throw new ApiError('validation_failed', say('api.templates.paramsObject'), 'params');
  }
  const body = render(t.text, params, declared(t));
  if (sig.any && !sig.approved) throw new ApiError('signature_not_approved');
  return {
    text: sign(
      body,
      sig.approved ? { text: sig.approved.text, placement: sig.approved.placement } : undefined,
    ),
    category: t.category as TemplateCategory,
  };
}
