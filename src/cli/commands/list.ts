// git rollback list: points, newest first, as a table or JSON.
import type { CommandModule } from 'yargs';
import semver from 'semver';
import { age, parseSince } from '../../core/duration.js';
import { UsageError } from '../../core/errors.js';
import { releaseVersion, sortNewestFirst } from '../../core/points.js';
import { formatBytes } from '../../core/text.js';
import { POINT_KINDS, type Point } from '../../core/types.js';
import { open, type GlobalArgs } from '../common.js';
import { localTime, print, printJSON, table } from '../output.js';

interface Args extends GlobalArgs {
  kind?: string[];
  grep?: string;
  since?: string;
  limit?: number;
}

export const listCommand: CommandModule<object, Args> = {
  command: 'list',
  aliases: ['ls'],
  describe: 'List points, releases and backups, newest first',
  builder: (y) =>
    y
      .option('kind', { type: 'string', array: true, choices: [...POINT_KINDS], describe: 'Only these kinds (repeatable)' })
      .option('grep', { type: 'string', describe: 'Only points whose tag or description matches (regular expression, case-insensitive)' })
      .option('since', { type: 'string', describe: 'Only points made since a date or within a duration (7d, 12h)' })
      .option('limit', { alias: 'n', type: 'number', describe: 'At most this many' })
      .option('json', { type: 'boolean', describe: 'Print JSON' })
      .example('$0 list', 'everything, newest first')
      .example('$0 ls --kind release', 'the version history')
      .example('$0 list --grep 服务 --since 7d --json', 'filtered, as JSON'),
  handler: async (args) => {
    const ctx = await open(args);
    let points = sortNewestFirst(await ctx.store.list());
    if (args.kind?.length) points = points.filter((p) => args.kind!.includes(p.kind));
    if (args.grep) {
      let re: RegExp;
      try {
        re = new RegExp(args.grep, 'i');
      } catch {
        throw new UsageError(`--grep ${args.grep}: not a valid regular expression`);
      }
      points = points.filter((p) => re.test(p.tag) || re.test(p.description));
    }
    if (args.since) {
      const since = parseSince(args.since);
      if (!since) throw new UsageError(`--since ${args.since}: expected a date (2025-09-06) or a duration (7d, 12h)`);
      points = points.filter((p) => p.createdAt >= since);
    }
    if (args.limit !== undefined) points = points.slice(0, Math.max(0, args.limit));
    const releasesOnly = args.kind?.length === 1 && args.kind[0] === 'release';
    if (args.json) return printJSON(points.map(pointJSON));
    if (points.length === 0) {
      print('No points yet. Make one: git rollback point "description"');
      return;
    }
    if (releasesOnly) return printReleases(points);
    const now = new Date();
    const rows = points.map((p) => [
      p.tag,
      p.kind,
      `${localTime(p.createdAt)} (${age(p.createdAt, now)})`,
      p.commit.slice(0, 8),
      p.note?.branch ?? p.trailers.branch ?? '',
      p.description.split('\n')[0] ?? '',
      summary(p) + (p.note?.protected ? ' [protected]' : ''),
    ]);
    for (const line of table(
      [{ header: 'POINT' }, { header: 'KIND' }, { header: 'CREATED' }, { header: 'COMMIT' }, { header: 'BRANCH', max: 20 }, { header: 'DESCRIPTION', max: 40 }, { header: 'SNAPSHOT' }],
      rows,
    ))
      print(line);
  },
};

function printReleases(points: Point[]): void {
  const sorted = [...points].sort((a, b) => semver.rcompare(releaseVersion(a) ?? '0.0.0', releaseVersion(b) ?? '0.0.0'));
  const rows = sorted.map((p, i) => {
    const v = releaseVersion(p);
    const prev = sorted[i + 1] ? releaseVersion(sorted[i + 1] as Point) : null;
    const change = v && prev ? (semver.diff(prev, v) ?? '') : v ? 'initial' : '';
    return [p.tag, v ?? '?', change, localTime(p.createdAt), p.commit.slice(0, 8), p.description.split('\n')[0] ?? '', summary(p)];
  });
  for (const line of table(
    [{ header: 'RELEASE' }, { header: 'VERSION' }, { header: 'CHANGE' }, { header: 'DATE' }, { header: 'COMMIT' }, { header: 'DESCRIPTION', max: 40 }, { header: 'SNAPSHOT' }],
    rows,
  ))
    print(line);
}

export function summary(p: Point): string {
  const s = p.note?.snapshot;
  if (!s) {
    const t = p.trailers.summary;
    if (!t) return p.note || p.trailers.snapshot ? '' : 'code only';
    const m = Object.fromEntries(t.split(' ').map((kv) => kv.split('=')));
    return `${m.config ?? 0} config, ${formatBytes(Number(m.size ?? 0))}`;
  }
  const parts = [`${s.config.length} config`];
  if (s.paths.length) parts.push(`${s.paths.length} path files`);
  if (s.databases.length) parts.push(`${s.databases.length} db`);
  if (s.worktree) parts.push('wip');
  return `${parts.join(', ')}, ${formatBytes(s.size)}`;
}

export function pointJSON(p: Point): Record<string, unknown> {
  return {
    tag: p.tag,
    id: p.id,
    kind: p.kind,
    createdAt: p.createdAt.toISOString(),
    commit: p.commit,
    branch: p.note?.branch ?? p.trailers.branch ?? null,
    description: p.description,
    protected: p.note?.protected ?? false,
    version: releaseVersion(p),
    snapshot: p.note?.snapshot
      ? {
          commit: p.note.snapshot.commit,
          ref: p.note.snapshot.ref,
          config: p.note.snapshot.config.length,
          paths: p.note.snapshot.paths.length,
          databases: p.note.snapshot.databases.map((d) => d.name),
          dirty: !!p.note.snapshot.worktree,
          size: p.note.snapshot.size,
        }
      : null,
  };
}
