// Terminal text: display widths (CJK counts two columns), cutting with "…",
// and wrapping at word boundaries (or between CJK characters) to a width.
import { randomBytes } from 'node:crypto';
import stringWidth from 'string-width';

/**
 * The start of our own colour codes in a line not yet printed (in place of
 * ESC [): unguessable, so output.ts's terminalSafe() can strip every escape
 * sequence that text read from git carries and keep only ours.
 */
export const STYLE = `\ue000${randomBytes(8).toString('hex')}\ue001`;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * Display width, counting CJK and other wide characters as two columns.
 * Printable ASCII (most cells) is measured by length: string-width segments
 * every string into graphemes, which made `list` of 10,000 points take seconds
 * (docs/benchmarks.md).
 */
/**
 * Printable ASCII, CJK unified ideographs (U+4E00–U+9FFF), CJK symbols and
 * punctuation (U+3000–U+3029, U+3030–U+303E: not the combining tone marks between) and fullwidth forms (U+FF01–U+FF60) only: each
 * is one grapheme of width 1 (ASCII) or 2 (the rest), as string-width says
 * (test/unit/text-width.test.ts checks every one of them).
 */
const PLAIN_CJK = /^[\x20-\x7e\u3000-\u3029\u3030-\u303e\u4e00-\u9fff\uff01-\uff60]*$/;
const WIDE_CJK = /[\u3000-\u3029\u3030-\u303e\u4e00-\u9fff\uff01-\uff60]/g;

export const width = (s: string): number => {
  if (PRINTABLE_ASCII.test(s)) return s.length;
  // Descriptions in Chinese: counted without string-width's grapheme segmentation (~70 ms for `list` of 10,000 points).
  if (PLAIN_CJK.test(s)) return s.length + (s.match(WIDE_CJK)?.length ?? 0);
  // Anything else goes through string-width's grapheme segmentation, once per distinct text: a long list repeats
  // its descriptions, kinds and branches (10,000 rows of the bench repository: ~75 ms in stringWidth).
  let w = measured.get(s);
  if (w === undefined) {
    w = stringWidth(s.includes(STYLE) ? s.split(STYLE).join('\u001b[') : s);
    if (measured.size >= 4096) measured.clear();
    measured.set(s, w);
  }
  return w;
};

const measured = new Map<string, number>();

export function pad(s: string, w: number): string {
  return s + ' '.repeat(Math.max(0, w - width(s)));
}

let segmenter: Intl.Segmenter | undefined;
const graphemes = (s: string) => [...(segmenter ??= new Intl.Segmenter()).segment(s)].map((x) => x.segment);

/** Cuts to `w` columns, adding "…" when cut; never splits a wide character or a grapheme. */
export function truncate(s: string, w: number): string {
  if (width(s) <= w) return s;
  if (w <= 0) return '';
  let out = '';
  let used = 0;
  for (const g of graphemes(s)) {
    const cw = width(g);
    if (used + cw > w - 1) break;
    out += g;
    used += cw;
  }
  return out + '…';
}

/** The terminal's width for stdout: $COLUMNS when set, the TTY's width, else null (no limit: a pipe). */
export function terminalWidth(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): number | null {
  const fromEnv = Number(env.COLUMNS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  if (stream.isTTY && stream.columns) return stream.columns;
  return null;
}

const WIDE = /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u;
// Chinese punctuation that must not start a line.
const NO_BREAK_BEFORE = /^[，。、；：？！）」』》〉】,.;:?!)\]}…]/u;

/** Pieces of text between which a line may break: words with their trailing spaces, or single CJK characters. */
function pieces(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const g of graphemes(text)) {
    if (g === ' ') {
      cur += g;
      continue;
    }
    const wide = WIDE.test(g);
    // A break is allowed after a space, and before or after a wide character,
    // except before punctuation that belongs to the previous character.
    if (cur && (cur.endsWith(' ') || wide || WIDE.test(cur.at(-1) ?? '')) && !NO_BREAK_BEFORE.test(g)) {
      out.push(cur);
      cur = '';
    }
    cur += g;
  }
  if (cur) out.push(cur);
  return out;
}

/**
 * Wraps `text` to lines of at most `w` columns, breaking at spaces and between
 * CJK characters; a single word longer than the line stays whole (never split
 * inside, so commands and paths can be copied). Existing newlines are kept.
 */
export function wrap(text: string, w: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    // A word wider than the line may break after a "/" or "," (a list of
    // choices), nowhere else.
    const all = pieces(paragraph).flatMap((p) => (width(p.trimEnd()) > w ? p.split(/(?<=[/,])/) : [p]));
    for (const p of all) {
      if (line && width((line + p).trimEnd()) > w) {
        lines.push(line.trimEnd());
        line = p.trimStart();
      } else line += p;
    }
    lines.push(line.trimEnd());
  }
  return lines;
}

/** `text` wrapped to `w` columns, every line after the first indented by `indent` spaces (the first is the caller's). */
export function hanging(text: string, w: number, indent: number): string {
  return wrap(text, Math.max(20, w - indent)).join('\n' + ' '.repeat(indent));
}

