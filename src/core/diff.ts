// Differences between two snapshots (or a snapshot and the working tree):
// files by checksum, .env-style files by key (values never leave this module),
// databases by size, checksum and recorded facts, captured outputs by line. Pure.
import { t } from './i18n.js';
import type { CaptureEntry, DatabaseEntry, FileEntry } from './types.js';

/** What is known of a file on one side: a snapshot entry, or facts read from disk. */
export type FileSide = Pick<FileEntry, 'path' | 'mode' | 'size' | 'sha256'>;

export interface FileChangeInfo {
  path: string;
  from: FileSide;
  to: FileSide;
  /** Only the mode differs. */
  modeOnly: boolean;
  /** For .env-style files: which keys changed; values are never kept. */
  keys?: KeyChanges;
}

export interface FileDiff {
  added: FileSide[];
  removed: FileSide[];
  changed: FileChangeInfo[];
  same: number;
}

export function diffFiles(a: readonly FileSide[], b: readonly FileSide[]): FileDiff {
  const before = new Map(a.map((f) => [f.path, f]));
  const after = new Map(b.map((f) => [f.path, f]));
  const out: FileDiff = { added: [], removed: [], changed: [], same: 0 };
  for (const f of a) if (!after.has(f.path)) out.removed.push(f);
  for (const f of b) {
    const old = before.get(f.path);
    if (!old) out.added.push(f);
    else if (old.sha256 !== f.sha256 || old.mode !== f.mode) out.changed.push({ path: f.path, from: old, to: f, modeOnly: old.sha256 === f.sha256 });
    else out.same++;
  }
  const byPath = (x: { path: string }, y: { path: string }) => x.path.localeCompare(y.path);
  out.added.sort(byPath);
  out.removed.sort(byPath);
  out.changed.sort(byPath);
  return out;
}

export interface KeyChanges {
  added: string[];
  removed: string[];
  changed: string[];
}

const ENV_LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*[=:]\s?(.*)$/;

/**
 * KEY=value pairs of an .env-style file (also KEY: value, `export KEY=…`), or
 * null when the text is not one: some non-comment line is not a pair.
 * Multi-line quoted values count as their first line; that is enough to see a change.
 */
export function parseEnv(text: string): Map<string, string> | null {
  if (text.includes('\0')) return null;
  const map = new Map<string, string>();
  let quoted: string | null = null;
  for (const raw of text.split(/\r?\n/)) {
    if (quoted) {
      if (raw.trimEnd().endsWith(quoted)) quoted = null;
      continue;
    }
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    // Indented lines are nested YAML/INI structure, not KEY=value pairs.
    if (/^\s/.test(raw)) return null;
    const m = ENV_LINE.exec(raw);
    if (!m) return null;
    const value = (m[2] ?? '').trim();
    const q = value[0];
    if ((q === '"' || q === "'") && (value.length === 1 || !value.endsWith(q))) quoted = q;
    map.set(m[1] as string, value);
  }
  return map.size > 0 ? map : null;
}

/** Files whose name says they are .env-style, whatever their content. */
export function looksLikeEnvFile(path: string): boolean {
  const base = path.split('/').pop() ?? path;
  return /^\.env(\..+)?$/.test(base) || /\.env$/.test(base) || /\.(properties|ini)$/.test(base);
}

export function diffKeys(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): KeyChanges {
  const out: KeyChanges = { added: [], removed: [], changed: [] };
  for (const k of a.keys()) if (!b.has(k)) out.removed.push(k);
  for (const [k, v] of b) {
    if (!a.has(k)) out.added.push(k);
    else if (a.get(k) !== v) out.changed.push(k);
  }
  out.added.sort();
  out.removed.sort();
  out.changed.sort();
  return out;
}

/** "+NEW_KEY ~DATABASE_URL -OLD_KEY (values hidden)". */
export function formatKeys(k: KeyChanges): string {
  const parts = [...k.added.map((x) => `+${x}`), ...k.changed.map((x) => `~${x}`), ...k.removed.map((x) => `-${x}`)];
  return parts.length ? t('diff.keys', { keys: parts.join(' ') }) : t('diff.sameKeys');
}

export interface DatabaseChange {
  name: string;
  engine: string;
  state: 'added' | 'removed' | 'changed' | 'same';
  from: { size: number; sha256: string; details?: Record<string, unknown> } | null;
  to: { size: number; sha256: string; details?: Record<string, unknown> } | null;
  /** Numeric facts recorded at dump time that changed (tables, keys…). */
  facts: { key: string; from: unknown; to: unknown }[];
  /** Table-level changes, when they could be read cheaply. */
  tables?: TableChanges;
}

export interface TableChanges {
  added: string[];
  removed: string[];
  rows: { table: string; from: number; to: number }[];
}

export function diffDatabases(a: readonly DatabaseEntry[], b: readonly DatabaseEntry[]): DatabaseChange[] {
  const names = [...new Set([...a.map((d) => d.name), ...b.map((d) => d.name)])].sort();
  const side = (d: DatabaseEntry | undefined) => (d ? { size: d.size, sha256: d.sha256, ...(d.details ? { details: d.details } : {}) } : null);
  return names.map((name) => {
    const x = a.find((d) => d.name === name);
    const y = b.find((d) => d.name === name);
    const facts: DatabaseChange['facts'] = [];
    if (x?.details && y?.details) {
      for (const key of new Set([...Object.keys(x.details), ...Object.keys(y.details)])) {
        const f = x.details[key];
        const t = y.details[key];
        if (JSON.stringify(f) !== JSON.stringify(t) && (typeof f !== 'object' || f === null) && (typeof t !== 'object' || t === null)) facts.push({ key, from: f ?? null, to: t ?? null });
      }
    }
    return {
      name,
      engine: (y ?? x)?.engine ?? '?',
      state: !x ? 'added' : !y ? 'removed' : x.sha256 === y.sha256 ? 'same' : 'changed',
      from: side(x),
      to: side(y),
      facts,
    };
  });
}

/** Tables added/removed and row counts that differ, from two table → rows maps. */
export function diffTables(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): TableChanges {
  const out: TableChanges = { added: [], removed: [], rows: [] };
  for (const t of a.keys()) if (!b.has(t)) out.removed.push(t);
  for (const [t, n] of b) {
    if (!a.has(t)) out.added.push(t);
    else if (a.get(t) !== n) out.rows.push({ table: t, from: a.get(t) as number, to: n });
  }
  return out;
}

export interface CaptureChange {
  name: string;
  state: 'added' | 'removed' | 'changed' | 'same';
  /** "- old line" / "+ new line", only for changed captures. */
  lines: string[];
}

export function diffCaptureEntries(a: readonly CaptureEntry[], b: readonly CaptureEntry[], text: (blob: string) => string): CaptureChange[] {
  const names = [...new Set([...a.map((c) => c.name), ...b.map((c) => c.name)])].sort();
  return names.map((name) => {
    const x = a.find((c) => c.name === name);
    const y = b.find((c) => c.name === name);
    if (!x) return { name, state: 'added', lines: [] };
    if (!y) return { name, state: 'removed', lines: [] };
    if (x.sha256 === y.sha256) return { name, state: 'same', lines: [] };
    return { name, state: 'changed', lines: lineDiff(text(x.blob), text(y.blob)) };
  });
}

/**
 * Lines removed ("- ") and added ("+ ") between two small texts, in order,
 * by longest common subsequence. Texts over `max` lines are compared as sets.
 */
export function lineDiff(a: string, b: string, max = 2000): string[] {
  const x = a.replace(/\n$/, '').split('\n');
  const y = b.replace(/\n$/, '').split('\n');
  if (x.length > max || y.length > max) {
    const sx = new Set(x);
    const sy = new Set(y);
    return [...x.filter((l) => !sy.has(l)).map((l) => `- ${l}`), ...y.filter((l) => !sx.has(l)).map((l) => `+ ${l}`)];
  }
  const n = x.length;
  const m = y.length;
  const dp: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i]![j] = x[i] === y[j] ? dp[i + 1]![j + 1]! + 1 : Math.max(dp[i + 1]![j]!, dp[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      i++;
      j++;
    } else if (dp[i + 1]![j]! >= dp[i]![j + 1]!) out.push(`- ${x[i++]}`);
    else out.push(`+ ${y[j++]}`);
  }
  while (i < n) out.push(`- ${x[i++]}`);
  while (j < m) out.push(`+ ${y[j++]}`);
  return out;
}

/** "release/v0.8.2 + 3 commits", "release/v0.8.1 (exactly)" from `git describe --long` output. */
export function parseDescribe(text: string): { tag: string; ahead: number } | null {
  const m = /^(.+)-(\d+)-g[0-9a-f]+$/.exec(text.trim());
  return m ? { tag: m[1] as string, ahead: Number(m[2]) } : null;
}

export function describePosition(pos: { tag: string; ahead: number } | null): string {
  if (!pos) return t('diff.noPosition');
  return pos.ahead === 0 ? t('diff.exactly', { tag: pos.tag }) : t('diff.ahead', { tag: pos.tag, n: pos.ahead });
}
