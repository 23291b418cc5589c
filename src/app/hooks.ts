// Runs the config's hooks (shell commands) with the facts of the moment in
// their environment. One runner for every hook, so each gets the same base
// variables: ROLLBACK_HOOK (its name) and ROLLBACK_REPO (the repository root).
import type { Config, HookName } from '../core/config.js';
import { errorMsg, RollbackError } from '../core/errors.js';
import { msg, type Msg } from '../core/i18n.js';
import type { Context } from './context.js';

/**
 * Runs hook `name` if it is configured; false when it is not. Throws
 * RollbackError naming the hook when it fails. `hooks` defaults to the
 * config's; a rollback passes the hooks its journal froze when it started, so
 * --continue/--abort never run hooks a checkout brought in.
 */
export async function runHook(ctx: Context, name: HookName, env: Record<string, string>, stdin?: string, hooks: Config['hooks'] = ctx.config.hooks): Promise<boolean> {
  const command = hooks[name];
  if (!command) return false;
  const { execa } = await import('execa');
  const r = await execa('sh', ['-c', command], {
    cwd: ctx.repo.root,
    reject: false,
    all: true,
    // A hook is an atomic step: a Ctrl-C on the terminal must not kill it half-way.
    detached: true,
    env: { ROLLBACK_HOOK: name, ROLLBACK_REPO: ctx.repo.root, ...env },
    ...(stdin !== undefined ? { input: stdin } : { stdin: 'ignore' as const }),
  });
  if (r.exitCode !== 0) {
    const output = String(r.all ?? '').trim().split('\n').slice(-3).join(' | ');
    throw new RollbackError(msg('hook.failed', { name, command, code: r.exitCode ?? 'signal', output }));
  }
  return true;
}

/** What onFailure is told about a failed rollback, undo, abort or deploy. */
export interface Failure {
  action: 'rollback' | 'undo' | 'abort' | 'continue' | 'deploy';
  /** Tag of the point rolled back to (the deploy point for a deploy). */
  target: string | null;
  /** The automatic backup of the state before, if one was made. */
  backup: string | null;
  /** 'reverted': everything was put back (exit 7); 'cancelled': interrupted and put back (130); 'failed': not all of it (exit 8 or 9, journal kept). */
  outcome: 'reverted' | 'cancelled' | 'failed';
  exitCode: number;
  /** One line, English, secrets removed (as in the event log). */
  error: string;
  reason: string | null;
  /** The event as logged (refs/rollback/log), sent as JSON on stdin. */
  event?: unknown;
}

/**
 * Runs hooks.onFailure once the state after a failure is known. Never throws:
 * the failure being reported matters more than the hook's own; a failing hook
 * is returned as a warning for the caller to show.
 */
export async function runFailureHook(ctx: Context, f: Failure, hooks: Config['hooks'] = ctx.config.hooks): Promise<string | Msg | null> {
  try {
    await runHook(
      ctx,
      'onFailure',
      {
        ROLLBACK_ACTION: f.action,
        ROLLBACK_TARGET: f.target ?? '',
        ROLLBACK_BACKUP: f.backup ?? '',
        ROLLBACK_OUTCOME: f.outcome,
        ROLLBACK_EXIT_CODE: String(f.exitCode),
        ROLLBACK_ERROR: f.error.split('\n')[0] ?? '',
        ROLLBACK_REASON: f.reason ?? '',
      },
      JSON.stringify(f.event ?? { type: f.action, target: f.target, backup: f.backup, outcome: f.outcome, error: f.error, reason: f.reason }) + '\n',
      hooks,
    );
    return null;
  } catch (error) {
    return errorMsg(error);
  }
}
