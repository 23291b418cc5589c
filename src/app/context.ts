// Everything a command needs, opened once: the repository, the config, the
// point store, the event log and the lock. The CLI builds it; commands use it.
import { loadConfig } from '../adapters/config.js';
import { EventLog } from '../adapters/eventlog.js';
import { Git, type RepoInfo } from '../adapters/git.js';
import { RepoLock } from '../adapters/lock.js';
import { stateDir } from '../adapters/snapshot.js';
import { PointStore } from '../adapters/store.js';
import { resolveDatabase, type Config } from '../core/config.js';
import type { DumpStore, Engine } from '../core/engine.js';
import type { TransferListener } from '../core/progress.js';
import { UsageError } from '../core/errors.js';
import type { TagPrefixes } from '../core/points.js';

export interface Context {
  git: Git;
  repo: RepoInfo;
  config: Config;
  store: PointStore;
  log: EventLog;
  lock: RepoLock;
  stateDir: string;
  env: NodeJS.ProcessEnv;
  /** Engines for the configured databases (created on first use). */
  engines(names?: Iterable<string>): Promise<Engine[]>;
  /** The dump store; its streams report to `onTransfer` when one is set. */
  dumpStore(): Promise<DumpStore>;
  /** Set by the CLI to show bytes/s and ETA of dumps and restores. */
  onTransfer: TransferListener | null;
}

export interface OpenOptions {
  cwd?: string;
  configFile?: string;
  /** Refuse a repository without commits (most commands need HEAD). */
  needCommit?: boolean;
}

export async function openContext(options: OpenOptions = {}): Promise<Context> {
  const { git, repo } = await Git.open(options.cwd ?? process.cwd());
  if (options.needCommit !== false && !(await git.revParse('HEAD'))) {
    throw new UsageError('this repository has no commits yet', 'make a first commit: git add -A && git commit -m "first commit"');
  }
  const config = await loadConfig(repo.root, options.configFile);
  const prefixes: TagPrefixes = config.tags;
  const dir = stateDir(repo);
  const engineCache = new Map<string, Engine>();
  let dumpStore: DumpStore | undefined;
  const ctx: Context = {
    onTransfer: null,
    git,
    repo,
    config,
    store: new PointStore(git, prefixes),
    log: new EventLog(git),
    lock: new RepoLock(dir),
    stateDir: dir,
    env: process.env,
    async engines(names?: Iterable<string>) {
      const wanted = names ? new Set(names) : null;
      const selected = config.databases.filter((d) => !wanted || wanted.has(d.name));
      if (selected.length === 0) return [];
      const { createEngine } = await import('../adapters/engines/index.js');
      return selected.map((d): Engine => {
        const cached = engineCache.get(d.name);
        if (cached) return cached;
        // ${VAR} is expanded here, not at load: commands that never make an
        // engine (list, show, log, status) need no database credentials.
        const created = createEngine(resolveDatabase(d, process.env, config.file), { cwd: repo.root, env: process.env });
        engineCache.set(d.name, created);
        return created;
      });
    },
    async dumpStore() {
      if (!dumpStore) {
        const { GitDumpStore } = await import('../adapters/dump-store.js');
        const { meteredDumpStore } = await import('../adapters/progress.js');
        dumpStore = meteredDumpStore(new GitDumpStore(repo.root), () => ctx.onTransfer);
      }
      return dumpStore;
    },
  };
  return ctx;
}
