// git rollback point [description]: makes a point of the current state.
import type { CommandModule } from 'yargs';
import { makePoint } from '../../app/points.js';
import type { Context } from '../../app/context.js';
import { formatMs } from '../../core/duration.js';
import { ConflictError } from '../../core/errors.js';
import { formatBytes } from '../../core/text.js';
import type { PointNote } from '../../core/types.js';
import { open, reasonOption, withLock, type GlobalArgs, lockWait, waitOption } from '../common.js';
import { color, print, printJSON, spinner, warn } from '../output.js';

interface Args extends GlobalArgs {
  description?: string;
  name?: string;
  includeUntracked?: boolean;
  reason?: string;
  wait?: string;
}

export const pointCommand: CommandModule<object, Args> = {
  command: 'point [description]',
  describe: 'Make a point: tag HEAD and snapshot config files, data paths, databases and uncommitted work',
  builder: (y) =>
    y
      .positional('description', { type: 'string', describe: 'What this moment is (any language)' })
      .option('name', { type: 'string', describe: 'Readable id instead of the UTC timestamp (tag rollback/<name>)' })
      .option('include-untracked', { alias: 'u', type: 'boolean', describe: 'Also capture untracked files (not ignored ones)' })
      .option('reason', reasonOption)
      .option('wait', waitOption)
      .option('json', { type: 'boolean', describe: 'Print the point as JSON' })
      .example('$0 point "AI服务集成完成"', 'a point with a Chinese description')
      .example('$0 point "before migration 42" --name pre-m42', 'a point with a readable id')
      .example('$0 point -u', 'also capture untracked files'),
  handler: async (args) => {
    const ctx = await open(args);
    const spin = await spinner(!args.json);
    const made = await withLock(ctx, 'git rollback point', lockWait(args, 15_000), async () => {
      spin.start('making point');
      try {
        return await madeOrNothing(ctx, args.name, () => makePoint(ctx, {
          kind: 'point',
          description: args.description ?? '',
          ...(args.name !== undefined ? { name: args.name } : {}),
          includeUntracked: !!args.includeUntracked,
          reason: args.reason ?? null,
          onProgress: (t) => spin.start(`snapshot: ${t}`),
        }));
      } finally {
        spin.stop();
      }
    });
    for (const w of made.warnings) warn(w);
    if (args.json) return printJSON({ tag: made.point.tag, ...made.note, ms: made.ms });
    print(`Made point ${color.bold(made.point.tag)}${made.note.description ? ` "${made.note.description}"` : ''}`);
    for (const line of describeNote(made.note)) print(`  ${line}`);
    print(`  ${color.dim(`took ${formatMs(made.ms)}`)}`);
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
    if (!exists && error instanceof Error && !(error instanceof ConflictError)) error.message += ' — no point was made';
    throw error;
  }
}

/** Lines describing what a point holds, shared by point, release and show. */
export function describeNote(note: PointNote): string[] {
  const lines: string[] = [];
  const s = note.snapshot;
  lines.push(`commit     ${note.commit.slice(0, 12)}${note.branch ? ` on ${note.branch}` : note.snapshot ? ' (detached HEAD)' : ''}${s?.worktree ? `, ${s.worktree.files} uncommitted file${s.worktree.files === 1 ? '' : 's'} captured` : ''}`);
  if (!s) {
    lines.push('snapshot   none (code only)');
    return lines;
  }
  const files = (list: { path: string; size: number }[]) =>
    `${list.length} file${list.length === 1 ? '' : 's'} (${formatBytes(list.reduce((n, f) => n + f.size, 0))})${list.length ? ': ' + list.slice(0, 4).map((f) => f.path).join(', ') + (list.length > 4 ? ', …' : '') : ''}`;
  lines.push(`config     ${files(s.config)}`);
  if (s.paths.length) lines.push(`paths      ${files(s.paths)}`);
  for (const d of s.databases) lines.push(`database   ${d.name} (${d.engine}, ${formatBytes(d.size)}, ${d.tool}, ${formatMs(d.ms)})`);
  for (const c of s.captures) lines.push(`capture    ${c.name} (${formatBytes(c.size)}${c.exitCode !== 0 ? `, exit ${c.exitCode}` : ''})`);
  lines.push(`snapshot   ${formatBytes(s.size)} in ${s.ref}`);
  return lines;
}
