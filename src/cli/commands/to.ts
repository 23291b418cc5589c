// git rollback to <point>: plan, show, confirm, back up, restore.
import type { CommandModule } from 'yargs';
import type { Context } from '../../app/context.js';
import { executeRollback, prepareRollback, type Prepared, type RollbackOutcome } from '../../app/rollback.js';
import { JournalFile } from '../../adapters/journal.js';
import { formatMs } from '../../core/duration.js';
import { ConflictError, NotFoundError, UsageError } from '../../core/errors.js';
import { MODES, localTitles, parseSelection, planToJSON, renderPlan, type Mode } from '../../core/plan.js';
import { msg, t } from '../../core/i18n.js';
import { resolvePoint } from '../../core/points.js';
import type { Point } from '../../core/types.js';
import { confirmOrRefuse, open, reasonOption, withLock, type GlobalArgs } from '../common.js';
import { color, info, print, printJSON, stepReporter } from '../output.js';
import { pickPoint } from '../picker.js';

interface Args extends GlobalArgs {
  point?: string;
  '--'?: string[];
  dryRun?: boolean;
  yes?: boolean;
  mode?: string;
  only?: string[];
  skip?: string[];
  reason?: string;
  removeExtra?: boolean;
  dropOld?: boolean;
  continue?: boolean;
  abort?: boolean;
}

export const toCommand: CommandModule<object, Args> = {
  command: 'to [point]',
  get describe() {
    return t('cmd.to');
  },
  builder: (y) =>
    y
      .positional('point', { type: 'string', describe: t('to.opt.point') })
      .option('dry-run', { alias: 'n', type: 'boolean', describe: t('opt.dryRun') })
      .option('yes', { alias: 'y', type: 'boolean', describe: t('opt.yes') })
      .option('mode', { type: 'string', choices: [...MODES], describe: t('to.opt.mode') })
      .option('only', { type: 'string', array: true, describe: t('to.opt.only') })
      .option('skip', { type: 'string', array: true, describe: t('to.opt.skip') })
      .option('remove-extra', { type: 'boolean', describe: t('to.opt.removeExtra') })
      .option('drop-old', { type: 'boolean', describe: t('to.opt.dropOld') })
      .option('reason', reasonOption())
      .option('continue', { type: 'boolean', describe: t('to.opt.continue') })
      .option('abort', { type: 'boolean', describe: t('to.opt.abort') })
      .option('json', { type: 'boolean', describe: t('to.opt.json') })
      .parserConfiguration({ 'populate--': true })
      .conflicts('continue', 'abort')
      .example('$0 to release/v0.8.1 --dry-run', t('to.ex.dryRun'))
      .example('$0 to release/v0.8.1 --reason "支付接口超时"', t('to.ex.reason'))
      .example('$0 to latest --only config --yes', t('to.ex.only'))
      .example('$0 to 20250906-131058 --mode reset', t('to.ex.reset'))
      .example('$0 to', t('to.ex.pick')),
  handler: async (args) => {
    const ctx = await open(args);
    const journal = new JournalFile(ctx.stateDir);
    if (args.continue || args.abort) return resume(ctx, args, journal);
    refusePaths(args);
    const points = await ctx.store.list();
    // ux: no point named: pick one on a terminal (src/cli/picker.ts); without one, the usual error.
    const target = args.point
      ? await resolvePoint(args.point, { points, prefixes: ctx.config.tags, commitOf: (r) => ctx.git.revParse(`${r}^{commit}`) })
      : await pickPoint(points, { title: t('picker.titleTo'), missing: msg('to.needPoint'), missingHint: msg('to.needPointHint') });
    // ux: end
    const mode = (args.mode as Mode | undefined) ?? (target.kind === 'backup' ? 'exact' : 'checkout');
    await rollback(ctx, args, target, mode, 'rollback', journal);
  },
};

/** Shared by `to` and `undo`: plan, print, confirm, execute, report. */
export async function rollback(ctx: Context, args: Args, target: Point, mode: Mode, action: 'rollback' | 'undo', journal: JournalFile, backupId?: string): Promise<void> {
  const selection = parseSelection(args.only, args.skip, ctx.config.databases.map((d) => d.name));
  const request = {
    action,
    target,
    mode,
    selection,
    removeExtra: args.removeExtra ?? ctx.config.restore.removeExtra,
    dropOld: args.dropOld ?? ctx.config.restore.dropOld,
    reason: args.reason ?? null,
    only: args.only ?? [],
    skip: args.skip ?? [],
  };
  const run = async () => {
    const pending = await journal.read();
    if (pending && !args.dryRun) {
      throw new ConflictError(msg('to.interrupted', { action: pending.action, target: pending.target, started: pending.startedAt }), msg('to.interruptedHint'));
    }
    const prepared = await prepareRollback(ctx, request, backupId);
    printPlan(prepared, args, action);
    if (args.dryRun) return;
    await confirmOrRefuse(msg(action === 'undo' ? 'to.confirmUndo' : 'to.confirm', { target: target.tag }), args.yes, msg(action === 'undo' ? 'what.undo' : 'what.rollBack'));
    const outcome = await execute(ctx, prepared, args);
    report(outcome, args, action);
  };
  if (args.dryRun) return run();
  await withLock(ctx, `git rollback ${action === 'undo' ? 'undo' : `to ${target.tag}`}`, 0, run);
}

/** Runs the prepared rollback with progress on stderr: steps in the user's language, bytes/s and ETA for long restores. */
async function execute(ctx: Context, prepared: Prepared, args: Args, backup?: Point): Promise<RollbackOutcome> {
  const reporter = await stepReporter(!!args.json, localTitles(prepared.plan));
  ctx.onTransfer = (x) => reporter.transfer(x);
  try {
    return await executeRollback(ctx, prepared, reporter, backup);
  } finally {
    ctx.onTransfer = null;
    reporter.stop();
  }
}

/**
 * `to v0.8.1 -- src/app.js` is not a per-file restore: refuse it rather than
 * roll back everything while the user thinks only that file moves.
 */
function refusePaths(args: Args): void {
  const paths = args['--'] ?? [];
  if (paths.length) throw new UsageError(msg('to.noPaths', { paths: paths.join(' ') }), msg('to.noPathsHint', { point: args.point ?? '<point>', path: paths[0] as string }));
}

function printPlan(prepared: Prepared, args: Args, action: string): void {
  const { plan } = prepared;
  if (args.json) {
    if (args.dryRun) printJSON({ dryRun: true, ...(planToJSON(plan) as object) });
    return;
  }
  const out = args.dryRun ? print : info;
  out(t(action === 'undo' ? 'to.planUndo' : 'to.plan', { target: color.bold(plan.target), commit: plan.targetCommit.slice(0, 12), mode: plan.mode }));
  for (const line of renderPlan(plan)) out(line);
  if (args.dryRun) print(color.dim(t('out.dryRun')));
}

function report(outcome: RollbackOutcome, args: Args, action: string): void {
  if (args.json) {
    return printJSON({
      ok: true,
      action,
      target: outcome.plan.target,
      commit: outcome.plan.targetCommit,
      backup: outcome.plan.backupTag,
      mode: outcome.plan.mode,
      ms: outcome.ms,
      steps: outcome.steps,
      health: outcome.health,
      keptDatabases: outcome.keptDatabases,
    });
  }
  print(t(action === 'undo' ? 'to.undone' : 'to.done', { target: color.bold(outcome.plan.target), commit: outcome.plan.targetCommit.slice(0, 12), time: formatMs(outcome.ms) }));
  if (outcome.keptDatabases.length) print(t('to.kept', { names: outcome.keptDatabases.join(', ') }));
  print(t('to.savedAs', { backup: outcome.plan.backupTag }));
}

async function resume(ctx: Context, args: Args, journal: JournalFile): Promise<void> {
  const j = await journal.read();
  if (!j) throw new NotFoundError(msg('to.noJournal'), msg('to.noJournalHint'));
  const points = await ctx.store.list();
  const backup = points.find((p) => p.tag === j.backup);
  if (!backup) throw new NotFoundError(msg('to.journalBackupGone', { backup: j.backup }), msg('to.journalBackupGoneHint', { path: journal.path }));
  const targetTag = args.abort ? j.backup : j.target;
  const target = points.find((p) => p.tag === targetTag);
  if (!target) throw new NotFoundError(msg('to.journalTargetGone', { target: targetTag }));
  await withLock(ctx, `git rollback to --${args.abort ? 'abort' : 'continue'}`, 0, async () => {
    const selection = parseSelection(args.abort ? [] : j.only, args.abort ? [] : j.skip, ctx.config.databases.map((d) => d.name));
    const request = { action: j.action, target, mode: args.abort ? ('exact' as Mode) : j.mode, selection, removeExtra: ctx.config.restore.removeExtra, reason: args.reason ?? null, only: j.only, skip: j.skip };
    const prepared = await prepareRollback(ctx, request, j.backup.slice(ctx.config.tags.backup.length));
    printPlan(prepared, args, j.action);
    if (args.dryRun) return;
    await confirmOrRefuse(msg(args.abort ? 'to.confirmAbort' : 'to.confirmContinue', { target: target.tag }), args.yes, msg(args.abort ? 'what.abort' : 'what.continue'));
    await journal.remove();
    const outcome = await execute(ctx, prepared, args, backup);
    report(outcome, args, args.abort ? 'undo' : j.action);
  });
}
