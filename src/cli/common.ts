// Pieces every command shares: opening the context, the lock, and the
// confirmation rule for destructive actions (TTY prompt, or --yes).
import { openContext, type Context, type OpenOptions } from '../app/context.js';
import { CancelledError, ConflictError } from '../core/errors.js';
import { msg, parseLang, setLang, t, type Msg } from '../core/i18n.js';
import { canPrompt, confirm } from './output.js';

export interface GlobalArgs {
  config?: string;
  verbose?: boolean;
  json?: boolean;
  quiet?: boolean;
  lang?: string;
}

let langFromFlag = false;

/** main.ts says whether --lang was given: it wins over the config's `lang`. */
export function setLangFromFlag(given: boolean): void {
  langFromFlag = given;
}

export async function open(args: GlobalArgs, options: OpenOptions = {}): Promise<Context> {
  const ctx = await openContext({ ...options, ...(args.config ? { configFile: args.config } : {}) });
  const configured = parseLang(ctx.config.lang);
  if (!langFromFlag && configured) setLang(configured);
  return ctx;
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
