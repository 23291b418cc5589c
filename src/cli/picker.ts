// An interactive point picker for `to`, `undo --pick` and `show` without a
// point: newest first (kind, age, tag, description), type to filter, arrows to
// move, Enter to choose, Esc or Ctrl-C to cancel. Drawn on stderr, so stdout
// stays data. Without a terminal it is never shown: the caller's usual
// "name the point" error stands.
import { emitKeypressEvents } from 'node:readline';
import { age } from '../core/duration.js';
import { CancelledError, UsageError } from '../core/errors.js';
import { msg, t, type Msg } from '../core/i18n.js';
import { sortNewestFirst } from '../core/points.js';
import type { Point } from '../core/types.js';
import { canPrompt, color, terminalSafe } from './output.js';
import { pad, truncate, width } from './text.js';

export interface PickOptions {
  /** The question above the list ("Roll back to which point?"). */
  title: string;
  /** The error when there is no terminal to ask (the command's usual "name the point"). */
  missing: Msg;
  /** Hint for that error; default: how to list points. */
  missingHint?: Msg;
  /** Only these points (default: all). */
  filter?: (p: Point) => boolean;
}

/** One row as the picker shows it: kind, age, tag, description. */
export function pickerRow(p: Point, now: Date, cols: number): string {
  const kind = pad(t(`kind.${p.kind}` as 'kind.point'), 8);
  const when = pad(age(p.createdAt, now), 15);
  const tag = pad(p.tag, 26);
  const head = `${kind} ${when} ${tag} `;
  return head + truncate(p.description.split('\n')[0] ?? '', Math.max(0, cols - width(head)));
}

/** Points whose kind, tag or description contain every word of `query` (case-insensitive). */
export function matches(points: Point[], query: string): Point[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return points;
  return points.filter((p) => {
    const text = `${p.kind} ${t(`kind.${p.kind}` as 'kind.point')} ${p.tag} ${p.description}`.toLowerCase();
    return words.every((w) => text.includes(w));
  });
}

/** Asks the user to choose a point on the terminal; without one, throws `missing`. */
export async function pickPoint(all: Point[], options: PickOptions): Promise<Point> {
  const points = sortNewestFirst(all.filter(options.filter ?? (() => true)));
  if (!canPrompt()) throw new UsageError(options.missing, options.missingHint ?? msg('picker.listHint'));
  if (points.length === 0) throw new UsageError(msg('picker.none'), msg('picker.noneHint'));
  return new Promise<Point>((resolve, reject) => {
    const input = process.stdin;
    const out = process.stderr;
    const now = new Date();
    let query = '';
    let shown = points;
    let cursor = 0;
    let top = 0;
    let drawn = 0;
    const rows = () => Math.max(3, Math.min(15, (out.rows || 24) - 5));
    const cols = () => Math.max(40, (out.columns || 80) - 1);
    const clear = () => {
      if (drawn > 0) out.write(`\u001b[${drawn}F\u001b[J`);
      drawn = 0;
    };
    const draw = () => {
      clear();
      const lines: string[] = [];
      lines.push(color.bold(truncate(options.title, cols()), out));
      lines.push(`${t('picker.filter')} ${query}${color.dim(`  ${t('picker.count', { shown: shown.length, n: points.length })}`, out)}`);
      const h = rows();
      if (cursor < top) top = cursor;
      if (cursor >= top + h) top = cursor - h + 1;
      const page = shown.slice(top, top + h);
      if (page.length === 0) lines.push(color.dim(`  ${t('picker.noMatch')}`, out));
      page.forEach((p, i) => {
        const row = pickerRow(p, now, cols() - 2);
        lines.push(top + i === cursor ? `${color.cyan('>', out)} ${color.inverse(row, out)}` : `  ${row}`);
      });
      lines.push(color.dim(truncate(t('picker.keys'), cols()), out));
      out.write(terminalSafe(lines.join('\n')) + '\n');
      drawn = lines.length;
    };
    const finish = (error: Error | null, point?: Point) => {
      input.off('keypress', onKey);
      if (input.isTTY) input.setRawMode(false);
      input.pause();
      clear();
      out.write('\u001b[?25h');
      if (error) reject(error);
      else {
        out.write(`${terminalSafe(t('picker.chosen', { tag: (point as Point).tag, description: (point as Point).description.split('\n')[0] ?? '' }))}\n`);
        resolve(point as Point);
      }
    };
    const refilter = () => {
      shown = matches(points, query);
      cursor = 0;
      top = 0;
    };
    const onKey = (str: string | undefined, key: { name?: string; ctrl?: boolean; meta?: boolean; sequence?: string } | undefined) => {
      const name = key?.name;
      if ((key?.ctrl && name === 'c') || name === 'escape') return finish(new CancelledError(msg('common.cancelled')));
      if (name === 'return' || name === 'enter') {
        const p = shown[cursor];
        if (p) return finish(null, p);
        return;
      }
      if (name === 'up' || (key?.ctrl && name === 'p')) cursor = Math.max(0, cursor - 1);
      else if (name === 'down' || (key?.ctrl && name === 'n')) cursor = Math.min(shown.length - 1, cursor + 1);
      else if (name === 'pageup') cursor = Math.max(0, cursor - rows());
      else if (name === 'pagedown') cursor = Math.min(shown.length - 1, cursor + rows());
      else if (name === 'home') cursor = 0;
      else if (name === 'end') cursor = Math.max(0, shown.length - 1);
      else if (name === 'backspace') {
        query = [...query].slice(0, -1).join('');
        refilter();
      } else if (key?.ctrl && name === 'u') {
        query = '';
        refilter();
      } else if (str && !key?.ctrl && !key?.meta && !/[\u0000-\u001f\u007f]/.test(str)) {
        query += str;
        refilter();
      } else return;
      draw();
    };
    emitKeypressEvents(input);
    input.setRawMode(true);
    input.resume();
    input.on('keypress', onKey);
    out.write('\u001b[?25l');
    draw();
  });
}
