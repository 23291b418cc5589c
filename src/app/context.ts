// Everything a command needs, opened once: the repository, the config, the
// point store, the event log and the lock. The CLI builds it; commands use it.
import { loadConfig } from '../adapters/config.js';
import { EventLog } from '../adapters/eventlog.js';
import { Git, type RepoInfo } from '../adapters/git.js';
import { RepoLock } from '../adapters/lock.js';
import { stateDir } from '../adapters/snapshot.js';
import { PointStore } from '../adapters/store.js';
import type { Config } from '../core/config.js';
import type { DatabaseConfig, DumpStore, Engine } from '../core/engine.js';
import { UsageError } from '../core/errors.js';
import type { TagPrefixes } from '../core/points.js';
import { assessTrust, requireTrust, trustFromEnv, type TrustState } from './trust.js'; // security
import type { AgeCipher } from '../adapters/crypto.js'; // security

export interface Context {
  git: Git;
  repo: RepoInfo;
  config: Config;
  store: PointStore;
  log: EventLog;
  lock: RepoLock;
  stateDir: string;
  env: NodeJS.ProcessEnv;
  /** security: whether the config may run commands and touch databases (src/app/trust.ts). */
  trust: TrustState;
  /** Engines for the configured databases (created on first use). */
  engines(names?: Iterable<string>): Promise<Engine[]>;
  dumpStore(): Promise<DumpStore>;
  /** security: the age cipher (recipients to seal, identities to open), or null without encryption and identity. */
  cipher(): Promise<AgeCipher | null>;
}

export interface OpenOptions {
  cwd?: string;
  configFile?: string;
  /** Refuse a repository without commits (most commands need HEAD). */
  needCommit?: boolean;
  /** security: --trust, approve the config as it is (CI). */
  trust?: boolean;
}

export async function openContext(options: OpenOptions = {}): Promise<Context> {
  const { git, repo } = await Git.open(options.cwd ?? process.cwd());
  if (options.needCommit !== false && !(await git.revParse('HEAD'))) {
    throw new UsageError('this repository has no commits yet', 'make a first commit: git add -A && git commit -m "first commit"');
  }
  const dir = stateDir(repo);
  // security: before loading (a code config runs when loaded), decide whether it is approved.
  const approveNow = options.trust ? 'flag' : trustFromEnv(process.env) ? 'env' : undefined;
  const trust = await assessTrust(repo.root, dir, { ...(options.configFile ? { explicitFile: options.configFile } : {}), ...(approveNow ? { approveNow } : {}) });
  const config = await loadConfig(repo.root, process.env, options.configFile);
  const prefixes: TagPrefixes = config.tags;
  const engineCache = new Map<string, Engine>();
  let dumpStore: DumpStore | undefined;
  let cipher: Promise<AgeCipher | null> | undefined;
  return {
    git,
    repo,
    config,
    store: new PointStore(git, prefixes),
    log: new EventLog(git),
    lock: new RepoLock(dir),
    stateDir: dir,
    env: process.env,
    trust,
    async engines(this: Context, names?: Iterable<string>) {
      const wanted = names ? new Set(names) : null;
      // this.config: undo may swap in the config approved when its backup was made.
      const selected = this.config.databases.filter((d: DatabaseConfig) => !wanted || wanted.has(d.name));
      if (selected.length === 0) return [];
      requireTrust(this); // security: engines run dump/restore commands and overwrite databases
      const { createEngine } = await import('../adapters/engines/index.js');
      return selected.map((d): Engine => {
        const cached = engineCache.get(d.name);
        if (cached) return cached;
        const created = createEngine(d, { cwd: repo.root, env: process.env });
        engineCache.set(d.name, created);
        return created;
      });
    },
    async dumpStore(this: Context) {
      if (!dumpStore) {
        const { GitDumpStore } = await import('../adapters/dump-store.js');
        const c = await this.cipher(); // security: dumps sealed/opened with age when configured
        dumpStore = new GitDumpStore(repo.root, c ? { cipher: c } : {});
      }
      return dumpStore;
    },
    cipher(this: Context) {
      const self = this;
      cipher ??= import('../adapters/crypto.js').then(({ openCipher }) =>
        openCipher({ git, root: repo.root, config: self.config, env: process.env, points: () => self.store.list(), forWriting: !!self.config.encryption }),
      );
      return cipher;
    },
  };
}
