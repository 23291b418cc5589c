// git rollback deploy -- <command…>: a guarded deploy. Makes a deploy/<id>
// point, runs the command, checks health, and rolls everything back to the
// point automatically when the command or the health check fails.
import type { CommandModule } from 'yargs';
import { makePoint } from '../../app/points.js';
import { checkHealth } from '../../adapters/health.js';
import { formatMs } from '../../core/duration.js';
import { CorruptSnapshotError, CriticalError, RollbackError, RolledBackError, UsageError, errorMsg } from '../../core/errors.js';
import { parseSelection } from '../../core/plan.js';
import { en, msg, t, type Msg } from '../../core/i18n.js';
import { type GlobalArgs, lockWait, open, reasonOption, waitOption, withLock } from '../common.js';
import { color, info, print, printJSON, stepReporter } from '../output.js';

interface Args extends GlobalArgs {
  command?: string[];
  name?: string;
  reason?: string;
  rollback?: boolean;
  wait?: string;
}

export const deployCommand: CommandModule<object, Args> = {
  command: 'deploy [command..]',
  get describe() {
    return t('cmd.deploy');
  },
  builder: (y) =>
    y
      .positional('command', { type: 'string', array: true, describe: t('deploy.opt.command') })
      .option('name', { type: 'string', describe: t('deploy.opt.name') })
      .option('rollback', { type: 'boolean', default: true, describe: t('deploy.opt.rollback') })
      .option('reason', reasonOption())
      .option('wait', waitOption())
      .option('json', { type: 'boolean', describe: t('deploy.opt.json') })
      .parserConfiguration({ 'populate--': true })
      .example('$0 deploy -- ./deploy.sh production', t('deploy.ex.deploy'))
      .example('$0 deploy --name v0.9.0 -- make migrate restart', t('deploy.ex.name')),
  handler: async (args) => {
    const argv = args as Args & { '--'?: string[] };
    const command = [...(args.command ?? []), ...(argv['--'] ?? [])].map(String);
    if (command.length === 0) throw new UsageError(msg('deploy.needCommand'), msg('deploy.needCommandHint'));
    const ctx = await open(args);
    await withLock(ctx, 'git rollback deploy', lockWait(args), async () => {
      const started = Date.now();
      const shown = command.join(' ');
      const made = await makePoint(ctx, {
        kind: 'deploy',
        description: args.reason ?? `deploy: ${shown}`,
        ...(args.name !== undefined ? { name: args.name } : {}),
        includeUntracked: true,
        silent: true,
      });
      info(t('deploy.running', { tag: color.bold(made.point.tag, process.stderr), command: shown }));
      const { execa } = await import('execa');
      const run = await execa(command[0] as string, command.slice(1), { cwd: ctx.repo.root, stdio: 'inherit', reject: false, shell: command.length === 1 });
      // A message, so the log gets English and the terminal the user's language.
      let failure: Msg | null = run.exitCode === 0 ? null : msg('deploy.exited', { command: shown, code: run.exitCode ?? 'signal' });
      let health: { ok: boolean; detail: string } | null = null;
      if (!failure && ctx.config.health) {
        const h = await checkHealth(ctx.config.health, ctx.repo.root);
        health = { ok: h.ok, detail: h.detail };
        if (!h.ok) failure = msg('deploy.healthFailed', { n: h.attempts, detail: h.local });
      }
      const base = { type: 'deploy' as const, target: made.point.tag, reason: args.reason ?? null, command: shown, health };
      if (!failure) {
        await ctx.log.append({ ...base, outcome: 'ok', ms: Date.now() - started });
        if (args.json) return printJSON({ ok: true, point: made.point.tag, ms: Date.now() - started });
        return print(t('deploy.done', { time: formatMs(Date.now() - started), tag: made.point.tag }));
      }
      if (args.rollback === false) {
        await ctx.log.append({ ...base, outcome: 'failed', ms: Date.now() - started, error: en(failure.key, failure.params) });
        throw new RollbackError(msg('deploy.failed', { failure }), msg('deploy.failedHint', { tag: made.point.tag }));
      }
      info(t('deploy.rollingBack', { failed: color.red(t('deploy.failedWord'), process.stderr), failure, tag: made.point.tag }));
      const selection = parseSelection(undefined, undefined, ctx.config.databases.map((d) => d.name));
      const { executeRollback, prepareRollback } = await import('../../app/rollback.js');
      // The deploy command ran: if the rollback cannot start, or fails and is put
      // back, the deployed state is what runs — say so (exit 8), never "rolled back".
      const logFailed = () => ctx.log.append({ ...base, outcome: 'failed', ms: Date.now() - started, error: en(failure.key, failure.params) }).catch(() => undefined);
      const prepared = await prepareRollback(ctx, {
        action: 'rollback',
        target: made.point,
        mode: 'exact',
        selection,
        removeExtra: true,
        dropOld: ctx.config.restore.dropOld,
        reason: en('deploy.failed', { failure }),
        only: [],
        skip: [],
        deploy: { point: made.point.tag, failure: en(failure.key, failure.params) },
      }).catch(async (error: unknown) => {
        await logFailed();
        const cause = error instanceof RollbackError ? (error.hintMsg ?? error.hint) : undefined;
        throw new CriticalError(
          msg('deploy.rollbackNotStarted', { failure, tag: made.point.tag, error: errorMsg(error) }),
          msg('deploy.rollbackNotStartedHint', { tag: made.point.tag, cause: cause ? msg('deploy.causeHint', { hint: cause }) : '' }),
        );
      });
      const reporter = await stepReporter(!!args.json);
      ctx.onTransfer = (x) => reporter.transfer(x);
      const outcome = await executeRollback(ctx, prepared, reporter)
        .catch(async (error: unknown) => {
          await logFailed();
          // Put back and checked: the deployed state is live again. Other outcomes (130, 8, 9) keep their own code.
          if (!(error instanceof RolledBackError || error instanceof CorruptSnapshotError)) throw error;
          throw new CriticalError(msg('deploy.rollbackFailed', { failure, tag: made.point.tag, error: errorMsg(error.cause ?? error) }), msg('deploy.rollbackFailedHint', { checked: error.hintMsg ?? error.hint ?? '', tag: made.point.tag }));
        })
        .finally(() => {
          ctx.onTransfer = null;
          reporter.stop();
        });
      await ctx.log.append({ ...base, outcome: 'reverted', ms: Date.now() - started, error: en(failure.key, failure.params), rollback: outcome.backup });
      throw new RolledBackError(msg('deploy.rolledBack', { failure, tag: made.point.tag, time: formatMs(outcome.ms) }), msg('deploy.rolledBackHint', { backup: outcome.backup }));
    });
  },
};
