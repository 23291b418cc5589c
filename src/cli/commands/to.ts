// git rollback to <point>: plan, show, confirm, back up, restore.
import type { CommandModule } from 'yargs';
import type { Context } from '../../app/context.js';
import { executeRollback, prepareRollback, type Prepared, type RollbackOutcome } from '../../app/rollback.js';
import { JournalFile } from '../../adapters/journal.js';
import { formatMs } from '../../core/duration.js';
import { ConflictError, NotFoundError, UsageError } from '../../core/errors.js';
import { MODES, parseSelection, planToJSON, renderPlan, type Mode } from '../../core/plan.js';
import { resolvePoint } from '../../core/points.js';
import type { Point } from '../../core/types.js';
import { confirmOrRefuse, open, reasonOption, withLock, type GlobalArgs } from '../common.js';
import { color, info, print, printJSON, stepReporter, warn } from '../output.js';
import { withConfigOfBackup } from '../../app/trust.js'; // security

interface Args extends GlobalArgs {
  point?: string;
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
  describe: 'Roll code, config files, data paths and databases back to a point, after an automatic backup',
  builder: (y) =>
    y
      .positional('point', { type: 'string', describe: 'Tag, id, version (v0.8.1), latest, previous-release, or a commit a point tags' })
      .option('dry-run', { alias: 'n', type: 'boolean', describe: 'Print the plan and change nothing' })
      .option('yes', { alias: 'y', type: 'boolean', describe: 'Do not ask for confirmation (needed without a terminal)' })
      .option('mode', { type: 'string', choices: [...MODES], describe: 'How code moves: checkout (detached, default), reset (move the branch), branch (new branch), revert (new commit)' })
      .option('only', { type: 'string', array: true, describe: 'Restore only these: code, config, paths, db, db:<name> (comma-separated or repeated)' })
      .option('skip', { type: 'string', array: true, describe: 'Do not restore these: code, config, paths, db, db:<name>' })
      .option('remove-extra', { type: 'boolean', describe: 'Remove config/path files that did not exist at the point (default: restore.removeExtra)' })
      .option('drop-old', { type: 'boolean', describe: 'Drop the previous database copies after success instead of keeping them for prune (default: restore.dropOld)' })
      .option('reason', reasonOption)
      .option('continue', { type: 'boolean', describe: 'Finish an interrupted rollback' })
      .option('abort', { type: 'boolean', describe: 'Revert an interrupted rollback to its backup' })
      .option('json', { type: 'boolean', describe: 'Print the plan (with --dry-run) or the result as JSON' })
      .conflicts('continue', 'abort')
      .example('$0 to release/v0.8.1 --dry-run', 'see the plan, change nothing')
      .example('$0 to release/v0.8.1 --reason "支付接口超时"', 'roll back, after confirming')
      .example('$0 to latest --only config --yes', 'only config files, no prompt')
      .example('$0 to 20250906-131058 --mode reset', 'move the current branch too'),
  handler: async (args) => {
    const ctx = await open(args);
    const journal = new JournalFile(ctx.stateDir);
    if (args.continue || args.abort) return resume(ctx, args, journal);
    if (!args.point) throw new UsageError('name the point to roll back to', 'git rollback list shows them; e.g. git rollback to latest --dry-run');
    const points = await ctx.store.list();
    const target = await resolvePoint(args.point, { points, prefixes: ctx.config.tags, commitOf: (r) => ctx.git.revParse(`${r}^{commit}`) });
    const mode = (args.mode as Mode | undefined) ?? (target.kind === 'backup' ? 'exact' : 'checkout');
    // security: a backup is restored with the config approved when it was made, if the working tree's is not approved.
    const used = target.kind === 'backup' ? await withConfigOfBackup(ctx, target) : ctx;
    if (used.trust.notice && !args.json) warn(used.trust.notice);
    await rollback(used, args, target, mode, 'rollback', journal);
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
      throw new ConflictError(`a ${pending.action} to ${pending.target} was interrupted (started ${pending.startedAt})`, 'finish it with git rollback to --continue, or revert it with git rollback to --abort');
    }
    const prepared = await prepareRollback(ctx, request, backupId);
    printPlan(prepared, args, action);
    if (args.dryRun) return;
    await confirmOrRefuse(`${action === 'undo' ? 'Undo' : 'Roll back'} to ${target.tag}?`, args.yes, action === 'undo' ? 'undo' : 'roll back');
    const outcome = await executeRollback(ctx, prepared, await stepReporter(!!args.json));
    report(outcome, args, action);
  };
  if (args.dryRun) return run();
  await withLock(ctx, `git rollback ${action === 'undo' ? 'undo' : `to ${target.tag}`}`, 0, run);
}

function printPlan(prepared: Prepared, args: Args, action: string): void {
  const { plan } = prepared;
  if (args.json) {
    if (args.dryRun) printJSON({ dryRun: true, ...(planToJSON(plan) as object) });
    return;
  }
  const out = args.dryRun ? print : info;
  out(`${args.dryRun ? 'Plan' : 'Plan'} for ${action === 'undo' ? 'undo' : 'rollback'} to ${color.bold(plan.target)} (${plan.targetCommit.slice(0, 12)}, mode ${plan.mode}):`);
  for (const line of renderPlan(plan)) out(line);
  if (args.dryRun) print(color.dim('Dry run: nothing was changed.'));
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
  print(`${action === 'undo' ? 'Undone: back at' : 'Rolled back to'} ${color.bold(outcome.plan.target)} (${outcome.plan.targetCommit.slice(0, 12)}) in ${formatMs(outcome.ms)}.`);
  if (outcome.keptDatabases.length) print(`Previous databases kept as: ${outcome.keptDatabases.join(', ')} (remove with git rollback prune).`);
  print(`The state before is saved as ${outcome.plan.backupTag}; to go back: git rollback undo`);
}

async function resume(ctx: Context, args: Args, journal: JournalFile): Promise<void> {
  const j = await journal.read();
  if (!j) throw new NotFoundError('no interrupted rollback to continue or abort', 'git rollback status shows the current state');
  const points = await ctx.store.list();
  const backup = points.find((p) => p.tag === j.backup);
  if (!backup) throw new NotFoundError(`the journal's backup ${j.backup} does not exist`, `remove ${journal.path} after checking the repository by hand`);
  const targetTag = args.abort ? j.backup : j.target;
  const target = points.find((p) => p.tag === targetTag);
  if (!target) throw new NotFoundError(`the journal's target ${targetTag} does not exist`);
  await withLock(ctx, `git rollback to --${args.abort ? 'abort' : 'continue'}`, 0, async () => {
    const selection = parseSelection(args.abort ? [] : j.only, args.abort ? [] : j.skip, ctx.config.databases.map((d) => d.name));
    const request = { action: j.action, target, mode: args.abort ? ('exact' as Mode) : j.mode, selection, removeExtra: ctx.config.restore.removeExtra, reason: args.reason ?? null, only: j.only, skip: j.skip };
    const prepared = await prepareRollback(ctx, request, j.backup.slice(ctx.config.tags.backup.length));
    printPlan(prepared, args, j.action);
    if (args.dryRun) return;
    await confirmOrRefuse(`${args.abort ? 'Revert to' : 'Finish rollback to'} ${target.tag}?`, args.yes, args.abort ? 'abort' : 'continue');
    await journal.remove();
    const outcome = await executeRollback(ctx, prepared, await stepReporter(!!args.json), backup);
    report(outcome, args, args.abort ? 'undo' : j.action);
  });
}
