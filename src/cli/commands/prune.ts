// git rollback prune: removes points the retention policy no longer keeps, and
// the previous database copies that rollbacks left behind.
import type { CommandModule } from 'yargs';
import { describeLeftover, findLeftovers, removeLeftover } from '../../app/leftovers.js';
import { lastAction } from '../../app/rollback.js';
import { refuseIfInterrupted } from './to.js';
import { parseDuration } from '../../core/duration.js';
import { UsageError } from '../../core/errors.js';
import { decidePrune } from '../../core/retention.js';
import { POINT_KINDS, type PointKind } from '../../core/types.js';
import { confirmOrRefuse, open, reasonOption, withLock, type GlobalArgs, lockWait, waitOption } from '../common.js';
import { color, localTime, print, printJSON, table, warn } from '../output.js';

interface Args extends GlobalArgs {
  keepLast?: number;
  keepWithin?: string;
  kind?: string[];
  keepDatabases?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  reason?: string;
  wait?: string;
}

export const pruneCommand: CommandModule<object, Args> = {
  command: 'prune',
  describe: 'Remove points the retention policy does not keep, and previous database copies left by rollbacks',
  builder: (y) =>
    y
      .option('keep-last', { type: 'number', describe: 'Keep the newest N points of each kind (default: retention.keepLast)' })
      .option('keep-within', { type: 'string', describe: 'Keep points younger than this, e.g. 7d (default: retention.keepWithin)' })
      .option('kind', { type: 'string', array: true, choices: [...POINT_KINDS], describe: 'Only prune these kinds' })
      .option('keep-databases', { type: 'boolean', describe: 'Do not drop previous database copies (<db>_rollback_<id>) or loaded copies left by interrupted rollbacks' })
      .option('dry-run', { alias: 'n', type: 'boolean', describe: 'Show what would be removed' })
      .option('yes', { alias: 'y', type: 'boolean', describe: 'Do not ask for confirmation' })
      .option('reason', reasonOption)
      .option('wait', waitOption)
      .option('json', { type: 'boolean', describe: 'Print the decisions as JSON' })
      .example('$0 prune --dry-run', 'what the configured retention would remove')
      .example('$0 prune --keep-last 10 --kind backup --yes', 'keep 10 backups, no prompt'),
  handler: async (args) => {
    const ctx = await open(args);
    if (args.keepWithin !== undefined && parseDuration(args.keepWithin) === null) throw new UsageError(`--keep-within ${args.keepWithin}: expected a duration like 7d or 12h`);
    if (args.keepLast !== undefined && (!Number.isInteger(args.keepLast) || args.keepLast < 0)) throw new UsageError(`--keep-last ${args.keepLast}: expected a whole number >= 0`);
    await withLock(ctx, 'git rollback prune', lockWait(args, 15_000), async () => {
      // A job in the journal may still need its copies and its backup.
      await refuseIfInterrupted(ctx);
      const points = await ctx.store.list();
      const last = await lastAction(ctx);
      const decisions = decidePrune(
        points,
        {
          keepLast: args.keepLast ?? ctx.config.retention.keepLast,
          keepWithin: args.keepWithin ?? ctx.config.retention.keepWithin,
          keepReleases: ctx.config.retention.keepReleases,
          ...(args.kind?.length ? { kinds: args.kind as PointKind[] } : {}),
        },
        new Date(),
        last?.kind === 'rollback' ? last.backup : null,
      );
      const remove = decisions.filter((d) => !d.keep);
      const engines = args.keepDatabases ? [] : await ctx.engines();
      const kept = (await findLeftovers(ctx, engines, null, warn)).filter((l) => !args.keepDatabases || !l.engine);
      if (args.json && args.dryRun) {
        return printJSON({ dryRun: true, points: decisions.map((d) => ({ tag: d.point.tag, keep: d.keep, reason: d.reason })), databases: kept.map((k) => ({ database: k.object.database || null, role: k.object.role, drop: k.object.name })) });
      }
      if (!args.json) {
        if (remove.length === 0 && kept.length === 0) return print('Nothing to prune.');
        if (remove.length) {
          print(`${args.dryRun ? 'Would remove' : 'Remove'} ${remove.length} point${remove.length === 1 ? '' : 's'}:`);
          for (const line of table([{ header: 'POINT' }, { header: 'CREATED' }, { header: 'WHY' }], remove.map((d) => [d.point.tag, localTime(d.point.createdAt), d.reason]))) print(`  ${line}`);
        }
        for (const k of kept) print(`${args.dryRun ? 'Would remove' : 'Remove'} ${describeLeftover(k)}`);
      } else if (remove.length === 0 && kept.length === 0) return printJSON({ removed: [], droppedDatabases: [] });
      if (args.dryRun) return print(color.dim('Dry run: nothing was changed.'));
      await confirmOrRefuse(`Prune ${remove.length} point${remove.length === 1 ? '' : 's'}${kept.length ? ` and ${kept.length} leftover${kept.length === 1 ? '' : 's'} of earlier rollbacks` : ''}?`, args.yes, 'prune');
      const started = Date.now();
      const removed = await ctx.store.delete(remove.map((d) => d.point));
      const dropped: string[] = [];
      for (const k of kept) {
        await removeLeftover(k);
        dropped.push(k.object.database ? `${k.object.database}:${k.object.name}` : k.object.name);
      }
      await ctx.log.append({ type: 'prune', target: null, reason: args.reason ?? null, outcome: 'ok', ms: Date.now() - started, removed, droppedDatabases: dropped });
      if (args.json) return printJSON({ removed: removed.map((r) => r.tag), droppedDatabases: dropped });
      print(`Pruned ${removed.length} point${removed.length === 1 ? '' : 's'}${dropped.length ? ` and ${dropped.length} leftover${dropped.length === 1 ? '' : 's'} of earlier rollbacks` : ''}. Until the next git gc, git rollback undo brings the points back.`);
    });
  },
};
