// yargs' own messages (argument errors) from our catalog, so they follow the
// language like everything else. Help is ours (cli/help.ts), so only the
// validation messages matter here.
import { getLang, type Entry } from '../core/i18n.js';
import { catalog } from '../core/messages.js';

type Y18nEntry = string | { one: string; other: string };

/** The strings for yargs.updateLocale(): the catalog's "yargs:" entries in the current language. */
export function yargsLocale(): Record<string, Y18nEntry> {
  const out: Record<string, Y18nEntry> = {};
  const zh = getLang() === 'zh-CN';
  for (const [key, entry] of Object.entries(catalog as Record<string, Entry>)) {
    if (!key.startsWith('yargs:')) continue;
    const english = key.slice('yargs:'.length);
    const text = (zh ? entry.zh : entry.en) as string | { one?: string; other: string };
    // y18n looks plural entries up as { one, other }.
    const plural = typeof entry.en === 'object';
    if (typeof text === 'string') out[english] = plural ? { one: text, other: text } : text;
    else out[english] = { one: text.one ?? text.other, other: text.other };
  }
  return out;
}
