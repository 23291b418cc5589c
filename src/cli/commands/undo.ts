// git rollback undo: return to the backup made by the last rollback or undo.
// Undo makes its own backup first, so undo twice is a redo.
import type { CommandModule } from 'yargs';
import { lastAction } from '../../app/state.js';
import { withConfigOfBackup } from '../../app/trust.js';
import { NotFoundError, UsageError } from '../../core/errors.js';
import { msg, t } from '../../core/i18n.js';
import { confirmOrRefuse, lockWait, open, reasonOption, waitOption, withLock, type GlobalArgs } from '../common.js';
import { canPrompt, print, printJSON, warn } from '../output.js';
import { pickPoint } from '../picker.js';
import { refuseIfInterrupted, rollback } from './to.js';

interface Args extends GlobalArgs {
  dryRun?: boolean;
  yes?: boolean;
  reason?: string;
  pick?: boolean;
  wait?: string;
  endSessions?: boolean;
}

export const undoCommand: CommandModule<object, Args> = {
  command: 'undo',
  get describe() {
    return t('cmd.undo');
  },
  builder: (y) =>
    y
      .option('dry-run', { alias: 'n', type: 'boolean', describe: t('opt.dryRun') })
      .option('yes', { alias: 'y', type: 'boolean', describe: t('opt.yes') })
      .option('pick', { type: 'boolean', describe: t('undo.opt.pick') })
      .option('reason', reasonOption())
      .option('wait', waitOption())
      .option('end-sessions', { type: 'boolean', describe: t('to.opt.endSessions') })
      .option('json', { type: 'boolean', describe: t('to.opt.json') })
      .example('$0 undo --dry-run', t('undo.ex.dryRun'))
      .example('$0 undo --yes', t('undo.ex.yes'))
      .example('$0 undo --pick', t('undo.ex.pick')),
  handler: async (args) => {
    const ctx = await open(args);
    if (!args.dryRun) await refuseIfInterrupted(ctx);
    // ux: --pick chooses the backup to return to from a list (src/cli/picker.ts).
    if (args.pick) {
      if (!canPrompt()) throw new UsageError(msg('undo.pickNeedsTerminal'));
      const chosen = await pickPoint(await ctx.store.list(), { title: t('picker.titleUndo'), missing: msg('undo.pickNeedsTerminal'), filter: (p) => p.kind === 'backup' });
      return rollback(ctx, { ...args, only: [], skip: [] }, chosen, 'exact', 'undo');
    }
    // ux: end
    const last = await lastAction(ctx);
    if (!last) throw new NotFoundError(msg('undo.nothing'), msg('undo.nothingHint'));
    if (last.kind === 'delete') {
      const tags = last.removed.map((r) => r.tag);
      if (args.json && args.dryRun) return printJSON({ dryRun: true, restore: tags });
      if (!args.json) for (const tag of tags) print(t(args.dryRun ? 'undo.wouldRestore' : 'undo.restoreLine', { tag, type: last.event.type, time: last.event.time }));
      if (args.dryRun) return;
      await confirmOrRefuse(msg('undo.confirmRestore', { n: tags.length }), args.yes, msg('what.restorePoints'));
      await withLock(ctx, 'git rollback undo', lockWait(args, 15_000), async () => {
        const started = Date.now();
        await ctx.store.restore(last.removed);
        await ctx.log.append({ type: 'undo', target: tags.join(' '), reason: args.reason ?? null, outcome: 'ok', ms: Date.now() - started, undid: last.commit, restored: tags });
      });
      if (args.json) return printJSON({ ok: true, restored: tags });
      return print(t('undo.restored', { n: tags.length, tags: tags.join(', ') }));
    }
    const points = await ctx.store.list();
    const target = points.find((p) => p.tag === last.backup);
    if (!target) throw new NotFoundError(msg('undo.backupGone', { backup: last.backup, type: last.event.type }), msg('undo.backupGoneHint'));
    // The config approved when the backup was made, not the one the undone rollback checked out.
    const used = await withConfigOfBackup(ctx, target);
    if (used.trust.notice && !args.json) warn(used.trust.notice);
    await rollback(used, { ...args, only: [], skip: [] }, target, 'exact', 'undo');
  },
};
