/**
 * The sending-policy pages' translations (templates, lists, balance, policy) in their own files,
 * merged into each language's catalogue. Their own sections (pnav, tpl, lists, balance, pol) are
 * new; a section both have (errorCode: the policy's refusal reasons) is merged key by key.
 * test/web/i18n.test.ts checks that no key is in both, so nothing is overwritten.
 */
import de from './de.json';
import en from './en.json';
import fa from './fa.json';
import it from './it.json';
import ru from './ru.json';
import zh from './zh.json';

const POLICY = { en, ru, zh, it, fa, de };
type Section = Record<string, unknown>;

export function withPolicy(lang: keyof typeof POLICY, base: Section): Section {
  const out: Section = { ...base };
  for (const [k, v] of Object.entries(POLICY[lang] as Section)) {
    const had = out[k];
    out[k] = had && typeof had === 'object' && typeof v === 'object' ? { ...had, ...v } : v;
  }
  return out;
}
