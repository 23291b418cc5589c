// Runs external programs. All process spawning goes through here so that
// errors become ExternalToolError with secrets redacted, and a missing
// program names the Debian package that provides it.
import { execa, type Options, type ResultPromise } from 'execa';
import { ExternalToolError, RollbackError, redact } from '../core/errors.js';
import { msg } from '../core/i18n.js';

/** Debian packages for the client tools we call, for "not installed" hints. */
const PACKAGES: Record<string, string> = {
  git: 'git',
  sqlite3: 'sqlite3',
  pg_dump: 'postgresql-client',
  pg_restore: 'postgresql-client',
  psql: 'postgresql-client',
  createdb: 'postgresql-client',
  dropdb: 'postgresql-client',
  mysqldump: 'mariadb-client (or default-mysql-client)',
  'mariadb-dump': 'mariadb-client',
  mysql: 'mariadb-client (or default-mysql-client)',
  mariadb: 'mariadb-client',
  'redis-cli': 'redis-tools',
};

export function missingTool(tool: string): RollbackError {
  const pkg = PACKAGES[tool];
  return new RollbackError(msg('tool.missing', { tool }), pkg ? msg('tool.missingApt', { pkg }) : msg('tool.missingHint', { tool }));
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Every program runs in its own process group (`detached`): a Ctrl-C on the
 * terminal reaches git-rollback only, and the step runner decides what stops
 * (an atomic step finishes; a cancellable one kills its programs itself).
 * Otherwise a `git checkout` or a `psql` renaming databases would die
 * half-way through the very step that must finish.
 */
export const OWN_GROUP = { detached: true } as const;

/** Runs a program to completion, capturing text output. Throws on non-zero exit unless `reject: false`. */
export async function run(
  file: string,
  args: readonly string[],
  options: Options & { reject?: boolean } = {},
): Promise<RunResult> {
  try {
    const result = await execa(file, args, { stripFinalNewline: false, ...OWN_GROUP, ...options, reject: false });
    if ((result as { failed?: boolean }).failed && result.exitCode === undefined) {
      const cause = (result as { cause?: { code?: string } }).cause;
      if (cause?.code === 'ENOENT') throw missingTool(file);
    }
    const out: RunResult = {
      stdout: String(result.stdout ?? ''),
      stderr: String(result.stderr ?? ''),
      exitCode: result.exitCode ?? 1,
    };
    if (options.reject !== false && out.exitCode !== 0) {
      throw new ExternalToolError(file === 'git' ? `git ${args[0] ?? ''}`.trim() : file, out.exitCode, redact(out.stderr));
    }
    return out;
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') throw missingTool(file);
    throw error;
  }
}

/** Starts a program for streaming use; the caller pipes and awaits it. */
export function spawn(file: string, args: readonly string[], options: Options = {}): ResultPromise {
  return execa(file, args, { buffer: false, ...OWN_GROUP, ...options } as Options) as ResultPromise;
}

/** True when `file` can be run (found on PATH). */
export async function hasTool(file: string, versionArgs: string[] = ['--version']): Promise<boolean> {
  try {
    const r = await execa(file, versionArgs, { reject: false });
    return r.exitCode !== undefined;
  } catch {
    return false;
  }
}
