// git rollback undo: return to the backup made by the last rollback or undo.
// Undo makes its own backup first, so undo twice is a redo.
import type { CommandModule } from 'yargs';
import { lastUndoable } from '../../app/rollback.js';
import { JournalFile } from '../../adapters/journal.js';
import { NotFoundError } from '../../core/errors.js';
import { open, reasonOption, type GlobalArgs } from '../common.js';
import { rollback } from './to.js';

interface Args extends GlobalArgs {
  dryRun?: boolean;
  yes?: boolean;
  reason?: string;
}

export const undoCommand: CommandModule<object, Args> = {
  command: 'undo',
  describe: 'Undo the last rollback (or undo): back to its automatic backup, exactly',
  builder: (y) =>
    y
      .option('dry-run', { alias: 'n', type: 'boolean', describe: 'Print the plan and change nothing' })
      .option('yes', { alias: 'y', type: 'boolean', describe: 'Do not ask for confirmation' })
      .option('reason', reasonOption)
      .option('json', { type: 'boolean', describe: 'Print the plan (with --dry-run) or the result as JSON' })
      .example('$0 undo --dry-run', 'what undo would do')
      .example('$0 undo --yes', 'undo without a prompt'),
  handler: async (args) => {
    const ctx = await open(args);
    const last = await lastUndoable(ctx);
    if (!last) throw new NotFoundError('there is no rollback to undo', 'git rollback log shows what happened');
    const points = await ctx.store.list();
    const target = points.find((p) => p.tag === last.backup);
    if (!target) throw new NotFoundError(`the backup ${last.backup} of the last ${last.event.type} is gone (deleted or pruned)`, 'pick a point by hand: git rollback list');
    await rollback(ctx, { ...args, only: [], skip: [] }, target, 'exact', 'undo', new JournalFile(ctx.stateDir));
  },
};
