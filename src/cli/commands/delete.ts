// git rollback delete <point>…: removes tags, notes and snapshot refs.
import type { CommandModule } from 'yargs';
import { ConflictError } from '../../core/errors.js';
import { resolvePoint } from '../../core/points.js';
import type { Point } from '../../core/types.js';
import { confirmOrRefuse, open, reasonOption, withLock, type GlobalArgs } from '../common.js';
import { color, print, printJSON } from '../output.js';

interface Args extends GlobalArgs {
  points: string[];
  force?: boolean;
  yes?: boolean;
  dryRun?: boolean;
  reason?: string;
}

export const deleteCommand: CommandModule<object, Args> = {
  command: 'delete <points..>',
  aliases: ['rm'],
  describe: 'Delete points: their tag, note and snapshot ref (objects go at the next git gc)',
  builder: (y) =>
    y
      .positional('points', { type: 'string', array: true, demandOption: true, describe: 'Points to delete' })
      .option('force', { alias: 'f', type: 'boolean', describe: 'Also delete protected points' })
      .option('yes', { alias: 'y', type: 'boolean', describe: 'Do not ask for confirmation' })
      .option('dry-run', { alias: 'n', type: 'boolean', describe: 'Show what would be deleted' })
      .option('reason', reasonOption)
      .option('json', { type: 'boolean', describe: 'Print JSON' })
      .example('$0 delete 20250906-131058', 'one point')
      .example('$0 delete rollback/old-1 rollback/old-2 --yes', 'several, no prompt'),
  handler: async (args) => {
    const ctx = await open(args);
    await withLock(ctx, 'git rollback delete', 15_000, async () => {
      const all = await ctx.store.list();
      const targets: Point[] = [];
      for (const spec of args.points) {
        const p = await resolvePoint(spec, { points: all, prefixes: ctx.config.tags, commitOf: (r) => ctx.git.revParse(`${r}^{commit}`) });
        if (!targets.includes(p)) targets.push(p);
      }
      const locked = targets.filter((p) => p.note?.protected);
      if (locked.length && !args.force) {
        throw new ConflictError(`${locked.map((p) => p.tag).join(', ')} ${locked.length === 1 ? 'is' : 'are'} protected`, 'unprotect first (git rollback unprotect <point>) or add --force');
      }
      if (args.json && args.dryRun) return printJSON({ dryRun: true, delete: targets.map((p) => p.tag) });
      if (!args.json) for (const p of targets) print(`${args.dryRun ? 'would delete' : 'delete'} ${p.tag}${p.description ? `  ${p.description}` : ''}`);
      if (args.dryRun) return print(color.dim('Dry run: nothing was changed.'));
      await confirmOrRefuse(`Delete ${targets.length} point${targets.length === 1 ? '' : 's'}?`, args.yes, 'delete points');
      const started = Date.now();
      const removed = await ctx.store.delete(targets);
      await ctx.log.append({ type: 'delete', target: targets.map((p) => p.tag).join(' '), reason: args.reason ?? null, outcome: 'ok', ms: Date.now() - started, removed });
      if (args.json) return printJSON({ deleted: targets.map((p) => p.tag) });
      print(`Deleted ${targets.length} point${targets.length === 1 ? '' : 's'}. Until the next git gc, git rollback undo brings ${targets.length === 1 ? 'it' : 'them'} back.`);
    });
  },
};
