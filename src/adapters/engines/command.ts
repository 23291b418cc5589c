// Any other engine (MongoDB, Neo4j, Docker volumes…) through two shell
// commands: `dump` writes the dump on stdout, `restore` reads it on stdin.
// They run in the repository root with the environment of git-rollback (so
// they can use $VARS for secrets), under `bash -o pipefail -c` when bash is
// installed: a pipeline (`mongodump --archive | gzip`) then fails when ANY of
// its stages fails, not only the last. Without bash, `sh -c` with
// `set -o pipefail` when that shell has it (dash, Debian's sh, does not: the
// plan and each dump then say that only the last stage's failure is seen).
//
// There is no temp + swap here: we cannot know how to restore "beside" an
// unknown engine. stage() only makes the dump safe to use (written to
// `.git/rollback/tmp/<database>.<job>.dump`, which completes the store's
// sha256 check before the restore command sees a byte); swap() runs the
// restore command; unswap() is impossible, so the runner stores the backup
// dump of this database before the swap (parks = false) and reverts a swap by
// restoring that dump under job `<job>_r`.
import { access, constants, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type {
  DatabaseConfig, DumpOutcome, Engine, EngineProbe, RestoreCheck, RestoreJob, RestoreStrategy, TempObject,
} from '../../core/engine.js';
import type { DatabaseEntry } from '../../core/types.js';
import { CancelledError, ConflictError, ExternalToolError, RollbackError } from '../../core/errors.js';
import { hasTool, run } from '../process.js';
import { startPiped } from '../piped.js';
import { materialize, safeJobId, streamToolInto, tidy, validateKeys, type EngineContext, inDb } from './common.js';
import { msg, type Msg } from '../../core/i18n.js';

export const COMMAND_FORMAT = 'command';

/** How commands are run: the program, its arguments before the command text, and whether pipefail is on. */
interface Shell {
  file: string;
  args: string[];
  prefix: string;
  pipefail: boolean;
  tool: string;
}

let shellFound: Promise<Shell> | undefined;

/** bash -o pipefail when there is bash; else sh, with pipefail only if that sh has it. Found once per process. */
export function findShell(): Promise<Shell> {
  shellFound ??= (async (): Promise<Shell> => {
    if (await hasTool('bash', ['-c', 'exit 0'])) return { file: 'bash', args: ['-o', 'pipefail', '-c'], prefix: '', pipefail: true, tool: 'bash -o pipefail' };
    const probe = await run('sh', ['-c', 'set -o pipefail'], { reject: false }).catch(() => ({ exitCode: 1 }));
    return probe.exitCode === 0
      ? { file: 'sh', args: ['-c'], prefix: 'set -o pipefail\n', pipefail: true, tool: 'sh (pipefail)' }
      : { file: 'sh', args: ['-c'], prefix: '', pipefail: false, tool: 'sh (no pipefail)' };
  })();
  return shellFound;
}

const NO_PIPEFAIL = msg('command.noPipefail');

export class CommandEngine implements Engine {
  readonly engine = 'command';
  readonly parks = false;
  readonly name: string;
  private readonly dumpCommand: string;
  private readonly restoreCommand: string;
  private readonly checkCommand: string | undefined;
  private gitDir?: string;

  constructor(config: DatabaseConfig, private readonly ctx: EngineContext) {
    validateKeys(config, { dump: 'string', restore: 'string' }, { check: 'string' });
    this.name = config.name;
    this.dumpCommand = config.dump as string;
    this.restoreCommand = config.restore as string;
    this.checkCommand = config.check as string | undefined;
  }

  describe(): string {
    // The command itself may contain secrets written inline: show only its program.
    return `command: ${this.dumpCommand.trim().split(/\s+/)[0] ?? ''} …`;
  }

  strategy(): RestoreStrategy {
    return {
      text: msg('command.strategy'),
      downtime: msg('command.downtime'),
    };
  }

  private async runCommand(command: string, what: string) {
    const shell = await findShell();
    return run(shell.file, [...shell.args, shell.prefix + command], { cwd: this.ctx.cwd, env: this.ctx.env, reject: false })
      .then((r) => ({ ...r, what }));
  }

  private async runCheck(): Promise<void> {
    if (!this.checkCommand) return;
    const r = await this.runCommand(this.checkCommand, 'check');
    if (r.exitCode !== 0) {
      throw new ExternalToolError(msg('command.checkTool', { name: this.name }), r.exitCode, r.stderr, undefined, msg('command.checkHint', { name: this.name }));
    }
  }

  async check(_mode: 'dump'): Promise<EngineProbe> {
    await this.runCheck();
    return { tool: (await findShell()).tool };
  }

  /** `.git/rollback/tmp` in the common git dir (beside the journal, shared by linked worktrees), where staged dumps wait. */
  private async tmpDir(): Promise<string> {
    this.gitDir ??= resolve(this.ctx.cwd, (await run('git', ['rev-parse', '--git-common-dir'], { cwd: this.ctx.cwd })).stdout.trim());
    return join(this.gitDir, 'rollback', 'tmp');
  }

  private stagedName(jobId: string): string {
    return `${this.name}.${safeJobId(jobId)}.dump`;
  }

  private shown(path: string): string {
    const rel = relative(this.ctx.cwd, path);
    return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
  }

  async checkRestore(entry: DatabaseEntry, _jobId: string): Promise<RestoreCheck> {
    if (entry.absent) {
      throw new ConflictError(inDb(this.name, msg('command.absent')), msg('command.absentHint', { name: this.name }));
    }
    if (entry.format !== COMMAND_FORMAT) {
      throw new ConflictError(inDb(this.name, msg('engine.format', { format: entry.format, engine: 'command' })));
    }
    await this.runCheck();
    const shell = await findShell();
    const tmp = await this.tmpDir();
    let dir = tmp;
    while (!(await stat(dir).then(() => true, () => false)) && resolve(dir, '..') !== dir) dir = resolve(dir, '..');
    try {
      await access(dir, constants.W_OK);
    } catch {
      throw new RollbackError(inDb(this.name, msg('engine.cannotWrite', { dir: this.shown(dir) })), msg('command.cannotWriteHint'));
    }
    const notes: Msg[] = [msg('command.noSwap')];
    if (!shell.pipefail) notes.push(NO_PIPEFAIL);
    return { tool: shell.tool, notes };
  }

  async dump(out: Writable, _options?: { allowAbsent?: boolean }): Promise<DumpOutcome> {
    let shell: Shell;
    try {
      await this.runCheck();
      shell = await findShell();
    } catch (error) {
      out.destroy(error as Error);
      throw error;
    }
    const what = msg('command.dumpTool', { name: this.name });
    const proc = startPiped(shell.file, [...shell.args, shell.prefix + this.dumpCommand], { cwd: this.ctx.cwd, env: this.ctx.env, stdin: 'ignore', label: what });
    await streamToolInto(proc, out, what, msg('command.dumpHint', { name: this.name }));
    const warnings: Msg[] = [];
    const stderr = tidy(proc.stderr());
    if (stderr) warnings.push(msg('command.stderr', { what, stderr }));
    if (!shell.pipefail && this.dumpCommand.includes('|')) warnings.push(msg('command.whatNote', { what, note: NO_PIPEFAIL }));
    return { format: COMMAND_FORMAT, ext: 'dump', tool: shell.tool, ...(warnings.length ? { warnings } : {}) };
  }

  tempObjects(jobId: string): TempObject[] {
    const where = this.gitDir ? this.shown(join(this.gitDir, 'rollback', 'tmp')) : '.git/rollback/tmp';
    return [{ database: this.name, engine: this.engine, role: 'staged', kind: 'file', name: `${where}/${this.stagedName(jobId)}`, jobId }];
  }

  async stage(input: Readable, job: RestoreJob): Promise<void> {
    const tmp = await this.tmpDir();
    await mkdir(tmp, { recursive: true, mode: 0o700 });
    const file = join(tmp, this.stagedName(job.jobId));
    await rm(file, { force: true });
    const abort = () => input.destroy(new CancelledError(inDb(this.name, msg('engine.cancelled'))));
    job.signal.addEventListener('abort', abort, { once: true });
    try {
      job.signal.throwIfAborted();
      await materialize(input, file);
    } catch (error) {
      await rm(file, { force: true });
      throw job.signal.aborted ? new CancelledError(inDb(this.name, msg('engine.cancelled'))) : error;
    } finally {
      job.signal.removeEventListener('abort', abort);
    }
  }

  async swap(job: RestoreJob): Promise<void> {
    if (job.memo.restored === true) return;
    const file = join(await this.tmpDir(), this.stagedName(job.jobId));
    const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? new RollbackError(inDb(this.name, msg('engine.notStaged', { job: job.jobId, file: this.shown(file) }))) : error;
    });
    try {
      // Recorded first: from here on the live data may be half replaced, and only replaying a dump mends that.
      job.memo.restoreStarted = true;
      await job.save();
      const shell = await findShell();
      const proc = startPiped(shell.file, [...shell.args, shell.prefix + this.restoreCommand], {
        cwd: this.ctx.cwd,
        env: this.ctx.env,
        stdin: handle.fd,
        stdout: 'ignore',
        label: msg('command.restoreTool', { name: this.name }),
      });
      await proc.wait(msg('command.restoreHint', { name: this.name }));
    } finally {
      await handle.close();
    }
    job.memo.restored = true;
    await job.save();
  }

  async unswap(job: RestoreJob): Promise<void> {
    if (job.memo.restoreStarted !== true) return;
    throw new RollbackError(inDb(this.name, msg('command.cannotUnswap')), msg('command.cannotUnswapHint'));
  }

  async discardStaged(job: RestoreJob): Promise<void> {
    await rm(join(await this.tmpDir(), this.stagedName(job.jobId)), { force: true });
  }

  async dropParked(_jobId: string): Promise<void> {
    // Nothing is parked: the restore command replaced the data in place.
  }

  async leftovers(): Promise<TempObject[]> {
    const tmp = await this.tmpDir();
    const names = await readdir(tmp).catch(() => [] as string[]);
    const prefix = `${this.name}.`;
    const found: TempObject[] = [];
    for (const name of names) {
      if (!name.startsWith(prefix)) continue;
      const m = /^([a-z0-9_]+)\.dump$/.exec(name.slice(prefix.length));
      if (m) found.push({ database: this.name, engine: this.engine, role: 'staged', kind: 'file', name: this.shown(join(tmp, name)), jobId: m[1]! });
    }
    return found;
  }

  async fingerprint(): Promise<string | null> {
    return null; // what the commands dump is opaque to us
  }
}
