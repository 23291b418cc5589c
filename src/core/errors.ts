// One error hierarchy for the whole tool. main.ts maps each class to a
// one-line message, an optional hint and a documented exit code (docs/exit-codes.md).
// A message or hint is English text, or a catalog message (core/i18n.ts) that
// main.ts shows in the user's language; Error.message is always English (logs, JSON).
import { en, localize, msg, type Msg } from './i18n.js';

export const ExitCode = {
  ok: 0,
  error: 1,
  usage: 2,
  notFound: 3,
  refused: 4,
  locked: 5,
  corrupt: 6,
  rolledBack: 7,
  critical: 8,
  interrupted: 9,
  cancelled: 130,
} as const;

export class RollbackError extends Error {
  exitCode: number = ExitCode.error;
  hint?: string;
  /** The catalog messages behind `message` and `hint`, when they came from the catalog. */
  msg?: Msg;
  hintMsg?: Msg;
  /** Set by aboutDatabase(): the database the error concerns. */
  database?: string;
  constructor(message: string | Msg, hint?: string | Msg) {
    super(typeof message === 'string' ? message : en(message.key, message.params));
    this.name = new.target.name;
    if (typeof message !== 'string') this.msg = message;
    if (typeof hint === 'string') this.hint = hint;
    else if (hint) {
      this.hintMsg = hint;
      this.hint = en(hint.key, hint.params);
    }
  }

  /** The message in the current language (English text when it has no catalog entry). */
  localMessage(): string {
    return localize(errorMsg(this));
  }

  localHint(): string | undefined {
    return this.hintMsg ? localize(this.hintMsg) : this.hint;
  }
}

/** Bad arguments or bad configuration: nothing was attempted. */
export class UsageError extends RollbackError {
  override exitCode: number = ExitCode.usage;
}

/** Invalid configuration file; names the file, the key and what is expected. */
export class ConfigError extends UsageError {}

/** A point, event or object that does not exist. */
export class NotFoundError extends RollbackError {
  override exitCode: number = ExitCode.notFound;
}

/** The action is refused as things are (exists, protected, dirty, needs --yes…). */
export class ConflictError extends RollbackError {
  override exitCode: number = ExitCode.refused;
}

/** Another git-rollback holds the repository lock. */
export class LockedError extends RollbackError {
  override exitCode: number = ExitCode.locked;
}

/** A stored snapshot object is missing or does not match its checksum. */
export class CorruptSnapshotError extends RollbackError {
  override exitCode: number = ExitCode.corrupt;
}

/** The user said no at a prompt, or interrupted. */
export class CancelledError extends RollbackError {
  override exitCode: number = ExitCode.cancelled;
}

/** A step failed and every earlier step was put back from the automatic backup. */
export class RolledBackError extends RollbackError {
  override exitCode: number = ExitCode.rolledBack;
}

/** A step failed and putting things back failed too: the journal says what to do. */
export class CriticalError extends RollbackError {
  override exitCode: number = ExitCode.critical;
}

/**
 * A rollback job is waiting in the journal: it stopped part-way (a second
 * interrupt), or another command found it. `to --continue` finishes it,
 * `to --abort` puts everything back.
 */
export class InterruptedJobError extends RollbackError {
  override exitCode: number = ExitCode.interrupted;
}

/** An external program (git, pg_dump, …) failed. stderr is kept, secrets redacted. */
export class ExternalToolError extends RollbackError {
  /** The program, in English ("pg_restore", "dump command of database main"). */
  readonly tool: string;
  constructor(
    /** A program name, or a catalog message naming a configured command. */
    tool: string | Msg,
    readonly exitCodeOfTool: number | undefined,
    readonly stderr: string,
    message?: string | Msg,
    hint?: string | Msg,
  ) {
    super(
      message ?? { key: exitCodeOfTool === undefined ? 'error.toolFailed' : 'error.toolFailedExit', params: { tool, code: exitCodeOfTool, stderr: firstLines(stderr) } },
      hint,
    );
    this.tool = typeof tool === 'string' ? tool : en(tool.key, tool.params);
  }
}

function firstLines(text: string, max = 3): string {
  const lines = text.trim().split('\n').filter(Boolean);
  const head = lines.slice(0, max).join(' | ');
  return lines.length > max ? `${head} | …` : head || 'no error output';
}

/**
 * An error's message as a catalog message (with the database it concerns,
 * when aboutDatabase() named one), to show inside another message in the
 * user's language; its English text when it has none (tool output, node's errors).
 */
export function errorMsg(error: unknown): string | Msg {
  if (error instanceof RollbackError && error.msg) {
    return error.database && error.message.startsWith(`database ${error.database}: `) ? msg('error.inDatabase', { name: error.database, text: error.msg }) : error.msg;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Says what a failed command left as it was ("no point was made", "nothing
 * changed: it stopped in the checks"), shown after the error's first line.
 * Set only where the command knows it: checked, or before anything could change.
 */
export function withOutcome<E>(error: E, outcome: Msg): E {
  if (error instanceof Error) (error as { outcome?: Msg }).outcome = outcome;
  return error;
}

export function outcomeOf(error: unknown): Msg | undefined {
  return error instanceof Error ? (error as { outcome?: Msg }).outcome : undefined;
}

/** Prefixes an error's message with the database it concerns, once. */
export function aboutDatabase(error: unknown, name: string): unknown {
  if (error instanceof Error && !error.message.includes(`database ${name}`)) {
    error.message = `database ${name}: ${error.message}`;
    if (error instanceof RollbackError) error.database = name;
  }
  return error;
}

/** Removes passwords from URLs and KEY=value secrets before text reaches output. */
export function redact(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@')
    // Not MySQL's "(using password: YES)": that says whether one was sent, it is not one.
    .replace(/(password[=:]\s*)(?!(?:YES|NO)\))\S+/gi, '$1***')
    .replace(/(PGPASSWORD|MYSQL_PWD|REDISCLI_AUTH)=\S+/g, '$1=***');
}
