/**
 * A small i18n module: French first (the source of every key), English available.
 * `t(key, params)` reads the current language reactively, so switching re-renders every text.
 */
import { fr, type MessageKey } from './fr';
import { en } from './en';

export type Lang = 'fr' | 'en';

const dictionaries: Record<Lang, Record<MessageKey, string>> = { fr, en };
const locales: Record<Lang, string> = { fr: 'fr-FR', en: 'en-GB' };
const STORAGE_KEY = 'till.lang';

function initialLang(): Lang {
  try {
    const saved = globalThis.localStorage?.getItem(STORAGE_KEY);
    if (saved === 'fr' || saved === 'en') return saved;
  } catch {
    // storage unavailable: French
  }
  return 'fr';
}

export const i18n = $state<{ lang: Lang }>({ lang: initialLang() });

export function setLang(lang: Lang): void {
  i18n.lang = lang;
  document.documentElement.lang = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // not kept across restarts, still switched
  }
}

/** The BCP 47 locale for number and date formatting. */
export function locale(): string {
  return locales[i18n.lang];
}

/** The text for `key` in the current language, with `{name}` placeholders filled in. */
export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  const template = dictionaries[i18n.lang][key] ?? fr[key];
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

export type { MessageKey };
