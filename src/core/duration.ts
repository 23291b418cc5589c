// Durations as users write them in config and flags: "500ms", "3s", "12h", "7d", "2w".
import { t } from './i18n.js';
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds, or null when the text is not a duration. */
export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(text);
  if (!m) return null;
  return Math.round(Number(m[1]) * (UNITS[m[2] as string] as number));
}

/** "3 days ago", "in 2 hours", "just now" (in the current language). */
export function age(from: Date, now: Date = new Date()): string {
  const s = Math.round((now.getTime() - from.getTime()) / 1000);
  const abs = Math.abs(s);
  if (abs < 45) return t('age.now');
  let n: number;
  let unit: 'minute' | 'hour' | 'day' | 'month' | 'year';
  if (abs < 3600) [n, unit] = [Math.round(abs / 60), 'minute'];
  else if (abs < 86400) [n, unit] = [Math.round(abs / 3600), 'hour'];
  else if (abs < 86400 * 45) [n, unit] = [Math.round(abs / 86400), 'day'];
  else if (abs < 86400 * 365) [n, unit] = [Math.round(abs / (86400 * 30)), 'month'];
  else [n, unit] = [Math.round(abs / (86400 * 365)), 'year'];
  return t(s >= 0 ? 'age.ago' : 'age.in', { span: t(`age.${unit}`, { n }) });
}

/** "1.2 s", "340 ms". */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Parses --since: a duration ("7d" = within the last 7 days) or a date. */
export function parseSince(text: string, now: Date = new Date()): Date | null {
  const ms = parseDuration(text);
  if (ms !== null) return new Date(now.getTime() - ms);
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? null : d;
}
