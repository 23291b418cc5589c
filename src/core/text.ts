// Small text helpers shared by core and CLI: sizes, close matches, and making
// text read from git safe to print on a terminal.

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] as number;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] as number;
      dp[j] = Math.min((dp[j] as number) + 1, (dp[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length] as number;
}

/** The candidate closest to `word`, if it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  return nearest(word, candidates, 1)[0];
}

/** Up to `n` candidates close to `word`: prefix/substring matches first, then small edit distance. */
export function nearest(word: string, candidates: readonly string[], n = 3): string[] {
  const w = word.toLowerCase();
  const scored = candidates
    .map((c) => {
      const lc = c.toLowerCase();
      const d = levenshtein(w, lc);
      const contains = lc.includes(w) || w.includes(lc);
      return { c, score: contains ? 0 : d };
    })
    .filter((s) => s.score <= Math.max(2, Math.floor(w.length / 3)))
    .sort((a, b) => a.score - b.score || a.c.localeCompare(b.c));
  return [...new Set(scored.map((s) => s.c))].slice(0, n);
}

// ---------------------------------------------------------------- terminal safety (security)

// eslint-disable-next-line no-control-regex
const ESCAPE_SEQUENCES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[PX^_][^\u001b]*(?:\u001b\\)?|\u001b[ -/]*[0-~]|\u009b[0-?]*[ -/]*[@-~]/g;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE_OR_SPACE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * Text read from git (descriptions, names, paths, messages) as it may be shown
 * on a terminal: ANSI/OSC escape sequences removed, other C0/C1 controls shown
 * as U+FFFD, bidirectional overrides and isolates (U+202E…) removed, and tabs
 * and newlines kept only with `multiline`. JSON output keeps the original
 * (JSON escapes it).
 */
export function sanitize(text: string, options: { multiline?: boolean } = {}): string {
  if (!UNSAFE_OR_SPACE.test(text)) return text;
  let out = text.replace(ESCAPE_SEQUENCES, '').replace(CONTROLS, '\ufffd').replace(BIDI, '');
  if (!options.multiline) out = out.replace(/[\t\n]/g, ' ');
  return out;
}

