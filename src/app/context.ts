// Everything a command needs, opened once: the repository, the config, the
// point store, the event log and the lock. The CLI builds it; commands use it.
import { join } from 'node:path';
import { loadConfig } from '../adapters/config.js';
import type { AgeCipher } from '../adapters/crypto.js';
import { EventLog } from '../adapters/eventlog.js';
import { Git, type RepoInfo } from '../adapters/git.js';
import { RepoLock } from '../adapters/lock.js';
import { stateDir } from '../adapters/snapshot.js';
import { PointStore } from '../adapters/store.js';
import { resolveDatabase, type Config } from '../core/config.js';
import type { DatabaseConfig, DumpStore, Engine } from '../core/engine.js';
import { UsageError } from '../core/errors.js';
import { msg } from '../core/i18n.js';
import type { TagPrefixes } from '../core/points.js';
import type { TransferListener } from '../core/progress.js';
import { assessTrust, requireTrust, trustFromEnv, type TrustState } from './trust.js';

export interface Context {
  git: Git;
  repo: RepoInfo;
  config: Config;
  store: PointStore;
  log: EventLog;
  lock: RepoLock;
  stateDir: string;
  env: NodeJS.ProcessEnv;
  /** Whether the config may run commands and touch databases (src/app/trust.ts). */
  trust: TrustState;
  /** Engines for the configured databases (created on first use). */
  engines(names?: Iterable<string>): Promise<Engine[]>;
  /** The dump store; its streams report to `onTransfer` when one is set. */
  dumpStore(): Promise<DumpStore>;
  /** The age cipher (recipients to seal, identities to open), or null without encryption and identity. */
  cipher(): Promise<AgeCipher | null>;
  /** Set by the CLI to show bytes/s and ETA of dumps and restores. */
  onTransfer: TransferListener | null;
}

export interface OpenOptions {
  cwd?: string;
  configFile?: string;
  /** Refuse a repository without commits (most commands need HEAD). */
  needCommit?: boolean;
  /** --trust: approve the config as it is (CI). */
  trust?: boolean;
}

export async function openContext(options: OpenOptions = {}): Promise<Context> {
  // The config loader's module compiles while git answers (it is needed below, always).
  import('cosmiconfig').catch(() => undefined);
  const { git, repo } = await Git.open(options.cwd ?? process.cwd());
  if (options.needCommit !== false && !(await git.revParse('HEAD'))) {
    throw new UsageError(msg('context.noCommits'), msg('context.noCommitsHint'));
  }
  const dir = stateDir(repo);
  // Before loading (a code config runs when loaded), decide whether it is approved.
  const approveNow = options.trust ? 'flag' : trustFromEnv(process.env) ? 'env' : undefined;
  const trust = await assessTrust(repo.root, dir, { ...(options.configFile ? { explicitFile: options.configFile } : {}), ...(approveNow ? { approveNow } : {}) });
  const config = await loadConfig(repo.root, options.configFile);
  const prefixes: TagPrefixes = config.tags;
  const engineCache = new Map<string, Engine>();
  let dumpStore: DumpStore | undefined;
  let cipher: Promise<AgeCipher | null> | undefined;
  const ctx: Context = {
    onTransfer: null,
    git,
    repo,
    config,
    store: new PointStore(git, prefixes),
    log: new EventLog(git, dir),
    lock: new RepoLock(dir),
    stateDir: dir,
    env: process.env,
    trust,
    // Methods use `this`: undo runs with a copy of the context that holds the
    // config approved when its backup was made (trust.ts, withConfigOfBackup).
    async engines(this: Context, names?: Iterable<string>) {
      const wanted = names ? new Set(names) : null;
      const self = this;
      const selected = self.config.databases.filter((d: DatabaseConfig) => !wanted || wanted.has(d.name));
      if (selected.length === 0) return [];
      requireTrust(self); // engines run dump/restore commands and overwrite databases
      // Engines come with dumps: that module compiles meanwhile (nothing runs).
      import('../adapters/dump-store.js').catch(() => undefined);
      const { createEngine } = await import('../adapters/engines/index.js');
      return selected.map((d): Engine => {
        // Keyed by the entry as written: a copy of the context with other settings (--end-sessions, undo's approved config) gets its own engine.
        const key = JSON.stringify(d);
        const cached = engineCache.get(key);
        if (cached) return cached;
        // ${VAR} is expanded here, not at load: commands that never make an
        // engine (list, show, log, status) need no database credentials.
        const created = createEngine(resolveDatabase(d, process.env, self.config.file), { cwd: repo.root, env: process.env });
        engineCache.set(key, created);
        return created;
      });
    },
    async dumpStore(this: Context) {
      if (!dumpStore) {
        const self = this;
        const { GitDumpStore } = await import('../adapters/dump-store.js');
        const { meteredDumpStore } = await import('../adapters/progress.js');
        const c = await self.cipher(); // dumps sealed/opened with age when configured
        // Where packs go, from Git.open's rev-parse (no second one).
        const objects = git.objectStore;
        const facts = objects ? { repoFacts: { algorithm: objects.algorithm, packDir: join(objects.dir, 'pack'), stateDir: dir } } : {};
        dumpStore = meteredDumpStore(new GitDumpStore(repo.root, { ...facts, ...(c ? { cipher: c } : {}) }), () => self.onTransfer);
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
  return ctx;
}
