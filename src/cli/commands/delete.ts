// git rollback delete <point>…: removes tags, notes and snapshot refs.
import type { CommandModule } from 'yargs';
import { ConflictError } from '../../core/errors.js';
import { resolvePoint } from '../../core/points.js';
import { msg, t } from '../../core/i18n.js';
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
  get describe() {
    return t('cmd.delete');
  },
  builder: (y) =>
    y
      .positional('points', { type: 'string', array: true, demandOption: true, describe: t('delete.opt.points') })
      .option('force', { alias: 'f', type: 'boolean', describe: t('delete.opt.force') })
      .option('yes', { alias: 'y', type: 'boolean', describe: t('opt.yes') })
      .option('dry-run', { alias: 'n', type: 'boolean', describe: t('delete.opt.dryRun') })
      .option('reason', reasonOption())
      .option('json', { type: 'boolean', describe: t('opt.json') })
      .example('$0 delete 20250906-131058', t('delete.ex.one'))
      .example('$0 delete rollback/old-1 rollback/old-2 --yes', t('delete.ex.several')),
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
        throw new ConflictError(msg('delete.protected', { tags: locked.map((p) => p.tag).join(', '), n: locked.length }), msg('delete.protectedHint'));
      }
      if (args.json && args.dryRun) return printJSON({ dryRun: true, delete: targets.map((p) => p.tag) });
      if (!args.json) for (const p of targets) print(`${t(args.dryRun ? 'delete.would' : 'delete.line', { tag: p.tag })}${p.description ? `  ${p.description}` : ''}`);
      if (args.dryRun) return print(color.dim(t('out.dryRun')));
      await confirmOrRefuse(msg('delete.confirm', { n: targets.length }), args.yes, msg('what.delete'));
      const started = Date.now();
      const removed = await ctx.store.delete(targets);
      await ctx.log.append({ type: 'delete', target: targets.map((p) => p.tag).join(' '), reason: args.reason ?? null, outcome: 'ok', ms: Date.now() - started, removed });
      if (args.json) return printJSON({ deleted: targets.map((p) => p.tag) });
      print(t('delete.done', { n: targets.length }));
    });
  },
};
