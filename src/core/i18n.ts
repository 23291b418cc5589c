// Human output in the user's language: one catalog (messages.ts) with English
// and Simplified Chinese side by side, looked up by key with {named} parameters
// and plural forms. JSON output never goes through here: it stays neutral.
import { catalog } from './messages.js';

export const LANGS = ['en', 'zh-CN'] as const;
export type Lang = (typeof LANGS)[number];

/** A text with plural forms, chosen by the `n` parameter (Intl.PluralRules). */
export interface Plural {
  one?: string;
  other: string;
}
export type Text = string | Plural;
/** One catalog entry: every key has both languages (test/unit/i18n.test.ts checks it). */
export interface Entry {
  en: Text;
  zh: Text;
}

export type MessageKey = keyof typeof catalog;
/** Parameter values; a Msg (or a list of them) is itself rendered in the same language. */
export type Params = { [name: string]: string | number | boolean | null | undefined | Msg | MsgList };

/** Items joined the way the language separates them ("a, b" / "a，b"); plain data, so journals can keep it. */
export interface MsgList {
  readonly items: readonly (string | Msg)[];
  readonly sep: 'comma' | 'semicolon';
}

/** A message to show later, in whatever language is current then. */
export interface Msg {
  readonly key: MessageKey;
  readonly params?: Params;
}

let current: Lang = 'en';

export function setLang(lang: Lang): void {
  current = lang;
}

export function getLang(): Lang {
  return current;
}

const pluralRules = new Map<Lang, Intl.PluralRules>();
/** Plural category per language and count: Intl.PluralRules.select costs microseconds, and `list` asks 20,000 times. */
const pluralCache = new Map<Lang, Map<number, Intl.LDMLPluralRule>>();

function pick(text: Text, lang: Lang, n: unknown): string {
  if (typeof text === 'string') return text;
  if (typeof n !== 'number') return text.other;
  let cache = pluralCache.get(lang);
  if (!cache) pluralCache.set(lang, (cache = new Map()));
  let category = cache.get(n);
  if (category === undefined) {
    let rules = pluralRules.get(lang);
    if (!rules) pluralRules.set(lang, (rules = new Intl.PluralRules(lang)));
    category = rules.select(n);
    if (cache.size < 1000) cache.set(n, category);
  }
  return category === 'one' && text.one !== undefined ? text.one : text.other;
}

/** Replaces {name} with params.name; unknown names stay visible so a missing parameter is noticed. */
export function format(template: string, params: Params = {}, lang: Lang = current): string {
  return template.replace(/\{([A-Za-z0-9_]+)\}/g, (m, name: string) => {
    const v = params[name];
    if (v === undefined || v === null) return m;
    if (typeof v !== 'object') return String(v);
    if ('items' in v) return v.items.map((i) => (typeof i === 'string' ? i : t(i.key, i.params, lang))).join(SEPARATORS[v.sep][lang]);
    return t(v.key, v.params, lang);
  });
}

const SEPARATORS: Record<MsgList['sep'], Record<Lang, string>> = {
  comma: { en: ', ', 'zh-CN': '，' },
  semicolon: { en: '; ', 'zh-CN': '；' },
};

/** A list parameter: its items rendered in the message's language and joined by its separator. */
export function joined(items: readonly (string | Msg)[], sep: MsgList['sep'] = 'comma'): MsgList {
  return { items, sep };
}

/** The message `key` in `lang` (default: the current language). */
export function t(key: MessageKey, params?: Params, lang: Lang = current): string {
  const entry = (catalog as Record<string, Entry>)[key];
  if (!entry) return key;
  return format(pick(lang === 'en' ? entry.en : entry.zh, lang, params?.n), params, lang);
}

/** The English text of a message: for Error.message, logs and JSON. */
export function en(key: MessageKey, params?: Params): string {
  return t(key, params, 'en');
}

export function msg(key: MessageKey, params?: Params): Msg {
  return params ? { key, params } : { key };
}

/** A message or plain (English) text, in the current language. */
export function localize(m: Msg | string): string {
  return typeof m === 'string' ? m : t(m.key, m.params);
}

/** The English text of a message or plain text (for the journal, the event log, JSON). */
export function english(m: Msg | string): string {
  return typeof m === 'string' ? m : en(m.key, m.params);
}

/**
 * A message kept in stored data (journal, event log) in the current language;
 * its recorded English text when there is none, or when this version's
 * catalog no longer has its key (a journal or event from another version).
 */
export function localOr(m: Msg | undefined | null, recorded: string): string {
  return m && typeof m === 'object' && typeof m.key === 'string' && Object.hasOwn(catalog, m.key) ? localize(m) : recorded;
}

/**
 * The language to use: --lang, then the config's `lang`, then the POSIX
 * locale variables in their order of precedence (LC_ALL, LC_MESSAGES, LANG).
 * zh_* (zh_CN, zh_SG, zh_TW…) gives Chinese; anything else English.
 */
export function detectLang(env: Record<string, string | undefined>, ...chosen: (string | null | undefined)[]): Lang {
  for (const c of chosen) {
    const lang = parseLang(c);
    if (lang) return lang;
  }
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return /^zh([_.-]|$)/i.test(locale) ? 'zh-CN' : 'en';
}

/** "zh", "zh-CN", "zh_CN.UTF-8" → zh-CN; "en", "en_US" → en; "auto", "" or unknown → null. */
export function parseLang(value: string | null | undefined): Lang | null {
  if (!value || value === 'auto') return null;
  if (/^zh([_.-]|$)/i.test(value)) return 'zh-CN';
  if (/^(en|c|posix)([_.-]|$)/i.test(value)) return 'en';
  return null;
}

/** "1 file" / "2 files": English plural; Chinese has none. Used by catalog entries through {n}. */
export function count(key: MessageKey, n: number, params: Params = {}): string {
  return t(key, { ...params, n });
}

/** Joins a list the way the language does: "a, b and c" / "a、b 和 c". */
export function list(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  if (current === 'zh-CN') return `${items.slice(0, -1).join('、')} 和 ${items[items.length - 1]}`;
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
