// git rollback prune: removes points the retention policy no longer keeps, and
// the previous database copies that rollbacks left behind.
import type { CommandModule } from 'yargs';
import { describeLeftover, findLeftovers, removeLeftover } from '../../app/leftovers.js';
import type { RemovedPoint } from '../../adapters/store.js';
import { formatBytes } from '../../core/text.js';
import { lastAction } from '../../app/state.js';
import { refuseIfInterrupted } from './to.js';
import { parseDuration } from '../../core/duration.js';
import { UsageError } from '../../core/errors.js';
import { decidePrune } from '../../core/retention.js';
import { msg, t } from '../../core/i18n.js';
import { POINT_KINDS, type PointKind } from '../../core/types.js';
import { confirmOrRefuse, lockWait, open, reasonOption, waitOption, withLock, type GlobalArgs } from '../common.js';
import { color, localTime, print, printJSON, table, tableWidth, warn } from '../output.js';

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
  get describe() {
    return t('cmd.prune');
  },
  builder: (y) =>
    y
      .option('keep-last', { type: 'number', describe: t('prune.opt.keepLast') })
      .option('keep-within', { type: 'string', describe: t('prune.opt.keepWithin') })
      .option('kind', { type: 'string', array: true, choices: [...POINT_KINDS], describe: t('prune.opt.kind') })
      .option('keep-databases', { type: 'boolean', describe: t('prune.opt.keepDatabases') })
      .option('dry-run', { alias: 'n', type: 'boolean', describe: t('prune.opt.dryRun') })
      .option('yes', { alias: 'y', type: 'boolean', describe: t('opt.yes') })
      .option('reason', reasonOption())
      .option('wait', waitOption())
      .option('json', { type: 'boolean', describe: t('prune.opt.json') })
      .example('$0 prune --dry-run', t('prune.ex.dryRun'))
      .example('$0 prune --keep-last 10 --kind backup --yes', t('prune.ex.keep')),
  handler: async (args) => {
    const ctx = await open(args);
    if (args.keepWithin !== undefined && parseDuration(args.keepWithin) === null) throw new UsageError(msg('prune.badWithin', { value: args.keepWithin }));
    if (args.keepLast !== undefined && (!Number.isInteger(args.keepLast) || args.keepLast < 0)) throw new UsageError(msg('prune.badLast', { value: args.keepLast }));
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
      const kept = (await findLeftovers(ctx, engines, null, (text) => warn(text))).filter((l) => !args.keepDatabases || !l.engine);
      // Dump chunks live in packs git gc leaves alone: prune reclaims those no
      // point reaches any more, except what the newest delete or prune still
      // needs for its undo (this prune's, once it removes points).
      const undoable = (list: readonly RemovedPoint[]) => list.flatMap((r) => (r.snapshotCommit ? [r.snapshotCommit] : []));
      const keepForUndo = remove.length ? [] : last?.kind === 'delete' ? undoable(last.removed) : [];
      // Loaded here, not at start-up: it pulls in execa (a 237 KB chunk) that `list` and `point` never need.
      const { compactDumpPacks } = await import('../../adapters/pack-compact.js');
      const packsBefore = await compactDumpPacks(ctx.repo.root, { keep: keepForUndo, dryRun: true });
      const reclaimable = packsBefore.bytesBefore - packsBefore.bytesAfter;
      if (args.json && args.dryRun) {
        return printJSON({
          dryRun: true,
          points: decisions.map((d) => ({ tag: d.point.tag, keep: d.keep, reason: d.reason })),
          databases: kept.map((k) => ({ database: k.object.database || null, role: k.object.role, drop: k.object.name })),
          dumpPacks: { reclaimableBytes: reclaimable },
        });
      }
      if (!args.json) {
        if (remove.length === 0 && kept.length === 0 && reclaimable === 0) return print(t('prune.nothing'));
        if (reclaimable > 0) print(t(args.dryRun ? 'prune.wouldReclaim' : 'prune.reclaim', { size: formatBytes(reclaimable) }));
        if (remove.length) {
          print(t(args.dryRun ? 'prune.wouldRemove' : 'prune.remove', { n: remove.length }));
          const w = tableWidth(false);
          const columns = [{ header: t('list.col.point') }, { header: t('list.col.created'), drop: 1 }, { header: t('prune.col.why'), flex: { min: 12 } }];
          for (const line of table(columns, remove.map((d) => [d.point.tag, localTime(d.point.createdAt), d.reason]), { width: w === null ? null : w - 2 })) print(`  ${line}`);
        }
        for (const k of kept) print(t(args.dryRun ? 'prune.wouldDrop' : 'prune.drop', { what: describeLeftover(k) }));
      } else if (remove.length === 0 && kept.length === 0 && reclaimable === 0) return printJSON({ removed: [], droppedDatabases: [], reclaimedBytes: 0 });
      if (args.dryRun) return print(color.dim(t('out.dryRun')));
      await confirmOrRefuse(kept.length ? msg('prune.confirmDb', { points: msg('count.points', { n: remove.length }), copies: msg('count.copies', { n: kept.length }) }) : msg('prune.confirm', { n: remove.length }), args.yes, msg('what.prune'));
      const started = Date.now();
      const removed = await ctx.store.delete(remove.map((d) => d.point));
      const dropped: string[] = [];
      for (const k of kept) {
        await removeLeftover(k);
        dropped.push(k.object.database ? `${k.object.database}:${k.object.name}` : k.object.name);
      }
      const packs = await compactDumpPacks(ctx.repo.root, { keep: remove.length ? undoable(removed) : keepForUndo });
      const reclaimed = packs.bytesBefore - packs.bytesAfter;
      await ctx.log.append({ type: 'prune', target: null, reason: args.reason ?? null, outcome: 'ok', ms: Date.now() - started, removed, droppedDatabases: dropped, dumpPacks: packs });
      if (args.json) return printJSON({ removed: removed.map((r) => r.tag), droppedDatabases: dropped, reclaimedBytes: reclaimed });
      if (reclaimed > 0) print(t('prune.reclaimed', { size: formatBytes(reclaimed) }));
      print(dropped.length ? t('prune.doneDb', { points: msg('count.points', { n: removed.length }), copies: msg('count.copies', { n: dropped.length }) }) : t('prune.done', { n: removed.length }));
    });
  },
};
