/**
 * Cross-check with an independent implementation: Gammu (`savesms` with the dummy phone writes
 * each part it would send to a file) must split the same texts into the same parts, with the
 * same coding, as our SMS-SUBMIT encoder.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { preview } from '../../src/codec/index.js';
import { decodePdu, encodeSubmitPdus } from '../../src/codec/tpdu.js';

const HAVE_GAMMU = existsSync('/usr/bin/gammu');

/** The parts Gammu would send for a text: their texts (from the TextNN hex) and coding. */
function gammuParts(text: string, unicode: boolean): { text: string; coding: string; udh: string }[] {
  const dir = mkdtempSync(join(tmpdir(), 'smsgw-gammu-xc-'));
  mkdirSync(join(dir, 'dev'));
  writeFileSync(join(dir, 'rc'), `[gammu]\nmodel = dummy\nconnection = none\ndevice = ${join(dir, 'dev')}\n`);
  const args = [
    '-c',
    join(dir, 'rc'),
    'savesms',
    'TEXT',
    '-folder',
    '2',
    '-sender',
    '123',
    '-len',
    String(text.length + 10),
  ];
  if (unicode) args.push('-unicode');
  execFileSync('gammu', [...args, '-text', text], {
    env: { ...process.env, LC_ALL: 'C.UTF-8' },
    stdio: 'pipe',
  });
  const folder = join(dir, 'dev', 'sms', '2');
  const files = readdirSync(folder).sort((a, b) => Number(a) - Number(b));
  const parts = files.map((f) => {
    const body = readFileSync(join(folder, f), 'utf8');
    const hex = [...body.matchAll(/^Text\d+ = ([0-9A-F]*)$/gm)].map((m) => m[1]).join('');
    return {
      text: Buffer.from(hex, 'hex').swap16().toString('utf16le'),
      coding: /^Coding = (.*)$/m.exec(body)?.[1] ?? '',
      udh: /^UDH = (.*)$/m.exec(body)?.[1] ?? '',
    };
  });
  rmSync(dir, { recursive: true, force: true });
  return parts;
}

describe.skipIf(!HAVE_GAMMU)('segmentation agrees with Gammu', () => {
  it.each([
    ['an escape at septet 153', `${'x'.repeat(152)}€${'y'.repeat(40)}`],
    ['exactly 160 GSM characters', 'a'.repeat(160)],
    ['161 GSM characters', 'a'.repeat(161)],
    ['extension characters throughout', '{[]}~^|\\€ '.repeat(40)],
    ['a 10-segment text', 'Lorem ipsum dolor sit amet, '.repeat(55)],
    ['UCS-2 at 70 and beyond', 'Привет, мир! '.repeat(12)],
    ['© forces UCS-2', `Copyright © 2026 ${'z'.repeat(100)}`],
    ['an emoji at the UCS-2 boundary', `${'я'.repeat(66)}😀${'я'.repeat(10)}`],
  ])('%s', (_name, text) => {
    const ours = encodeSubmitPdus({ to: '+1555', text }).map((p) => {
      const d = decodePdu(p.pdu);
      if (d.type !== 'submit') throw new Error('not a submit');
      return d.submit;
    });
    const unicode = preview(text).encoding === 'ucs2';
    const theirs = gammuParts(text, unicode);
    expect(ours.map((p) => p.text)).toEqual(theirs.map((p) => p.text));
    expect(
      theirs.every((p) => p.coding === (unicode ? 'Unicode_No_Compression' : 'Default_No_Compression')),
    ).toBe(true);
    expect(ours).toHaveLength(preview(text).segments);
  });
});
