// git rollback diff <a> [<b>]: what differs between two points, or between a
// point and the current state: commits, config files (.env keys, values
// hidden), data paths, databases and captured outputs.
import type { CommandModule } from 'yargs';
import { collectDiff, resolveSide, type Diff } from '../../app/history.js';
import { formatKeys, type DatabaseChange, type FileDiff } from '../../core/diff.js';
import { sortNewestFirst } from '../../core/points.js';
import { formatBytes } from '../../core/text.js';
import { t } from '../../core/i18n.js';
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
  get describe() {
    return t('cmd.diff');
  },
  builder: (y) =>
    y
      .positional('a', { type: 'string', demandOption: true, describe: t('diff.opt.a') })
      .positional('b', { type: 'string', describe: t('diff.opt.b') })
      .option('deep', { type: 'boolean', describe: t('diff.opt.deep') })
      .option('tables', { type: 'boolean', default: true, describe: t('diff.opt.tables') })
      .option('json', { type: 'boolean', describe: t('opt.json') })
      .example('$0 diff release/v0.8.1 release/v0.8.2', t('diff.ex.releases'))
      .example('$0 diff latest', t('diff.ex.latest'))
      .example('$0 diff previous-release latest-release --json', t('diff.ex.json')),
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
  const label = (l: string) => (l === 'current state' ? t('diff.current') : l);
  out.push(color.bold(`${label(d.a.label)} (${d.a.commit.slice(0, 12)}) → ${label(d.b.label)} (${d.b.commit.slice(0, 12)})`), '');
  const c = d.commits;
  const rel = [c.ahead ? t('diff.added', { n: c.ahead }) : '', c.behind ? t('diff.onlyIn', { n: c.behind, label: label(d.a.label) }) : ''].filter(Boolean).join(', ');
  const tree = d.b.label === 'current state' ? t('diff.workingTree') : '';
  out.push(`${color.bold(t('diff.code'))}: ${rel || t('diff.sameCommit')}; ${t('diff.filesChanged', { n: c.files.length, plus: c.insertions, minus: c.deletions })}${tree}`);
  for (const l of c.log) out.push(`  ${color.dim(l.hash)} ${l.subject}`);
  if (c.ahead > c.log.length) out.push(`  ${t('diff.more', { n: c.ahead - c.log.length })}`);
  if (c.files.length) {
    out.push('');
    const w = Math.min(60, Math.max(...c.files.map((f) => f.path.length)));
    for (const f of c.files.slice(0, 30)) out.push(`  ${f.path.padEnd(w)}  ${f.added === null ? t('diff.binary') : `${color.green(`+${f.added}`)} ${color.red(`-${f.deleted}`)}`}`);
    if (c.files.length > 30) out.push(`  ${t('diff.moreFiles', { n: c.files.length - 30 })}`);
  }
  out.push('');
  if (!d.config) {
    const which = !d.a.snapshot ? label(d.a.label) : label(d.b.label);
    out.push(`${color.bold(t('diff.snapshot'))}: ${t('diff.codeOnly', { label: which })}`);
    return out;
  }
  out.push(`${color.bold(t('diff.configFiles'))}: ${fileSummary(d.config)}`);
  out.push(...fileLines(d.config, true));
  if (d.paths && d.paths.added.length + d.paths.removed.length + d.paths.changed.length + d.paths.same > 0) {
    out.push(`${color.bold(t('diff.dataPaths'))}: ${fileSummary(d.paths)}${d.paths.unhashed ? t('diff.unhashed', { n: d.paths.unhashed }) : ''}`);
    out.push(...fileLines(d.paths, false));
  }
  if (d.databases) {
    out.push(`${color.bold(t('diff.databases'))}:${d.databases.length === 0 ? ` ${t('diff.none')}` : ''}`);
    for (const db of d.databases) out.push(...databaseLines(db));
  } else {
    out.push(`${color.bold(t('diff.databases'))}: ${t('diff.dbNotCompared')}`);
  }
  if (d.captures && d.captures.length) {
    out.push(`${color.bold(t('diff.captures'))}:`);
    for (const cap of d.captures) {
      out.push(`  ${cap.name}: ${cap.state === 'same' ? t('status.unchanged') : cap.state}`);
      for (const l of cap.lines.slice(0, 40).map((x) => x.trimEnd())) out.push(`    ${l.startsWith('+') ? color.green(l) : color.red(l)}`);
      if (cap.lines.length > 40) out.push(`    ${t('diff.moreLines', { n: cap.lines.length - 40 })}`);
    }
  }
  return out;
}

function fileSummary(f: FileDiff): string {
  const n = f.added.length + f.removed.length + f.changed.length;
  if (n === 0) return t('status.filesUnchanged', { n: f.same });
  return t('diff.fileCounts', { changed: f.changed.length, added: f.added.length, removed: f.removed.length, same: f.same });
}

function fileLines(f: FileDiff, keys: boolean): string[] {
  const out: string[] = [];
  const limit = 40;
  const all = [
    ...f.changed.map((c) => {
      const size = c.modeOnly ? t('status.mode', { from: c.from.mode.slice(-4), to: c.to.mode.slice(-4) }) : `${formatBytes(c.from.size)} → ${formatBytes(c.to.size)}`;
      return `  ${color.yellow('~')} ${c.path}  ${size}${keys && c.keys ? `; ${formatKeys(c.keys)}` : ''}`;
    }),
    ...f.added.map((x) => `  ${color.green('+')} ${x.path}  ${formatBytes(x.size)}`),
    ...f.removed.map((x) => `  ${color.red('-')} ${x.path}  ${formatBytes(x.size)}`),
  ];
  out.push(...all.slice(0, limit));
  if (all.length > limit) out.push(`  ${t('diff.more', { n: all.length - limit })}`);
  return out;
}

function databaseLines(db: DatabaseChange): string[] {
  const out: string[] = [];
  const size = (x: { size: number } | null) => (x ? formatBytes(x.size) : '—');
  const mark = db.state === 'same' ? '=' : db.state === 'added' ? '+' : db.state === 'removed' ? '-' : '~';
  const state = t(`diff.state.${db.state}` as 'diff.state.same');
  out.push(`  ${mark} ${db.name} (${db.engine}): ${t('diff.dbLine', { state, from: size(db.from), to: size(db.to) })}`);
  // The dump size is shown above; a table count is shown by name below when known.
  for (const f of db.facts.filter((x) => x.key !== 'bytes' && !(db.tables && x.key === 'tables'))) out.push(`      ${f.key}: ${String(f.from)} → ${String(f.to)}`);
  if (db.tables) {
    const tb = db.tables;
    if (tb.added.length) out.push(`      ${t('diff.tablesAdded', { tables: tb.added.join(', ') })}`);
    if (tb.removed.length) out.push(`      ${t('diff.tablesRemoved', { tables: tb.removed.join(', ') })}`);
    for (const r of tb.rows) out.push(`      ${t('diff.rows', { table: r.table, from: r.from, to: r.to, delta: `${r.to >= r.from ? '+' : ''}${r.to - r.from}` })}`);
    if (!tb.added.length && !tb.removed.length && !tb.rows.length) out.push(`      ${t('diff.sameTables')}`);
  }
  return out;
}
