// Pieces every command shares: opening the context, the lock, and the
// confirmation rule for destructive actions (TTY prompt, or --yes).
import { openContext, type Context, type OpenOptions } from '../app/context.js';
import { parseDuration } from '../core/duration.js';
import { CancelledError, ConflictError, UsageError } from '../core/errors.js';
import { msg, parseLang, setLang, t, type Msg } from '../core/i18n.js';
import { canPrompt, confirm, info } from './output.js';

export interface GlobalArgs {
  config?: string;
  verbose?: boolean;
  json?: boolean;
  quiet?: boolean;
  lang?: string;
  /** security: --trust approves the config as it is (CI). */
  trust?: boolean;
}

let langFromFlag = false;

/** main.ts says whether --lang was given: it wins over the config's `lang`. */
export function setLangFromFlag(given: boolean): void {
  langFromFlag = given;
}

export async function open(args: GlobalArgs, options: OpenOptions = {}): Promise<Context> {
  const ctx = await openContext({ ...options, ...(args.config ? { configFile: args.config } : {}), ...(args.trust ? { trust: true } : {}) });
  const configured = parseLang(ctx.config.lang);
  if (!langFromFlag && configured) setLang(configured);
  return ctx;
}

/** Runs `fn` holding the repository lock, waiting up to `waitMs` for it (and saying so). */
export async function withLock<T>(ctx: Context, command: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  await ctx.lock.acquire(command, waitMs, (holder) => info(t('common.waitingForLock', { holder, seconds: Math.round(waitMs / 1000) })));
  try {
    return await fn();
  } finally {
    await ctx.lock.release();
  }
}

/** Asks on a terminal; without one, refuses unless --yes was given. `what` names the action ("roll back"). */
export async function confirmOrRefuse(question: string | Msg, yes: boolean | undefined, what: Msg): Promise<void> {
  if (yes) return;
  if (!canPrompt()) throw new ConflictError(msg('common.noTerminal', { what }), msg('common.noTerminalHint'));
  if (!(await confirm(typeof question === 'string' ? question : t(question.key, question.params)))) throw new CancelledError(msg('common.cancelled'));
}

export const reasonOption = () => ({
  type: 'string' as const,
  describe: t('opt.reason'),
});

export const waitOption = () => ({
  type: 'string' as const,
  describe: t('opt.wait'),
});

/** The lock wait a command asked for with --wait (default: none, fail at once). */
export function lockWait(args: { wait?: string }, fallbackMs = 0): number {
  if (args.wait === undefined) return fallbackMs;
  const ms = parseDuration(args.wait);
  if (ms === null) throw new UsageError(msg('common.badWait', { value: args.wait }));
  return ms;
}
