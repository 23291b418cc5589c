// git rollback to <point>: plan, show, confirm, then run the journaled job.
// --continue / --abort finish or put back a job that was interrupted.
import type { CommandModule } from 'yargs';
import type { Context } from '../../app/context.js';
import type { AbortOutcome, Prepared, RollbackOutcome } from '../../app/rollback.js';
import { JournalFile } from '../../adapters/journal.js';
import { formatMs } from '../../core/duration.js';
import { InterruptedJobError, UsageError, withOutcome } from '../../core/errors.js';
import { joined, localOr, msg, t } from '../../core/i18n.js';
import { noteDamaged } from '../../core/note-shape.js';
import { MODES, parseSelection, planToJSON, renderPlan, type Mode } from '../../core/plan.js';
import { resolvePoint } from '../../core/points.js';
import type { Point } from '../../core/types.js';
import { withConfigOfBackup } from '../../app/trust.js';
import { confirmOrRefuse, lockWait, open, reasonOption, waitOption, withLock, type GlobalArgs } from '../common.js';
import { color, info, print, printJSON, stepReporter, warn } from '../output.js';
import { pickPoint } from '../picker.js';
import { hanging, terminalWidth, width } from '../text.js';

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
  wait?: string;
  endSessions?: boolean;
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
      .option('wait', waitOption())
      .option('end-sessions', { type: 'boolean', describe: t('to.opt.endSessions') })
      .option('json', { type: 'boolean', describe: t('to.opt.json') })
      .parserConfiguration({ 'populate--': true })
      .conflicts('continue', 'abort')
      .example('$0 to release/v0.8.1 --dry-run', t('to.ex.dryRun'))
      .example('$0 to release/v0.8.1 --reason "支付接口超时"', t('to.ex.reason'))
      .example('$0 to latest --only config --yes', t('to.ex.only'))
      .example('$0 to 20250906-131058 --mode reset', t('to.ex.reset'))
      .example('$0 to --abort', t('to.ex.abort'))
      .example('$0 to', t('to.ex.pick')),
  handler: async (args) => {
    refusePaths(args);
    const ctx = await open(args);
    if (args.continue || args.abort) return resume(ctx, args);
    const points = await ctx.store.list();
    // ux: no point named: pick one on a terminal (src/cli/picker.ts); without one, the usual error.
    const target = args.point
      ? await resolvePoint(args.point, { points, prefixes: ctx.config.tags, commitOf: (r) => ctx.git.revParse(`${r}^{commit}`) })
      : await pickPoint(points, { title: t('picker.titleTo'), missing: msg('to.needPoint'), missingHint: msg('to.needPointHint') });
    // ux: end
    const mode = (args.mode as Mode | undefined) ?? (target.kind === 'backup' ? 'exact' : 'checkout');
    // A backup is restored with the config approved when it was made, if the working tree's is not approved.
    const used = target.kind === 'backup' ? await withConfigOfBackup(ctx, target) : ctx;
    if (used.trust.notice && !args.json) warn(used.trust.notice);
    await rollback(used, args, target, mode, 'rollback');
  },
};

/**
 * `to v0.8.1 -- src/app.js` is not a per-file restore: refuse it rather than
 * roll back everything while the user thinks only that file moves.
 */
function refusePaths(args: Args): void {
  const paths = args['--'] ?? [];
  if (paths.length) throw new UsageError(msg('to.noPaths', { paths: paths.join(' ') }), msg('to.noPathsHint', { point: args.point ?? '<point>', path: paths[0] as string }));
}

/** Refuses to start a job while another one waits in the journal (exit 9). */
export async function refuseIfInterrupted(ctx: Context): Promise<void> {
  const pending = await new JournalFile(ctx.stateDir).read();
  if (!pending) return;
  throw new InterruptedJobError(
    msg('to.interrupted', { action: pending.request.action, target: pending.request.target, started: pending.startedAt }),
    msg('to.interruptedHint'),
  );
}

/**
 * --end-sessions: MySQL/MariaDB databases end the sessions that hold locks on
 * their tables instead of waiting for them (databases.<name>.endSessions for
 * this run). Part of the config the journal freezes, so --continue keeps it.
 */
function withEndSessions(ctx: Context, on: boolean | undefined): Context {
  if (!on) return ctx;
  const databases = ctx.config.databases.map((d) => (d.engine === 'mysql' || d.engine === 'mariadb' ? { ...d, endSessions: true } : d));
  return { ...ctx, config: { ...ctx.config, databases } };
}

/** Shared by `to` and `undo`: plan, print, confirm, execute, report. */
export async function rollback(given: Context, args: Args, target: Point, mode: Mode, action: 'rollback' | 'undo', backupId?: string): Promise<void> {
  const ctx = withEndSessions(given, args.endSessions);
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
    dryRun: !!args.dryRun,
  };
  const run = async () => {
    if (!args.dryRun) await refuseIfInterrupted(ctx);
    // The step runner and its adapters load here, not at every command's start-up.
    const { executeRollback, prepareRollback } = await import('../../app/rollback.js');
    const damaged = noteDamaged(target);
    if (damaged) warn(damaged);
    // prepareRollback only reads: whatever stops it, nothing has changed yet.
    const prepared = await prepareRollback(ctx, request, backupId).catch((error: unknown) => {
      throw args.dryRun ? error : withOutcome(error, msg('rollback.stoppedInChecks'));
    });
    printPlan(prepared, args, action);
    if (args.dryRun) return;
    await confirmOrRefuse(msg(action === 'undo' ? 'to.confirmUndo' : 'to.confirm', { target: target.tag }), args.yes, msg(action === 'undo' ? 'what.undo' : 'what.rollBack'));
    const outcome = await withProgress(ctx, args, (reporter) => executeRollback(ctx, prepared, reporter));
    report(outcome, args);
  };
  if (args.dryRun) return run();
  await withLock(ctx, `git rollback ${action === 'undo' ? 'undo' : `to ${target.tag}`}`, lockWait(args), run);
}

/** Runs a job with progress on stderr: steps in the user's language, bytes/s and ETA for long dumps and restores. */
async function withProgress<T>(ctx: Context, args: Args, run: (reporter: Awaited<ReturnType<typeof stepReporter>>) => Promise<T>): Promise<T> {
  const reporter = await stepReporter(!!args.json);
  ctx.onTransfer = (x) => reporter.transfer(x);
  try {
    return await run(reporter);
  } finally {
    ctx.onTransfer = null;
    reporter.stop();
  }
}

function printPlan(prepared: Prepared, args: Args, action: string): void {
  const { plan } = prepared;
  if (args.json) {
    if (args.dryRun) printJSON({ dryRun: true, ...(planToJSON(plan) as object) });
    return;
  }
  const out = args.dryRun ? print : info;
  // On a terminal (or with $COLUMNS) long lines wrap at words, under their own indent; a pipe gets them whole.
  const w = terminalWidth(args.dryRun ? process.stdout : process.stderr);
  const header = t(action === 'undo' ? 'to.planUndo' : 'to.plan', { target: color.bold(plan.target), commit: plan.targetCommit.slice(0, 12), mode: plan.mode });
  out(w ? fitLine(header, w) : header);
  for (const line of renderPlan(plan)) out(w ? fitLine(line, w) : line);
  if (args.dryRun) print(color.dim(t('out.dryRun')));
}

/** A plan line wrapped to `w` columns, continuation lines indented as far as its text starts. */
function fitLine(line: string, w: number): string {
  if (width(line) <= w) return line;
  const indent = /^ *(?:\d+\. )?(?:[~+=-] )?/.exec(line)?.[0].length ?? 0;
  return line.slice(0, indent) + hanging(line.slice(indent), w, indent);
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
  // The result, like the plan, wraps at words on a terminal (a pipe gets whole lines).
  const w = terminalWidth(process.stdout);
  const say = (line: string) => print(w ? fitLine(line, w) : line);
  say(t(outcome.action === 'undo' ? 'to.undone' : 'to.done', { target: color.bold(outcome.target), commit: outcome.targetCommit.slice(0, 12), time: formatMs(outcome.ms) }));
  if (outcome.keptDatabases.length) say(t('to.kept', { names: outcome.keptDatabases.join(', ') }));
  say(t('to.savedAs', { backup: outcome.backup }));
}

function reportAbort(outcome: AbortOutcome, args: Args): void {
  if (args.json) return printJSON({ ok: true, aborted: true, alreadyDone: outcome.alreadyDone, target: outcome.target, checked: outcome.checked, ms: outcome.ms });
  if (outcome.alreadyDone) {
    print(t('to.abortDone', { target: color.bold(outcome.target) }));
    print(t('to.abortDoneHint', { backup: outcome.backup }));
    return;
  }
  print(t('to.aborted', { target: color.bold(outcome.target), time: formatMs(outcome.ms) }));
  if (outcome.checkedLocal.length) print(color.dim(t('to.checked', { what: joined(outcome.checkedLocal) })));
}

async function resume(ctx: Context, args: Args): Promise<void> {
  const how = args.abort ? 'abort' : 'continue';
  const journal = await new JournalFile(ctx.stateDir).read();
  if (journal && !args.json) {
    const out = args.dryRun ? print : info;
    out(t(how === 'abort' ? 'to.resumeAbort' : 'to.resumeContinue', { action: journal.request.action, target: color.bold(journal.request.target), started: journal.startedAt }));
    journal.steps.forEach((s, i) => out(`${String(i + 1).padStart(2)}. [${t(`step.state.${s.state}`)}] ${localOr(s.local, s.title)}`));
    if (args.dryRun) print(color.dim(t('out.dryRun')));
  }
  if (args.dryRun) return;
  await withLock(ctx, `git rollback to --${how}`, lockWait(args), async () => {
    if (journal) {
      await confirmOrRefuse(msg(how === 'abort' ? 'to.confirmAbort' : 'to.confirmContinue', { target: journal.request.target }), args.yes, msg(how === 'abort' ? 'what.abort' : 'what.continue'));
    }
    const { resumeRollback } = await import('../../app/rollback.js');
    const outcome = await withProgress(ctx, args, (reporter) => resumeRollback(ctx, how, reporter));
    if ('aborted' in outcome) reportAbort(outcome, args);
    else report(outcome, args);
  });
}
