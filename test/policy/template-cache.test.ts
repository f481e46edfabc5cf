/**
 * Templates resolved for sending are cached per owner (store/templates.ts forSending): every
 * change made through the repository applies to the next send at once.
 */
import { describe, expect, it } from 'vitest';
import { resolveTemplate } from '../../src/services/templates.js';
import { createStore } from '../../src/store/index.js';
import { forgetTemplates } from '../../src/store/templates.js';
import { TEST_DBS } from '../support/db.js';

type Store = ReturnType<typeof createStore>;

function template(store: Store, owner: string) {
  return store.templates.create(
    {
      owner_id: owner,
      kind: 'template',
      name: 'code',
      text: 'Code {code}',
      category: 'verification',
      placement: null,
      variables: null,
    },
    owner,
  );
}

function signature(store: Store, owner: string) {
  return store.templates.create(
    {
      owner_id: owner,
      kind: 'signature',
      name: 'Acme',
      text: '【Acme】',
      category: 'notification',
      placement: 'prefix',
      variables: null,
    },
    owner,
  );
}

/** Sends template `id` with code 42: the rendered text, or the refusal's code. */
function sender(store: Store, owner: string, id: string): () => Promise<string | undefined> {
  return () =>
    resolveTemplate(store, owner, id, { code: '42' }).then(
      (r) => r.text,
      (e: { code?: string }) => e.code,
    );
}

describe.each(TEST_DBS)('templates cached for sending ($name)', (tdb) => {
  it('an edit, a decision, a new signature or a removal applies to the next send', async () => {
    const { db, cleanup } = await tdb.open();
    try {
      const store = createStore(db);
      const owner = (await store.users.create({ login: 'tc', passwordHash: 'x', role: 'user' })).id;
      const t = await template(store, owner);
      const send = sender(store, owner, t.id);
      expect(await send()).toBe('template_not_approved');
      await store.templates.decide('template', t.id, 'approved', owner, null);
      expect(await send()).toBe('Code 42');
      const current = await store.templates.byId('template', t.id, owner);
      const edited = await store.templates.edit(current!, { text: 'Your code {code}' }, owner);
      expect(edited?.status).toBe('pending');
      expect(await send()).toBe('template_not_approved');
      await store.templates.decide('template', t.id, 'approved', owner, null);
      expect(await send()).toBe('Your code 42');
      const sig = await signature(store, owner);
      expect(await send()).toBe('signature_not_approved');
      await store.templates.decide('signature', sig.id, 'approved', owner, null);
      expect(await send()).toMatch(/^【Acme】\s?Your code 42$/);
      await store.templates.remove(edited ?? t, owner);
      expect(await send()).toBe('not_found');
    } finally {
      await cleanup();
    }
  });
  it('a change committed while a send reads the signature is not cached over (the read is stale)', async () => {
    const { db, cleanup } = await tdb.open();
    try {
      const store = createStore(db);
      const owner = (await store.users.create({ login: 'tr', passwordHash: 'x', role: 'user' })).id;
      const t = await template(store, owner);
      await store.templates.decide('template', t.id, 'approved', owner, null);
      const sig = await signature(store, owner);
      await store.templates.decide('signature', sig.id, 'approved', owner, null);
      const send = sender(store, owner, t.id);
      // The interleaving: the send's signature read has its (approved) rows, and before it is
      // stored the signature is edited back to review, which commits and forgets the owner.
      const read = store.templates.signatureOf.bind(store.templates);
      let interleave: (() => Promise<unknown>) | undefined = async () => {
        const current = await store.templates.byId('signature', sig.id, owner);
        await store.templates.edit(current!, { text: '【Acme Ltd】' }, owner);
      };
      store.templates.signatureOf = async (ownerId) => {
        const out = await read(ownerId);
        const during = interleave;
        interleave = undefined;
        await during?.();
        return out;
      };
      // That send raced the edit: it may carry the old signature.
      expect(await send()).toMatch(/^【Acme】\s?Code 42$/);
      // The next one must see the signature under review, not a cached copy of the old one.
      expect(await send()).toBe('signature_not_approved');
      // And a decision: a read (nothing cached) finds the signature under review, and it is
      // approved meanwhile.
      forgetTemplates(owner);
      interleave = () => store.templates.decide('signature', sig.id, 'approved', owner, null);
      expect(await send()).toBe('signature_not_approved');
      expect(await send()).toMatch(/^【Acme Ltd】\s?Code 42$/);
    } finally {
      await cleanup();
    }
  });
});
