// git rollback diff <a> [<b>]: what differs between two points, or between a
// point and the current state: commits, config files (.env keys, values
// hidden), data paths, databases and captured outputs.
import type { CommandModule } from 'yargs';
import { collectDiff, resolveSide, type Diff } from '../../app/history.js';
import { formatKeys, type DatabaseChange, type FileDiff } from '../../core/diff.js';
import { sortNewestFirst } from '../../core/points.js';
import { formatBytes } from '../../core/text.js';
import { open, type GlobalArgs } from '../common.js';
import { color, print, printJSON } from '../output.js';

interface Args extends GlobalArgs {
  a: string;
  b?: string;
  deep?: boolean;
  tables?: boolean;
}

export const diffCommand: CommandModule<object, Args> = {
  command: 'diff <a> [b]',
  describe: 'Compare two points, or a point with the current state: commits, config files, data paths, databases, captured outputs',
  builder: (y) =>
    y
      .positional('a', { type: 'string', demandOption: true, describe: 'The older side: a point (tag, id, version, latest, previous-release…)' })
      .positional('b', { type: 'string', describe: 'The newer side: a point, or "current" (default: the current working tree)' })
      .option('deep', { type: 'boolean', describe: 'Against the current state: also hash big data files' })
      .option('tables', { type: 'boolean', default: true, describe: 'List table and row-count changes of SQLite dumps (--no-tables skips)' })
      .option('json', { type: 'boolean', describe: 'Print JSON' })
      .example('$0 diff release/v0.8.1 release/v0.8.2', 'between two releases')
      .example('$0 diff latest', 'the latest point against the working tree')
      .example('$0 diff previous-release latest-release --json', 'as JSON'),
  handler: async (args) => {
    const ctx = await open(args);
    const points = sortNewestFirst(await ctx.store.list());
    const a = await resolveSide(ctx, args.a, points);
    const b = await resolveSide(ctx, args.b, points);
    const diff = await collectDiff(ctx, a, b, { deep: !!args.deep, tables: args.tables !== false });
    if (args.json) return printJSON(diff);
    for (const line of renderDiff(diff)) print(line);
  },
};

export function renderDiff(d: Diff): string[] {
  const out: string[] = [];
  out.push(color.bold(`${d.a.label} (${d.a.commit.slice(0, 12)}) → ${d.b.label} (${d.b.commit.slice(0, 12)})`), '');
  const c = d.commits;
  const rel = [c.ahead ? `${c.ahead} commit${c.ahead === 1 ? '' : 's'} added` : '', c.behind ? `${c.behind} commit${c.behind === 1 ? '' : 's'} only in ${d.a.label}` : '']
    .filter(Boolean)
    .join(', ');
  out.push(`${color.bold('Code')}: ${rel || 'same commit'}; ${c.files.length} file${c.files.length === 1 ? '' : 's'} changed, +${c.insertions} -${c.deletions}${d.b.label === 'current state' ? ' (working tree)' : ''}`);
  for (const l of c.log) out.push(`  ${color.dim(l.hash)} ${l.subject}`);
  if (c.ahead > c.log.length) out.push(`  … and ${c.ahead - c.log.length} more`);
  if (c.files.length) {
    out.push('');
    const w = Math.min(60, Math.max(...c.files.map((f) => f.path.length)));
    for (const f of c.files.slice(0, 30)) out.push(`  ${f.path.padEnd(w)}  ${f.added === null ? 'binary' : `${color.green(`+${f.added}`)} ${color.red(`-${f.deleted}`)}`}`);
    if (c.files.length > 30) out.push(`  … and ${c.files.length - 30} more files`);
  }
  out.push('');
  if (!d.config) {
    const which = !d.a.snapshot ? d.a.label : d.b.label;
    out.push(`${color.bold('Snapshot')}: ${which} is code only (no snapshot), so only code is compared.`);
    return out;
  }
  out.push(`${color.bold('Config files')}: ${fileSummary(d.config)}`);
  out.push(...fileLines(d.config, true));
  if (d.paths && d.paths.added.length + d.paths.removed.length + d.paths.changed.length + d.paths.same > 0) {
    out.push(`${color.bold('Data paths')}: ${fileSummary(d.paths)}${d.paths.unhashed ? ` (${d.paths.unhashed} big files compared by size)` : ''}`);
    out.push(...fileLines(d.paths, false));
  }
  if (d.databases) {
    out.push(`${color.bold('Databases')}:${d.databases.length === 0 ? ' none' : ''}`);
    for (const db of d.databases) out.push(...databaseLines(db));
  } else {
    out.push(`${color.bold('Databases')}: not compared against the current state (make a point, then diff two points; status --deep checks for drift)`);
  }
  if (d.captures && d.captures.length) {
    out.push(`${color.bold('Captured outputs')}:`);
    for (const cap of d.captures) {
      out.push(`  ${cap.name}: ${cap.state === 'same' ? 'unchanged' : cap.state}`);
      for (const l of cap.lines.slice(0, 40).map((x) => x.trimEnd())) out.push(`    ${l.startsWith('+') ? color.green(l) : color.red(l)}`);
      if (cap.lines.length > 40) out.push(`    … and ${cap.lines.length - 40} more lines`);
    }
  }
  return out;
}

function fileSummary(f: FileDiff): string {
  const n = f.added.length + f.removed.length + f.changed.length;
  if (n === 0) return `unchanged (${f.same} file${f.same === 1 ? '' : 's'})`;
  return `${f.changed.length} changed, ${f.added.length} added, ${f.removed.length} removed, ${f.same} unchanged`;
}

function fileLines(f: FileDiff, keys: boolean): string[] {
  const out: string[] = [];
  const limit = 40;
  const all = [
    ...f.changed.map((c) => {
      const size = c.modeOnly ? `mode ${c.from.mode.slice(-4)} → ${c.to.mode.slice(-4)}` : `${formatBytes(c.from.size)} → ${formatBytes(c.to.size)}`;
      return `  ${color.yellow('~')} ${c.path}  ${size}${keys && c.keys ? `; ${formatKeys(c.keys)}` : ''}`;
    }),
    ...f.added.map((x) => `  ${color.green('+')} ${x.path}  ${formatBytes(x.size)}`),
    ...f.removed.map((x) => `  ${color.red('-')} ${x.path}  ${formatBytes(x.size)}`),
  ];
  out.push(...all.slice(0, limit));
  if (all.length > limit) out.push(`  … and ${all.length - limit} more`);
  return out;
}

function databaseLines(db: DatabaseChange): string[] {
  const out: string[] = [];
  const size = (x: { size: number } | null) => (x ? formatBytes(x.size) : '—');
  const mark = db.state === 'same' ? '=' : db.state === 'added' ? '+' : db.state === 'removed' ? '-' : '~';
  const state = db.state === 'same' ? 'unchanged' : db.state;
  out.push(`  ${mark} ${db.name} (${db.engine}): ${state}, dump ${size(db.from)} → ${size(db.to)}`);
  // The dump size is shown above; a table count is shown by name below when known.
  for (const f of db.facts.filter((x) => x.key !== 'bytes' && !(db.tables && x.key === 'tables'))) out.push(`      ${f.key}: ${String(f.from)} → ${String(f.to)}`);
  if (db.tables) {
    const t = db.tables;
    if (t.added.length) out.push(`      tables added: ${t.added.join(', ')}`);
    if (t.removed.length) out.push(`      tables removed: ${t.removed.join(', ')}`);
    for (const r of t.rows) out.push(`      ${r.table}: ${r.from} → ${r.to} rows (${r.to >= r.from ? '+' : ''}${r.to - r.from})`);
    if (!t.added.length && !t.removed.length && !t.rows.length) out.push('      same tables and row counts (rows changed in place)');
  }
  return out;
}
