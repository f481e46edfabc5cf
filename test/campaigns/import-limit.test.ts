/**
 * An import larger than its limit: refused with payload_too_large (413), the rows before the
 * limit kept and the import marked failed. It used to end the process: the size limit's error was
 * emitted on a stream piped (not pipelined) into the parser, with nobody listening.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ContactImporter } from '../../src/services/contact-import.js';
import { createStore } from '../../src/store/index.js';
import { TEST_DBS } from '../support/db.js';

describe.each(TEST_DBS)('contact import over its size limit ($name)', (tdb) => {
  it('refuses the rest with payload_too_large and keeps the rows before', async () => {
    const { db, cleanup } = await tdb.open();
    try {
      const store = createStore(db);
      const owner = (await store.users.create({ login: 'limit', passwordHash: 'x', role: 'user' })).id;
      const body = `number\n${Array.from({ length: 20_000 }, (_, i) => `+3933${String(i).padStart(8, '0')}`).join('\n')}\n`;
      // In pieces of 4 KiB, as a socket delivers them: the limit trips after ~150,000 bytes.
      const pieces: string[] = [];
      for (let i = 0; i < body.length; i += 4096) pieces.push(body.slice(i, i + 4096));
      const source = Readable.from(pieces);
      const err = await new ContactImporter(store.book)
        .run(source, { ownerId: owner, maxBytes: 150_000 })
        .then(
          () => undefined,
          (e: unknown) => e as { code?: string; status?: number; importId?: string },
        );
      expect(err).toMatchObject({ code: 'payload_too_large', status: 413 });
      const imp = await store.book.importById(owner, err?.importId as string);
      expect(imp).toMatchObject({ status: 'failed' });
      expect(Number(imp?.rows_imported)).toBeGreaterThan(0);
      expect(Number(imp?.rows_imported)).toBeLessThan(20_000);
    } finally {
      await cleanup();
    }
  });
});
