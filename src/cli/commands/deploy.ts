// git rollback deploy -- <command…>: a guarded deploy. Makes a deploy/<id>
// point, runs the command, checks health, and rolls everything back to the
// point automatically when the command or the health check fails.
import type { CommandModule } from 'yargs';
import { makePoint } from '../../app/points.js';
import { executeRollback, prepareRollback } from '../../app/rollback.js';
import { checkHealth } from '../../adapters/health.js';
import { formatMs } from '../../core/duration.js';
import { RollbackError, RolledBackError, UsageError } from '../../core/errors.js';
import { parseSelection } from '../../core/plan.js';
import { open, reasonOption, withLock, type GlobalArgs, lockWait, waitOption } from '../common.js';
import { color, info, print, printJSON, stepReporter } from '../output.js';

interface Args extends GlobalArgs {
  command?: string[];
  name?: string;
  reason?: string;
  wait?: string;
  rollback?: boolean;
}

export const deployCommand: CommandModule<object, Args> = {
  command: 'deploy [command..]',
  describe: 'Guarded deploy: make a deploy point, run the command, check health, and roll back automatically if either fails',
  builder: (y) =>
    y
      .positional('command', { type: 'string', array: true, describe: 'The deploy command, after --' })
      .option('name', { type: 'string', describe: 'Readable id for the deploy point (deploy/<name>)' })
      .option('rollback', { type: 'boolean', default: true, describe: 'Roll back automatically on failure (--no-rollback: only report)' })
      .option('reason', reasonOption)
      .option('wait', waitOption)
      .option('json', { type: 'boolean', describe: 'Print the result as JSON' })
      .parserConfiguration({ 'populate--': true })
      .example('$0 deploy -- ./deploy.sh production', 'deploy; roll back code, config and databases if it fails')
      .example('$0 deploy --name v0.9.0 -- make migrate restart', 'with a readable point id'),
  handler: async (args) => {
    const argv = args as Args & { '--'?: string[] };
    const command = [...(args.command ?? []), ...(argv['--'] ?? [])].map(String);
    if (command.length === 0) throw new UsageError('name the deploy command after --', 'e.g. git rollback deploy -- ./deploy.sh');
    const ctx = await open(args);
    await withLock(ctx, 'git rollback deploy', lockWait(args, 0), async () => {
      const started = Date.now();
      const shown = command.join(' ');
      const made = await makePoint(ctx, {
        kind: 'deploy',
        description: args.reason ?? `deploy: ${shown}`,
        ...(args.name !== undefined ? { name: args.name } : {}),
        includeUntracked: true,
        silent: true,
      });
      info(`Made ${color.bold(made.point.tag, process.stderr)}; running: ${shown}`);
      const { execa } = await import('execa');
      const run = await execa(command[0] as string, command.slice(1), { cwd: ctx.repo.root, stdio: 'inherit', reject: false, shell: command.length === 1 });
      let failure: string | null = run.exitCode === 0 ? null : `\`${shown}\` exited ${run.exitCode ?? 'on a signal'}`;
      let health: { ok: boolean; detail: string } | null = null;
      if (!failure && ctx.config.health) {
        const h = await checkHealth(ctx.config.health, ctx.repo.root);
        health = { ok: h.ok, detail: h.detail };
        if (!h.ok) failure = `health check failed after ${h.attempts} attempt${h.attempts === 1 ? '' : 's'}: ${h.detail}`;
      }
      const base = { type: 'deploy' as const, target: made.point.tag, reason: args.reason ?? null, command: shown, health };
      if (!failure) {
        await ctx.log.append({ ...base, outcome: 'ok', ms: Date.now() - started });
        if (args.json) return printJSON({ ok: true, point: made.point.tag, ms: Date.now() - started });
        return print(`Deployed in ${formatMs(Date.now() - started)}. To go back: git rollback to ${made.point.tag}`);
      }
      if (args.rollback === false) {
        await ctx.log.append({ ...base, outcome: 'failed', ms: Date.now() - started, error: failure });
        throw new RollbackError(`deploy failed: ${failure}`, `roll back with: git rollback to ${made.point.tag}`);
      }
      info(`${color.red('Deploy failed', process.stderr)}: ${failure}. Rolling back to ${made.point.tag}…`);
      const selection = parseSelection(undefined, undefined, ctx.config.databases.map((d) => d.name));
      const prepared = await prepareRollback(ctx, {
        action: 'rollback',
        target: made.point,
        mode: 'exact',
        selection,
        removeExtra: true,
        dropOld: ctx.config.restore.dropOld,
        reason: `deploy failed: ${failure}`,
        only: [],
        skip: [],
        deploy: { point: made.point.tag, failure },
      });
      const outcome = await executeRollback(ctx, prepared, await stepReporter(!!args.json));
      await ctx.log.append({ ...base, outcome: 'reverted', ms: Date.now() - started, error: failure, rollback: outcome.backup });
      throw new RolledBackError(`deploy failed (${failure}) and was rolled back to ${made.point.tag} in ${formatMs(outcome.ms)}`, `the failed state is kept as ${outcome.backup}; inspect it with git rollback show ${outcome.backup}`);
    });
  },
};
