// Runs external programs. All process spawning goes through here so that
// errors become ExternalToolError with secrets redacted, and a missing
// program names the Debian package that provides it.
import { execa, type Options, type ResultPromise } from 'execa';
import { ExternalToolError, redact } from '../core/errors.js';

// missingTool lives in tools.ts, which does not load execa: git.ts needs it on
// every command's start-up path, execa only commands that run other tools.
import { missingTool, OWN_GROUP } from './tools.js';

export { missingTool, OWN_GROUP };

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}


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
