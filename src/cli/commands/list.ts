// git rollback list: points, newest first, as a table that fits the terminal
// (marking where HEAD is and what undo returns to, automatic backups folded
// into one line), or JSON.
import type { CommandModule } from 'yargs';
import semver from '../../core/semver.js';
import { lastAction } from '../../app/state.js';
import { age, parseSince } from '../../core/duration.js';
import { UsageError } from '../../core/errors.js';
import { msg, t } from '../../core/i18n.js';
import { noteFacts, releaseVersion, sortNewestFirst, type ListedPoint } from '../../core/points.js';
import { formatBytes } from '../../core/text.js';
import { POINT_KINDS, type Point } from '../../core/types.js';
import { join } from 'node:path';
import { open, type GlobalArgs } from '../common.js';
import { color, fit, localTime, print, printJSON, printLines, table, tableWidth } from '../output.js';

interface Args extends GlobalArgs {
  kind?: string[];
  grep?: string;
  since?: string;
  limit?: number;
  all?: boolean;
  wide?: boolean;
}

export const listCommand: CommandModule<object, Args> = {
  command: 'list',
  aliases: ['ls'],
  get describe() {
    return t('cmd.list');
  },
  builder: (y) =>
    y
      .option('kind', { type: 'string', array: true, choices: [...POINT_KINDS], describe: t('list.opt.kind') })
      .option('grep', { type: 'string', describe: t('list.opt.grep') })
      .option('since', { type: 'string', describe: t('list.opt.since') })
      .option('limit', { alias: 'n', type: 'number', describe: t('list.opt.limit') })
      .option('all', { alias: 'a', type: 'boolean', describe: t('list.opt.all') })
      .option('wide', { alias: 'w', type: 'boolean', describe: t('opt.wide') })
      .option('json', { type: 'boolean', describe: t('opt.json') })
      .example('$0 list', t('list.ex.list'))
      .example('$0 ls --kind release', t('list.ex.releases'))
      .example('$0 list --all --wide', t('list.ex.all'))
      .example('$0 list --grep 服务 --since 7d --json', t('list.ex.grep')),
  handler: async (args) => {
    const ctx = await open(args);
    let points = sortNewestFirst(await ctx.store.listFacts(listCacheFile(ctx.stateDir)));
    if (args.kind?.length) points = points.filter((p) => args.kind!.includes(p.kind));
    if (args.grep) {
      let re: RegExp;
      try {
        re = new RegExp(args.grep, 'i');
      } catch {
        throw new UsageError(msg('list.badGrep', { grep: args.grep }));
      }
      points = points.filter((p) => re.test(p.tag) || re.test(p.description));
    }
    if (args.since) {
      const since = parseSince(args.since);
      if (!since) throw new UsageError(msg('list.badSince', { since: args.since }));
      points = points.filter((p) => p.createdAt >= since);
    }
    if (args.json) {
      if (args.limit !== undefined) points = points.slice(0, Math.max(0, args.limit));
      return printJSON(points.map(pointJSON));
    }
    if (points.length === 0) {
      print(t('list.empty'));
      return;
    }
    const width = tableWidth(args.wide);
    const releasesOnly = args.kind?.length === 1 && args.kind[0] === 'release';
    if (releasesOnly) return printReleases(args.limit !== undefined ? points.slice(0, Math.max(0, args.limit)) : points, width);

    // What undo returns to (for now: lastAction; the runner will have one function for it).
    const [head, last] = await Promise.all([ctx.git.head(), lastAction(ctx).catch(() => null)]);
    const undoTarget = last?.kind === 'rollback' ? last.backup : null;
    const foldBackups = !args.all && !args.kind?.includes('backup');
    const folded = foldBackups ? points.filter((p) => p.kind === 'backup' && p.tag !== undoTarget) : [];
    const foldedSet = new Set(folded);
    let shown = foldBackups ? points.filter((p) => !foldedSet.has(p)) : points;
    if (args.limit !== undefined) shown = shown.slice(0, Math.max(0, args.limit));

    const now = new Date();
    const mark = (p: ListedPoint) => (p.commit === head.commit ? '*' : '') + (p.tag === undoTarget ? 'u' : '');
    // Each age once: it is both in the created column and its compact form.
    const ages = shown.map((p) => age(p.createdAt, now));
    const rows = shown.map((p, i) => [
      mark(p),
      p.tag,
      t(`kind.${p.kind}` as 'kind.point'),
      `${localTime(p.createdAt)} (${ages[i] as string})`,
      p.commit.slice(0, 8),
      p.facts?.branch ?? p.trailers.branch ?? '',
      p.description.split('\n')[0] ?? '',
      summary(p) + (p.facts?.protected ? ` ${t('list.protected')}` : ''),
    ]);
    const anyMark = rows.some((r) => r[0]);
    const lines = table(
      [
        { header: '' },
        { header: t('list.col.point') },
        { header: t('list.col.kind'), drop: 5 },
        { header: t('list.col.created'), compactAt: 3, compact: ages, drop: 6 },
        { header: t('list.col.commit'), drop: 2 },
        { header: t('list.col.branch'), max: 20, drop: 1 },
        { header: t('list.col.description'), flex: { min: 12 } },
        { header: t('list.col.snapshot'), drop: 4 },
      ],
      rows,
      { width },
    );
    // The mark column is empty unless something is marked: keep its two spaces out then.
    printLines(anyMark ? lines : lines.map((line) => line.replace(/^ {0,2}/, '')));
    if (folded.length) {
      const newest = folded[0] as ListedPoint;
      print(color.dim(fit(t('list.folded', { n: folded.length, age: age(newest.createdAt, now) }), width)));
    }
    const legend = [rows.some((r) => r[0]?.includes('*')) ? t('list.legendHead') : '', undoTarget && rows.some((r) => r[0]?.includes('u')) ? t('list.legendUndo') : ''].filter(Boolean);
    if (legend.length) print(color.dim(fit(legend.join(t('list.legendSep')), width)));
  },
};

function printReleases(points: ListedPoint[], width: number | null): void {
  const sorted = [...points].sort((a, b) => semver.rcompare(releaseVersion(a) ?? '0.0.0', releaseVersion(b) ?? '0.0.0'));
  const rows = sorted.map((p, i) => {
    const v = releaseVersion(p);
    const prev = sorted[i + 1] ? releaseVersion(sorted[i + 1] as ListedPoint) : null;
    const change = v && prev ? (semver.diff(prev, v) ?? '') : v ? 'initial' : '';
    return [p.tag, v ?? '?', change, localTime(p.createdAt), p.commit.slice(0, 8), p.description.split('\n')[0] ?? '', summary(p)];
  });
  printLines(table(
    [
      { header: t('list.col.release') },
      { header: t('list.col.version') },
      { header: t('list.col.change'), drop: 3 },
      { header: t('list.col.date') },
      { header: t('list.col.commit'), drop: 2 },
      { header: t('list.col.description'), flex: { min: 12 } },
      { header: t('list.col.snapshot'), drop: 1 },
    ],
    rows,
    { width },
  ));
}

/** Where `list` keeps the facts of notes it has read (src/adapters/list-cache.ts). */
export function listCacheFile(stateDir: string): string {
  return join(stateDir, 'cache', 'list-notes.json');
}

/** A point read with its whole note (show, the picker) as `list` sees it. */
export function listed(p: Point): ListedPoint {
  const { note, ...rest } = p;
  return { ...rest, facts: note ? noteFacts(note) : null };
}

export function summary(p: ListedPoint): string {
  const s = p.facts?.snapshot;
  if (!s) {
    const trailer = p.trailers.summary;
    if (!trailer) return p.facts || p.trailers.snapshot ? '' : t('list.codeOnly');
    const m = Object.fromEntries(trailer.split(' ').map((kv) => kv.split('=')));
    return t('list.summary', { config: Number(m.config ?? 0), size: formatBytes(Number(m.size ?? 0)) });
  }
  const parts = [t('list.sum.config', { n: s.config })];
  if (s.paths) parts.push(t('list.sum.paths', { n: s.paths }));
  if (s.databases.length) parts.push(t('list.sum.db', { n: s.databases.length }));
  if (s.dirty) parts.push(t('list.sum.wip'));
  return [...parts, formatBytes(s.size)].join(t('list.sepComma'));
}

export function pointJSON(p: ListedPoint): Record<string, unknown> {
  const s = p.facts?.snapshot;
  return {
    tag: p.tag,
    id: p.id,
    kind: p.kind,
    createdAt: p.createdAt.toISOString(),
    commit: p.commit,
    branch: p.facts?.branch ?? p.trailers.branch ?? null,
    description: p.description,
    protected: p.facts?.protected ?? false,
    version: releaseVersion(p),
    snapshot: s
      ? {
          commit: s.commit,
          ref: s.ref,
          config: s.config,
          paths: s.paths,
          databases: s.databases,
          dirty: s.dirty,
          size: s.size,
        }
      : null,
  };
}
