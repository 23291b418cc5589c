// git rollback undo: return to the backup made by the last rollback or undo.
// Undo makes its own backup first, so undo twice is a redo.
import type { CommandModule } from 'yargs';
import { lastAction } from '../../app/rollback.js';
import { NotFoundError } from '../../core/errors.js';
import { confirmOrRefuse, lockWait, open, reasonOption, waitOption, withLock, type GlobalArgs } from '../common.js';
import { print, printJSON } from '../output.js';
import { refuseIfInterrupted, rollback } from './to.js';

interface Args extends GlobalArgs {
  dryRun?: boolean;
  yes?: boolean;
  reason?: string;
  wait?: string;
}

export const undoCommand: CommandModule<object, Args> = {
  command: 'undo',
  describe: 'Undo the last rollback or undo (back to its automatic backup, exactly), or the last delete or prune (the points come back)',
  builder: (y) =>
    y
      .option('dry-run', { alias: 'n', type: 'boolean', describe: 'Print the plan and change nothing' })
      .option('yes', { alias: 'y', type: 'boolean', describe: 'Do not ask for confirmation' })
      .option('reason', reasonOption)
      .option('wait', waitOption)
      .option('json', { type: 'boolean', describe: 'Print the plan (with --dry-run) or the result as JSON' })
      .example('$0 undo --dry-run', 'what undo would do')
      .example('$0 undo --yes', 'undo without a prompt'),
  handler: async (args) => {
    const ctx = await open(args);
    if (!args.dryRun) await refuseIfInterrupted(ctx);
    const last = await lastAction(ctx);
    if (!last) throw new NotFoundError('there is nothing to undo', 'git rollback log shows what happened');
    if (last.kind === 'delete') {
      const tags = last.removed.map((r) => r.tag);
      if (args.json && args.dryRun) return printJSON({ dryRun: true, restore: tags });
      if (!args.json) for (const t of tags) print(`${args.dryRun ? 'would restore' : 'restore'} ${t} (${last.event.type} at ${last.event.time})`);
      if (args.dryRun) return;
      await confirmOrRefuse(`Restore ${tags.length} point${tags.length === 1 ? '' : 's'}?`, args.yes, 'restore points');
      await withLock(ctx, 'git rollback undo', lockWait(args, 15_000), async () => {
        const started = Date.now();
        await ctx.store.restore(last.removed);
        await ctx.log.append({ type: 'undo', target: tags.join(' '), reason: args.reason ?? null, outcome: 'ok', ms: Date.now() - started, undid: last.commit, restored: tags });
      });
      if (args.json) return printJSON({ ok: true, restored: tags });
      return print(`Restored ${tags.length} point${tags.length === 1 ? '' : 's'}: ${tags.join(', ')}.`);
    }
    const points = await ctx.store.list();
    const target = points.find((p) => p.tag === last.backup);
    if (!target) throw new NotFoundError(`the backup ${last.backup} of the last ${last.event.type} is gone (deleted or pruned)`, 'pick a point by hand: git rollback list');
    await rollback(ctx, { ...args, only: [], skip: [] }, target, 'exact', 'undo');
  },
};
