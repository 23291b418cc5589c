// Runs external programs. All process spawning goes through here so that
// errors become ExternalToolError with secrets redacted, and a missing
// program names the Debian package that provides it.
//
// Built on node:child_process, not execa: execa's import costs ~40 ms of a
// cold start and each call a few more, and a MariaDB point runs its client
// tools through here (docs/decisions.md, "Programs are spawned without
// execa"). What callers relied on from execa is kept: the environment is
// added to ours, a program missing from PATH names its package, stdin is
// closed when there is no input, `cancelSignal` stops the program.
import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { ExternalToolError, redact } from '../core/errors.js';

// missingTool lives in tools.ts: git.ts needs it on every command's start-up path.
import { missingTool, OWN_GROUP } from './tools.js';

export { missingTool, OWN_GROUP };

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  cwd?: string | undefined;
  /** Added to the inherited environment (passwords go here, never in argv). */
  env?: NodeJS.ProcessEnv | undefined;
  /** Written to stdin, which is then closed (without it stdin is closed at once). */
  input?: string | Buffer | undefined;
  /** false: a non-zero exit is returned, not thrown. */
  reject?: boolean | undefined;
  /** Aborting it stops the program (SIGTERM); its exit code is then that of the signal (non-zero). */
  cancelSignal?: AbortSignal | undefined;
}

/** A stopped program gets SIGKILL when SIGTERM did not end it within this time (as execa did). */
const FORCE_KILL_MS = 5_000;

/** Sends SIGTERM, then SIGKILL if the program is still there after FORCE_KILL_MS. */
export function terminate(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, FORCE_KILL_MS);
  timer.unref();
  child.once('exit', () => clearTimeout(timer));
}

/** Runs a program to completion, capturing text output. Throws on non-zero exit unless `reject: false`. */
export async function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const out = await new Promise<RunResult>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawnProcess(file, [...args], {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        stdio: ['pipe', 'pipe', 'pipe'],
        ...OWN_GROUP,
      });
    } catch (error) {
      reject((error as NodeJS.ErrnoException).code === 'ENOENT' ? missingTool(file) : error);
      return;
    }
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => stdout.push(d));
    child.stderr!.on('data', (d: Buffer) => stderr.push(d));
    const signal = options.cancelSignal;
    const onAbort = () => terminate(child);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', onAbort);
      reject(e.code === 'ENOENT' ? missingTool(file) : e);
    });
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      resolve({ stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), exitCode: code ?? 1 });
    });
    // A program may exit before reading all its input; the exit code tells.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input);
  });
  if (options.reject !== false && out.exitCode !== 0) {
    throw new ExternalToolError(file === 'git' ? `git ${args[0] ?? ''}`.trim() : file, out.exitCode, redact(out.stderr));
  }
  return out;
}

export interface SpawnOptions {
  cwd?: string | undefined;
  /** Added to the inherited environment. */
  env?: NodeJS.ProcessEnv | undefined;
  stdin?: 'pipe' | 'ignore' | number | undefined;
  stdout?: 'pipe' | 'ignore' | number | undefined;
}

/** Starts a program for streaming use (stderr always piped); the caller pipes and awaits it. */
export function spawn(file: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return spawnProcess(file, [...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: [options.stdin ?? 'pipe', options.stdout ?? 'pipe', 'pipe'],
    ...OWN_GROUP,
  });
}

/** True when `file` can be run (found on PATH). */
export async function hasTool(file: string, versionArgs: string[] = ['--version']): Promise<boolean> {
  try {
    await run(file, versionArgs, { reject: false });
    return true;
  } catch {
    return false;
  }
}
