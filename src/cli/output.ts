// Output: data on stdout, progress and warnings on stderr. Colour only on a
// TTY and never with NO_COLOR; spinners and progress only on a TTY, never with
// --json or --quiet. Tables fit the terminal.
import { createInterface } from 'node:readline';
import type { Reporter } from '../app/rollback.js';
import { formatMs } from '../core/duration.js';
import { t, type Msg, localize } from '../core/i18n.js';
import type { Transfer } from '../core/progress.js';
import { formatBytes, sanitize } from '../core/text.js';
import { pad, STYLE, terminalWidth, truncate, width } from './text.js';

export { pad, truncate, width } from './text.js';

const useColor = (stream: NodeJS.WriteStream) => !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';

// Our own colour codes are written as an unguessable token (STYLE, cli/text.ts)
// and turned into escape sequences only after the line is sanitized
// (terminalSafe), so text read from git can never carry an escape sequence to
// the terminal, not even one that looks like ours.

/** A line of human output: every control/escape/bidi character from data removed (core/text.ts), our colours kept. */
export function terminalSafe(text: string): string {
  const safe = sanitize(text, { multiline: true });
  return safe.includes(STYLE) ? safe.split(STYLE).join('\u001b[') : safe;
}

function paint(code: number, reset: number) {
  return (text: string, stream: NodeJS.WriteStream = process.stdout) => (useColor(stream) ? `${STYLE}${code}m${text}${STYLE}${reset}m` : text);
}

export const color = {
  bold: paint(1, 22),
  dim: paint(2, 22),
  red: paint(31, 39),
  green: paint(32, 39),
  yellow: paint(33, 39),
  cyan: paint(36, 39),
  inverse: paint(7, 27),
};

let quiet = false;

/** --quiet: no progress, step lines or plans on stderr. Results, warnings and errors still show. */
export function setQuiet(on: boolean): void {
  quiet = on;
}

export const isQuiet = () => quiet;

/** Human output: text read from git (descriptions, names, paths) cannot drive the terminal (core/text.ts). */
export function print(text = ''): void {
  process.stdout.write(terminalSafe(text) + '\n');
}

/** print() of each line, in one write (10,000 table rows were 10,000 write calls). */
export function printLines(lines: readonly string[]): void {
  if (lines.length === 0) return;
  process.stdout.write(lines.map(terminalSafe).join('\n') + '\n');
}

export function printJSON(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function warn(text: string | Msg): void {
  process.stderr.write(`${color.yellow(t('out.warning'), process.stderr)} ${terminalSafe(localize(text))}\n`);
}

/** Progress and plans on stderr; nothing with --quiet. */
export function info(text: string): void {
  if (!quiet) process.stderr.write(terminalSafe(text) + '\n');
}

export interface Column {
  header: string;
  /** Cells are cut to this many columns (with "…"). */
  max?: number;
  /** Shrinks (cut with "…") when the table is wider than the terminal, down to `min` columns. */
  flex?: { min: number };
  /** Dropped when the table does not fit even with flex columns at their minimum: lower numbers go first. */
  drop?: number;
  /** Shorter cells (one per row), used when the `compactAt` turn comes (ranked with `drop`). */
  compact?: string[];
  compactAt?: number;
}

export interface TableOptions {
  /** Columns available; null: no limit (output to a pipe or a file). */
  width?: number | null;
}

/**
 * A plain table aligned by display width; the last column is not padded. When
 * it is wider than `width`, flexible columns shrink first, then columns with a
 * `drop` rank go, lowest first, until it fits.
 */
export function table(columns: Column[], rows: string[][], options: TableOptions = {}): string[] {
  // security: cells hold text read from git; sanitized before they are measured.
  const cells = rows.map((r) => r.map((raw, i) => {
    const c = sanitize(raw);
    return columns[i]?.max ? truncate(c, columns[i]!.max!) : c;
  }));
  // Each cell is measured once: width() of CJK text is the costly part of a long list.
  const cellWidths = cells.map((r) => r.map(width));
  const measure = (i: number) => cellWidths.reduce((m, r) => Math.max(m, r[i] ?? 0), width(columns[i]?.header ?? ''));
  const natural = columns.map((_, i) => measure(i));
  let shown = columns.map((_, i) => i);
  const limits = [...natural];
  const max = options.width ?? null;
  if (max !== null) {
    // What may be given up, cheapest first: compact cells (a date becomes an
    // age) and whole columns, each at its rank.
    const actions = columns
      .flatMap((c, i) => [
        ...(c.compact && c.compactAt !== undefined ? [{ rank: c.compactAt, i, compact: c.compact }] : []),
        ...(c.drop !== undefined ? [{ rank: c.drop, i, compact: null }] : []),
      ])
      .sort((a, b) => a.rank - b.rank);
    const total = () => shown.reduce((n, i) => n + (limits[i] as number), 0) + 2 * (shown.length - 1);
    for (;;) {
      shown.forEach((i) => (limits[i] = natural[i] as number));
      let excess = total() - max;
      if (excess <= 0) break;
      for (const i of shown) {
        const flex = columns[i]?.flex;
        if (!flex || excess <= 0) continue;
        const give = Math.min(excess, Math.max(0, (natural[i] as number) - flex.min));
        limits[i] = (natural[i] as number) - give;
        excess -= give;
      }
      if (excess <= 0) break;
      const next = actions.shift();
      if (!next) break;
      if (next.compact) {
        const compact = next.compact;
        cells.forEach((r, k) => {
          r[next.i] = compact[k] ?? '';
          (cellWidths[k] as number[])[next.i] = width(r[next.i] as string);
        });
        natural[next.i] = measure(next.i);
      } else shown = shown.filter((i) => i !== next.i);
    }
  }
  const line = (r: string[], ws: number[]) =>
    shown
      .map((i, k) => {
        let c = r[i] ?? '';
        let w = ws[i] ?? 0;
        if (w > (limits[i] as number)) {
          c = truncate(c, limits[i] as number);
          w = width(c);
        }
        return k === shown.length - 1 ? c : c + ' '.repeat(Math.max(0, (limits[i] as number) - w));
      })
      .join('  ')
      .trimEnd();
  const header = columns.map((c) => c.header);
  return [color.bold(line(header, header.map(width))), ...cells.map((r, i) => line(r, cellWidths[i] ?? []))];
}

/** The width tables fit: $COLUMNS, the terminal's width, or no limit; --wide: no limit. */
export function tableWidth(wide: boolean | undefined): number | null {
  return wide ? null : terminalWidth();
}

export interface Spinner {
  start(t: string): void;
  succeed(t: string): void;
  fail(t: string): void;
  stop(): void;
  /** The text shown now (for progress lines appended to it). */
  readonly text: string;
}

/** A spinner on stderr when it is a terminal, silent otherwise (and with --quiet). */
export async function spinner(enabled: boolean): Promise<Spinner> {
  if (!enabled || quiet || !process.stderr.isTTY) {
    let text = '';
    return {
      start: (x) => void (text = x),
      succeed() {},
      fail() {},
      stop() {},
      get text() {
        return text;
      },
    };
  }
  const { default: ora } = await import('ora');
  const s = ora({ stream: process.stderr });
  let base = '';
  return {
    start: (x) => {
      base = x;
      s.start(x);
    },
    succeed: (x) => s.succeed(x),
    fail: (x) => s.fail(x),
    stop: () => s.stop(),
    get text() {
      return base;
    },
  };
}

/** "12 MiB of 40 MiB, 4.1 MiB/s, ETA 0:07" for a transfer running long enough to be worth it. */
export function transferText(x: Transfer, now: number): string {
  const secs = Math.max(0.001, (now - x.startedAt) / 1000);
  const rate = x.bytes / secs;
  const parts = [x.total ? t('progress.of', { done: formatBytes(x.bytes), total: formatBytes(x.total) }) : formatBytes(x.bytes), t('progress.rate', { rate: formatBytes(Math.round(rate)) })];
  if (x.total && rate > 0 && x.bytes < x.total) {
    const left = Math.round((x.total - x.bytes) / rate);
    parts.push(t('progress.eta', { eta: `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}` }));
  }
  return parts.join(t('progress.sep'));
}

/** Transfers shorter than this show no bytes/s: the spinner is enough. */
const PROGRESS_AFTER_MS = 2000;

export interface StepReporter extends Reporter {
  /** Bytes moved by a dump or restore of the step running now. */
  transfer(x: Transfer): void;
  stop(): void;
}

/**
 * Reports steps as they run: a spinner with bytes/s and ETA on a terminal,
 * plain "✓ step (time)" lines otherwise, nothing with --quiet or `silent`.
 * Titles and warnings come as catalog messages: shown in the user's language.
 */
export async function stepReporter(silent: boolean): Promise<StepReporter> {
  const s = await spinner(!silent);
  const tty = !!process.stderr.isTTY;
  const local = (title: string | Msg) => localize(title);
  let lastDraw = 0;
  let current = '';
  return {
    step: (title) => s.start(terminalSafe((current = local(title)))),
    done: (title, ms) => {
      if (tty) s.succeed(terminalSafe(`${local(title)} ${color.dim(`(${formatMs(ms)})`, process.stderr)}`));
      else if (!silent && !quiet) info(`✓ ${local(title)} (${formatMs(ms)})`);
    },
    reverting: (title) => s.start((current = t('progress.reverting', { step: local(title) }))),
    reverted: (title, ms) => {
      const text = t('progress.reverting', { step: local(title) });
      if (tty) s.succeed(`${text} ${color.dim(`(${formatMs(ms)})`, process.stderr)}`);
      else if (!silent && !quiet) info(`↺ ${text} (${formatMs(ms)})`);
    },
    warn: (text) => {
      s.stop();
      warn(text);
    },
    transfer: (x) => {
      const now = Date.now();
      if (!tty || silent || quiet || now - x.startedAt < PROGRESS_AFTER_MS || now - lastDraw < 100) return;
      lastDraw = now;
      s.start(`${current} — ${transferText(x, now)}`);
    },
    stop: () => s.stop(),
  };
}

/** Asks a yes/no question on the terminal. Only call when stdin and stderr are TTYs. */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer: string = await new Promise((resolve) => rl.question(`${question} ${t('out.yesNo')} `, resolve));
    return /^(y(es)?|是|好|确定)$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export const canPrompt = () => !!process.stdin.isTTY && !!process.stderr.isTTY;

export function localTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Lines that do not fit the terminal are cut with "…" (for one-line summaries under tables). */
export function fit(line: string, max: number | null): string {
  return max === null ? line : truncate(line, max);
}

