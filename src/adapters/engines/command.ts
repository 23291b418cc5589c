// Any other engine (MongoDB, Neo4j, Docker volumes…) through two shell
// commands: `dump` writes the dump on stdout, `restore` reads it on stdin.
// Both run with `sh -c` in the repository root with the environment of
// git-rollback, so they can use $VARS for secrets.
//
// There is no temp + swap here: we cannot know how to restore "beside" an
// unknown engine. stage() can only make the dump safe to use (written to a
// private temp file, which completes the store's sha256 check before the
// restore command sees a byte); swap() runs the restore command; unswap()
// is impossible, so a failure after it is undone by restoring the automatic
// backup's own dump of this database (which the caller does anyway).
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { DatabaseConfig, DumpOutcome, Engine, EngineProbe, RestoreStrategy, StagedRestore } from '../../core/engine.js';
import type { DatabaseEntry } from '../../core/types.js';
import { ExternalToolError, RollbackError } from '../../core/errors.js';
import { run } from '../process.js';
import { startPiped } from '../piped.js';
import { materialize, privateTempDir, streamToolInto, validateKeys, type EngineContext } from './common.js';

export class CommandEngine implements Engine {
  readonly engine = 'command';
  readonly name: string;
  private readonly dumpCommand: string;
  private readonly restoreCommand: string;
  private readonly checkCommand: string | undefined;

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
      text: 'verify the stored dump into a temp file, then run the restore command with it on stdin (no swap: undo replays the backup\'s dump)',
      downtime: 'as long as the restore command runs; what clients see meanwhile depends on it',
    };
  }

  async check(): Promise<EngineProbe> {
    if (this.checkCommand) {
      const r = await run('sh', ['-c', this.checkCommand], { cwd: this.ctx.cwd, env: this.ctx.env, reject: false });
      if (r.exitCode !== 0) {
        throw new ExternalToolError(`check command of database ${this.name}`, r.exitCode, r.stderr, undefined, `fix the service or databases.${this.name}.check`);
      }
    }
    return { tool: 'sh' };
  }

  async dump(out: Writable): Promise<DumpOutcome> {
    try {
      await this.check();
    } catch (error) {
      out.destroy(error as Error);
      throw error;
    }
    const proc = startPiped('sh', ['-c', this.dumpCommand], { cwd: this.ctx.cwd, env: this.ctx.env, stdin: 'ignore', label: `dump command of database ${this.name}` });
    await streamToolInto(proc, out, `dump command of database ${this.name}`, `run it by hand to see why; it must write the dump on stdout (databases.${this.name}.dump)`);
    return { format: 'command', ext: 'dump', tool: 'sh' };
  }

  async stage(input: Readable, _ctx: { jobId: string; entry: DatabaseEntry }): Promise<StagedRestore> {
    const dir = await privateTempDir('cmd');
    const file = join(dir, 'dump');
    try {
      await materialize(input, file);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    let state: 'staged' | 'swapped' | 'discarded' = 'staged';
    const engine = this;
    return {
      async swap() {
        if (state !== 'staged') throw new RollbackError(`database ${engine.name}: swap called twice`);
        state = 'swapped';
        const handle = await open(file, 'r');
        try {
          const proc = startPiped('sh', ['-c', engine.restoreCommand], {
            cwd: engine.ctx.cwd,
            env: engine.ctx.env,
            stdin: handle.fd,
            stdout: 'ignore',
            label: `restore command of database ${engine.name}`,
          });
          await proc.wait(`run it by hand with the dump on stdin to see why (databases.${engine.name}.restore)`);
        } finally {
          await handle.close();
        }
      },
      async unswap() {
        throw new RollbackError(
          `database ${engine.name}: a command engine cannot put the previous data back by itself`,
          'restore the automatic backup point (git rollback undo), which replays its dump of this database',
        );
      },
      async discard() {
        state = 'discarded';
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}
