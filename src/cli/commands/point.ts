// git rollback point [description]: makes a point of the current state.
import type { CommandModule } from 'yargs';
import { makePoint } from '../../app/points.js';
import type { Context } from '../../app/context.js';
import { formatMs } from '../../core/duration.js';
import { ConflictError, UsageError, withOutcome } from '../../core/errors.js';
import { msg, t } from '../../core/i18n.js';
import { formatBytes } from '../../core/text.js';
import type { PointNote } from '../../core/types.js';
import { lockWait, open, reasonOption, waitOption, withLock, type GlobalArgs } from '../common.js';
import { color, print, printJSON, stepReporter, warn } from '../output.js';

interface Args extends GlobalArgs {
  description?: string;
  name?: string;
  includeUntracked?: boolean;
  reason?: string;
  wait?: string;
}

export const pointCommand: CommandModule<object, Args> = {
  command: 'point [description]',
  get describe() {
    return t('cmd.point');
  },
  builder: (y) =>
    y
      .positional('description', { type: 'string', describe: t('point.opt.description') })
      .option('name', { type: 'string', describe: t('point.opt.name') })
      .option('include-untracked', { alias: 'u', type: 'boolean', describe: t('point.opt.untracked') })
      .option('reason', reasonOption())
      .option('wait', waitOption())
      .option('json', { type: 'boolean', describe: t('point.opt.json') })
      // `point -- "-rf /"` keeps a description that starts with "-".
      .parserConfiguration({ 'populate--': true })
      .example('$0 point "AI服务集成完成"', t('point.ex.chinese'))
      .example('$0 point "before migration 42" --name pre-m42', t('point.ex.name'))
      .example('$0 point -u', t('point.ex.untracked')),
  handler: async (args) => {
    const ctx = await open(args);
    const progress = await stepReporter(!!args.json);
    const made = await withLock(ctx, 'git rollback point', lockWait(args, 15_000), async () => {
      progress.step(t('point.making'));
      try {
        return await madeOrNothing(ctx, args.name, () => makePoint(ctx, {
          kind: 'point',
          description: [args.description, ...((args as Args & { '--'?: unknown[] })['--'] ?? []).map(String)].filter((d) => d !== undefined).join(' '),
          ...(args.name !== undefined ? { name: args.name } : {}),
          includeUntracked: !!args.includeUntracked,
          reason: args.reason ?? null,
          onProgress: (x) => progress.step(t('point.snapshotStep', { what: x })),
          onTransfer: (x) => progress.transfer(x),
        }));
      } finally {
        progress.stop();
      }
    });
    for (const w of made.warnings) warn(w);
    if (args.json) return printJSON({ tag: made.point.tag, ...made.note, ms: made.ms });
    print(t(made.note.description ? 'point.made' : 'point.madeNoDesc', { tag: color.bold(made.point.tag), description: made.note.description }));
    for (const line of describeNote(made.note)) print(`  ${line}`);
    print(`  ${color.dim(t('point.took', { time: formatMs(made.ms) }))}`);
  },
};

/**
 * A point is made by one ref transaction at its very end: when anything
 * fails, no point exists — say so, truthfully (checked: the tag is not there).
 */
async function madeOrNothing<T>(ctx: Context, name: string | undefined, make: () => Promise<T>): Promise<T> {
  try {
    return await make();
  } catch (error) {
    const tag = name !== undefined ? `${ctx.config.tags.point}${name}` : null;
    const exists = tag ? await ctx.git.revParse(`refs/tags/${tag}`) : null;
    if (!exists && error instanceof Error && !(error instanceof ConflictError) && !(error instanceof UsageError)) {
      // Said after the first line of the message, where a disk-full report (which shows only that line) says it too.
      withOutcome(error, msg('point.noneMade'));
    }
    throw error;
  }
}

/** Lines describing what a point holds, shared by point, release and show. */
export function describeNote(note: PointNote): string[] {
  const lines: string[] = [];
  const s = note.snapshot;
  const label = (key: Parameters<typeof t>[0]) => labelled(t(key));
  const where = note.branch ? t('note.onBranch', { branch: note.branch }) : note.snapshot ? t('note.detached') : '';
  const wip = s?.worktree ? t('note.uncommitted', { n: s.worktree.files }) : '';
  lines.push(`${label('note.commit')}${note.commit.slice(0, 12)}${where}${wip}`);
  if (!s) {
    lines.push(`${label('note.snapshot')}${t('note.codeOnly')}`);
    return lines;
  }
  const files = (list: { path: string; size: number }[]) =>
    t('note.files', { n: list.length, size: formatBytes(list.reduce((n, f) => n + f.size, 0)) }) +
    (list.length ? ': ' + list.slice(0, 4).map((f) => f.path).join(', ') + (list.length > 4 ? ', …' : '') : '');
  lines.push(`${label('note.config')}${files(s.config)}`);
  if (s.paths.length) lines.push(`${label('note.paths')}${files(s.paths)}`);
  for (const d of s.databases) lines.push(`${label('note.database')}${t('note.databaseLine', { name: d.name, engine: d.engine, size: formatBytes(d.size), tool: d.tool, time: formatMs(d.ms) })}`);
  for (const c of s.captures) lines.push(`${label('note.capture')}${c.name} (${formatBytes(c.size)}${c.exitCode !== 0 ? `, exit ${c.exitCode}` : ''})`);
  lines.push(`${label('note.snapshot')}${t('note.snapshotLine', { size: formatBytes(s.size), ref: s.ref })}`);
  return lines;
}

/** A label padded to the column where values start (11 columns, CJK counted double). */
export function labelled(label: string, w = 11): string {
  const used = [...label].reduce((n, ch) => n + (/[\u2e80-\uffff]/.test(ch) ? 2 : 1), 0);
  return label + ' '.repeat(Math.max(1, w - used));
}
