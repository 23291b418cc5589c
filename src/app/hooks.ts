// Runs the config's hooks (shell commands) with the facts of the moment in
// their environment. One runner for every hook, so each gets the same base
// variables: ROLLBACK_HOOK (its name) and ROLLBACK_REPO (the repository root).
import type { HookName } from '../core/config.js';
import { RollbackError } from '../core/errors.js';
import { msg } from '../core/i18n.js';
import type { Context } from './context.js';

/** Runs hook `name` if it is configured; false when it is not. Throws RollbackError naming the hook when it fails. */
export async function runHook(ctx: Context, name: HookName, env: Record<string, string>, stdin?: string): Promise<boolean> {
  const command = ctx.config.hooks[name];
  if (!command) return false;
  const { execa } = await import('execa');
  const r = await execa('sh', ['-c', command], {
    cwd: ctx.repo.root,
    reject: false,
    all: true,
    env: { ROLLBACK_HOOK: name, ROLLBACK_REPO: ctx.repo.root, ...env },
    ...(stdin !== undefined ? { input: stdin } : { stdin: 'ignore' as const }),
  });
  if (r.exitCode !== 0) {
    const output = String(r.all ?? '').trim().split('\n').slice(-3).join(' | ');
    throw new RollbackError(msg('hook.failed', { name, command, code: r.exitCode ?? 'signal', output }));
  }
  return true;
}
