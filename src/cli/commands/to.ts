// git rollback to <point>: plan, show, confirm, then run the journaled job.
// --continue / --abort finish or revert a job that was interrupted.
import type { CommandModule } from 'yargs';
import type { Context } from '../../app/context.js';
import { executeRollback, prepareRollback, resumeRollback, type AbortOutcome, type Prepared, type RollbackOutcome } from '../../app/rollback.js';
import { JournalFile } from '../../adapters/journal.js';
import { formatMs } from '../../core/duration.js';
import { InterruptedJobError, UsageError } from '../../core/errors.js';
import { MODES, parseSelection, planToJSON, renderPlan, type Mode } from '../../core/plan.js';
import { resolvePoint } from '../../core/points.js';
import type { Point } from '../../core/types.js';
import { confirmOrRefuse, lockWait, open, reasonOption, waitOption, withLock, type GlobalArgs } from '../common.js';
import { color, info, print, printJSON, stepReporter } from '../output.js';

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
  wait?: string;
  '--'?: string[];
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
      .option('drop-old', { type: 'boolean', describe: 'Drop the previous database copies after success instead of keeping them for a fast undo (default: restore.dropOld)' })
      .option('reason', reasonOption)
      .option('continue', { type: 'boolean', describe: 'Finish an interrupted rollback from the step where it stopped' })
      .option('abort', { type: 'boolean', describe: 'Put back everything an interrupted rollback changed' })
      .option('wait', waitOption)
      .option('json', { type: 'boolean', describe: 'Print the plan (with --dry-run) or the result as JSON' })
      .parserConfiguration({ 'populate--': true })
      .conflicts('continue', 'abort')
      .example('$0 to release/v0.8.1 --dry-run', 'see the plan, change nothing')
      .example('$0 to release/v0.8.1 --reason "支付接口超时"', 'roll back, after confirming')
      .example('$0 to latest --only config --yes', 'only config files, no prompt')
      .example('$0 to --abort', 'put back an interrupted rollback'),
  handler: async (args) => {
    if (args['--']?.length) {
      throw new UsageError(`to restores whole points; it does not take paths (${args['--'].join(' ')})`, 'to look at one file of a point: git show <point>:<path>; to restore only config files: --only config');
    }
    const ctx = await open(args);
    if (args.continue || args.abort) return resume(ctx, args);
    if (!args.point) throw new UsageError('name the point to roll back to', 'git rollback list shows them; e.g. git rollback to latest --dry-run');
    const points = await ctx.store.list();
    const target = await resolvePoint(args.point, { points, prefixes: ctx.config.tags, commitOf: (r) => ctx.git.revParse(`${r}^{commit}`) });
    const mode = (args.mode as Mode | undefined) ?? (target.kind === 'backup' ? 'exact' : 'checkout');
    await rollback(ctx, args, target, mode, 'rollback');
  },
};

/** Refuses to start a job while another one waits in the journal. */
export async function refuseIfInterrupted(ctx: Context): Promise<void> {
  const pending = await new JournalFile(ctx.stateDir).read();
  if (!pending) return;
  throw new InterruptedJobError(
    `a ${pending.request.action} to ${pending.request.target} was interrupted (started ${pending.startedAt}${pending.error ? `; ${pending.error}` : ''})`,
    'finish it with git rollback to --continue, or put everything back with git rollback to --abort (git rollback status shows where things are)',
  );
}

/** Shared by `to` and `undo`: plan, print, confirm, execute, report. */
export async function rollback(ctx: Context, args: Args, target: Point, mode: Mode, action: 'rollback' | 'undo', backupId?: string): Promise<void> {
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
    if (!args.dryRun) await refuseIfInterrupted(ctx);
    const prepared = await prepareRollback(ctx, request, backupId);
    printPlan(prepared, args, action);
    if (args.dryRun) return;
    await confirmOrRefuse(`${action === 'undo' ? 'Undo' : 'Roll back'} to ${target.tag}?`, args.yes, action === 'undo' ? 'undo' : 'roll back');
    const outcome = await executeRollback(ctx, prepared, await stepReporter(!!args.json));
    report(outcome, args);
  };
  if (args.dryRun) return run();
  await withLock(ctx, `git rollback ${action === 'undo' ? 'undo' : `to ${target.tag}`}`, lockWait(args), run);
}

function printPlan(prepared: Prepared, args: Args, action: string): void {
  const { plan } = prepared;
  if (args.json) {
    if (args.dryRun) printJSON({ dryRun: true, ...(planToJSON(plan) as object) });
    return;
  }
  const out = args.dryRun ? print : info;
  out(`Plan for ${action === 'undo' ? 'undo' : 'rollback'} to ${color.bold(plan.target)} (${plan.targetCommit.slice(0, 12)}, mode ${plan.mode}):`);
  for (const line of renderPlan(plan)) out(line);
  if (args.dryRun) print(color.dim('Dry run: nothing was changed.'));
}

function report(outcome: RollbackOutcome, args: Args): void {
  if (args.json) {
    return printJSON({
      ok: true,
      action: outcome.action,
      target: outcome.target,
      commit: outcome.targetCommit,
      backup: outcome.backup,
      mode: outcome.mode,
      ms: outcome.ms,
      steps: outcome.steps.map((s) => ({ id: s.id, kind: s.kind, title: s.title, ms: s.ms ?? 0, state: s.state })),
      health: outcome.health,
      keptDatabases: outcome.keptDatabases,
    });
  }
  print(`${outcome.action === 'undo' ? 'Undone: back at' : 'Rolled back to'} ${color.bold(outcome.target)} (${outcome.targetCommit.slice(0, 12)}) in ${formatMs(outcome.ms)}.`);
  if (outcome.keptDatabases.length) print(`Previous databases kept as: ${outcome.keptDatabases.join(', ')} (a fast undo uses them; git rollback prune removes them).`);
  print(`The state before is saved as ${outcome.backup}; to go back: git rollback undo`);
}

function reportAbort(outcome: AbortOutcome, args: Args): void {
  if (args.json) return printJSON({ ok: true, aborted: true, alreadyDone: outcome.alreadyDone, target: outcome.target, checked: outcome.checked, ms: outcome.ms });
  if (outcome.alreadyDone) {
    print(`The rollback to ${color.bold(outcome.target)} had already gone through; only its clean-up was left, and is done.`);
    print(`To go back to the state before it: git rollback undo (returns to ${outcome.backup})`);
    return;
  }
  print(`Aborted: the rollback to ${color.bold(outcome.target)} was put back in ${formatMs(outcome.ms)}; nothing it changed remains.`);
  if (outcome.checked.length) print(color.dim(`Checked: ${outcome.checked.join(', ')}`));
}

async function resume(ctx: Context, args: Args): Promise<void> {
  const how = args.abort ? 'abort' : 'continue';
  const journal = await new JournalFile(ctx.stateDir).read();
  if (journal && !args.json) {
    info(`${how === 'abort' ? 'Putting back' : 'Finishing'} the ${journal.request.action} to ${color.bold(journal.request.target)} started ${journal.startedAt}:`);
    journal.steps.forEach((s, i) => info(`${String(i + 1).padStart(2)}. [${s.state}] ${s.title}`));
  }
  if (args.dryRun) return;
  await withLock(ctx, `git rollback to --${how}`, lockWait(args), async () => {
    if (journal) await confirmOrRefuse(how === 'abort' ? `Put back the ${journal.request.action} to ${journal.request.target}?` : `Finish the ${journal.request.action} to ${journal.request.target}?`, args.yes, how);
    const outcome = await resumeRollback(ctx, how, await stepReporter(!!args.json));
    if ('aborted' in outcome) reportAbort(outcome, args);
    else report(outcome, args);
  });
}
