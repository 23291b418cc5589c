// Output: data on stdout, progress and warnings on stderr. Colour only on a
// TTY and never with NO_COLOR; spinners only on a TTY and never with --json.
import { createInterface } from 'node:readline';
import stringWidth from 'string-width';
import type { Reporter } from '../app/rollback.js';
import { formatMs } from '../core/duration.js';

const useColor = (stream: NodeJS.WriteStream) => !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';

function paint(code: number, reset: number) {
  return (text: string, stream: NodeJS.WriteStream = process.stdout) => (useColor(stream) ? `\u001b[${code}m${text}\u001b[${reset}m` : text);
}

export const color = {
  bold: paint(1, 22),
  dim: paint(2, 22),
  red: paint(31, 39),
  green: paint(32, 39),
  yellow: paint(33, 39),
  cyan: paint(36, 39),
};

export function print(text = ''): void {
  process.stdout.write(text + '\n');
}

export function printJSON(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function warn(text: string): void {
  process.stderr.write(`${color.yellow('warning:', process.stderr)} ${text}\n`);
}

export function info(text: string): void {
  process.stderr.write(text + '\n');
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * Display width, counting CJK and other wide characters as two columns.
 * Printable ASCII (most cells) is measured by length: string-width segments
 * every string into graphemes, which made `list` of 10,000 points take seconds
 * (docs/benchmarks.md).
 */
export const width = (s: string) => (PRINTABLE_ASCII.test(s) ? s.length : stringWidth(s));

export function pad(s: string, w: number): string {
  return s + ' '.repeat(Math.max(0, w - width(s)));
}

let segmenter: Intl.Segmenter | undefined;

/** Cuts to `w` columns, adding "…" when cut; never splits a wide character or a grapheme. */
export function truncate(s: string, w: number): string {
  if (width(s) <= w) return s;
  segmenter ??= new Intl.Segmenter();
  let out = '';
  let used = 0;
  for (const { segment } of segmenter.segment(s)) {
    const cw = width(segment);
    if (used + cw > w - 1) break;
    out += segment;
    used += cw;
  }
  return out + '…';
}

export interface Column {
  header: string;
  max?: number;
}

/** A plain table aligned by display width; the last column is not padded. */
export function table(columns: Column[], rows: string[][]): string[] {
  const cells = rows.map((r) => r.map((c, i) => (columns[i]?.max ? truncate(c, columns[i]!.max!) : c)));
  // Each cell is measured once: width() of CJK text is the costly part of a long list.
  const cellWidths = cells.map((r) => r.map(width));
  const widths = columns.map((c, i) => cellWidths.reduce((m, r) => Math.max(m, r[i] ?? 0), width(c.header)));
  const line = (r: string[], ws: number[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(Math.max(0, (widths[i] ?? 0) - (ws[i] ?? 0)))))
      .join('  ')
      .trimEnd();
  const header = columns.map((c) => c.header);
  return [color.bold(line(header, header.map(width))), ...cells.map((r, i) => line(r, cellWidths[i] ?? []))];
}

/** A spinner on stderr when it is a terminal, silent otherwise. */
export async function spinner(enabled: boolean): Promise<{ start(t: string): void; succeed(t: string): void; fail(t: string): void; stop(): void }> {
  if (!enabled || !process.stderr.isTTY) {
    return { start() {}, succeed() {}, fail() {}, stop() {} };
  }
  const { default: ora } = await import('ora');
  const s = ora({ stream: process.stderr });
  return {
    start: (t) => s.start(t),
    succeed: (t) => s.succeed(t),
    fail: (t) => s.fail(t),
    stop: () => s.stop(),
  };
}

/** Reports rollback steps as they run: a spinner on a terminal, plain lines otherwise. */
export async function stepReporter(quiet: boolean): Promise<Reporter> {
  const s = await spinner(!quiet);
  const tty = !!process.stderr.isTTY;
  return {
    step: (t) => (tty ? s.start(t) : undefined),
    done: (t, ms) => (tty ? s.succeed(`${t} ${color.dim(`(${formatMs(ms)})`, process.stderr)}`) : quiet ? undefined : info(`✓ ${t} (${formatMs(ms)})`)),
    reverting: (t) => (tty ? s.start(`putting back: ${t}`) : undefined),
    reverted: (t, ms) => (tty ? s.succeed(`put back: ${t} ${color.dim(`(${formatMs(ms)})`, process.stderr)}`) : quiet ? undefined : info(`↺ put back: ${t} (${formatMs(ms)})`)),
    warn: (t) => {
      s.stop();
      warn(t);
    },
  };
}

/** Asks a yes/no question on the terminal. Only call when stdin and stderr are TTYs. */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer: string = await new Promise((resolve) => rl.question(`${question} [y/N] `, resolve));
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export const canPrompt = () => !!process.stdin.isTTY && !!process.stderr.isTTY;

export function localTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
