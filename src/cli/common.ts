// Pieces every command shares: opening the context, the lock, and the
// confirmation rule for destructive actions (TTY prompt, or --yes).
import { openContext, type Context, type OpenOptions } from '../app/context.js';
import { CancelledError, ConflictError } from '../core/errors.js';
import { canPrompt, confirm } from './output.js';

export interface GlobalArgs {
  config?: string;
  verbose?: boolean;
  json?: boolean;
  /** security: --trust approves the config as it is (CI). */
  trust?: boolean;
}

export async function open(args: GlobalArgs, options: OpenOptions = {}): Promise<Context> {
  return openContext({ ...options, ...(args.config ? { configFile: args.config } : {}), ...(args.trust ? { trust: true } : {}) });
}

/** Runs `fn` holding the repository lock. */
export async function withLock<T>(ctx: Context, command: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  await ctx.lock.acquire(command, waitMs);
  try {
    return await fn();
  } finally {
    await ctx.lock.release();
  }
}

/** Asks on a terminal; without one, refuses unless --yes was given. */
export async function confirmOrRefuse(question: string, yes: boolean | undefined, what: string): Promise<void> {
  if (yes) return;
  if (!canPrompt()) {
    throw new ConflictError(`refusing to ${what} without confirmation: no terminal to ask`, 'check the plan with --dry-run, then run again with --yes');
  }
  if (!(await confirm(question))) throw new CancelledError('cancelled; nothing was changed');
}

export const reasonOption = {
  type: 'string' as const,
  describe: 'Why (kept in the event log and the incident report)',
};
