// Long-running programs whose stdin/stdout we stream (git rev-list,
// cat-file --batch, pg_dump, pg_restore, …). Built on process.ts's spawn so
// a missing program still names its Debian package; adds what streaming use
// needs: a bounded stderr tail (a chatty tool cannot grow our heap) and one
// `wait()` that turns the exit into an ExternalToolError with that tail,
// secrets redacted.
import type { Readable, Writable } from 'node:stream';
import { ExternalToolError, redact, RollbackError } from '../core/errors.js';
import { missingTool, spawn, terminate } from './process.js';
import { msg, type Msg } from '../core/i18n.js';

/** Bytes of stderr kept for error messages: the end is where tools say why they failed. */
const STDERR_TAIL = 16 * 1024;

export interface Piped {
  readonly stdin: Writable;
  readonly stdout: Readable;
  /** The last bytes the program wrote on stderr, redacted. */
  stderr(): string;
  /** Resolves with the exit code (never rejects for a non-zero exit; rejects if the program is missing). */
  exit(): Promise<number>;
  /** Resolves when it exited 0; otherwise throws ExternalToolError with the stderr tail. */
  wait(hint?: string | Msg): Promise<void>;
  kill(): void;
}

export interface PipedOptions {
  cwd?: string;
  /** Added to the inherited environment (passwords go here, never in argv). */
  env?: NodeJS.ProcessEnv;
  /** A file descriptor or 'ignore' instead of a pipe for stdin / stdout. */
  stdin?: 'pipe' | 'ignore' | number;
  stdout?: 'pipe' | 'ignore' | number;
  /** Name shown in errors, e.g. "git cat-file" (defaults to the program). */
  label?: string | Msg;
}

export function startPiped(file: string, args: readonly string[], options: PipedOptions = {}): Piped {
  const label = options.label ?? file;
  const sub = spawn(file, args, { cwd: options.cwd, env: options.env, stdin: options.stdin ?? 'pipe', stdout: options.stdout ?? 'pipe' });

  let tail = '';
  sub.stderr!.setEncoding('utf8');
  sub.stderr!.on('data', (text: string) => {
    tail += text;
    if (tail.length > STDERR_TAIL * 2) tail = tail.slice(-STDERR_TAIL);
  });
  // A program that dies while we write to it raises EPIPE on stdin; the exit
  // code and stderr say why, so that is what we report (via exit/wait).
  sub.stdin?.on('error', () => {});
  sub.stdout?.on('error', () => {});

  // The exit code once the program exited and its stderr is read to the end
  // (the last lines are the ones that say why it failed). Not waiting for
  // stdout: the caller reads it, or has stopped reading it.
  const exited = new Promise<number>((resolve, reject) => {
    let code: number | null = null;
    let stderrDone = false;
    const settle = () => {
      if (code !== null && stderrDone) resolve(code);
    };
    sub.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? missingTool(file) : e));
    sub.once('exit', (c, signal) => {
      code = c ?? (signal ? 128 : 1);
      settle();
    });
    sub.stderr!.once('close', () => {
      stderrDone = true;
      settle();
    });
  });
  // Callers may never await exit() (e.g. after killing); do not let a
  // missing-tool rejection surface as an unhandled rejection.
  exited.catch(() => {});

  const piped: Piped = {
    stdin: sub.stdin as Writable,
    stdout: sub.stdout as Readable,
    stderr: () => redact(tail.length > STDERR_TAIL ? tail.slice(-STDERR_TAIL) : tail),
    exit: () => exited,
    async wait(hint?: string | Msg) {
      const code = await exited;
      if (code !== 0) throw new ExternalToolError(label, code, piped.stderr(), undefined, hint);
    },
    kill() {
      terminate(sub);
    },
  };
  return piped;
}

/** Waits until `stream` can take more data (after a write returned false), or fails if it closes first. */
export function drained(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error | null) => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (error: Error) => done(error);
    const onClose = () => done(new RollbackError(msg('stream.closed')));
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}
