// Pieces every command shares: opening the context, the lock, and the
// confirmation rule for destructive actions (TTY prompt, or --yes).
import { openContext, type Context, type OpenOptions } from '../app/context.js';
import { parseDuration } from '../core/duration.js';
import { CancelledError, ConflictError, UsageError } from '../core/errors.js';
import { canPrompt, confirm, info } from './output.js';

export interface GlobalArgs {
  config?: string;
  verbose?: boolean;
  json?: boolean;
}

export async function open(args: GlobalArgs, options: OpenOptions = {}): Promise<Context> {
  return openContext({ ...options, ...(args.config ? { configFile: args.config } : {}) });
}

/** Runs `fn` holding the repository lock, waiting up to `waitMs` for it (and saying so). */
export async function withLock<T>(ctx: Context, command: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  await ctx.lock.acquire(command, waitMs, (holder) => info(`waiting for the lock held by ${holder} (up to ${Math.round(waitMs / 1000)} s)…`));
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

export const waitOption = {
  type: 'string' as const,
  describe: 'Wait this long for another git-rollback to finish instead of failing at once, e.g. 30s or 5m',
};

/** The lock wait a command asked for with --wait (default: none, fail at once). */
export function lockWait(args: { wait?: string }, fallbackMs = 0): number {
  if (args.wait === undefined) return fallbackMs;
  const ms = parseDuration(args.wait);
  if (ms === null) throw new UsageError(`--wait ${args.wait}: expected a duration like 30s or 5m`);
  return ms;
}
