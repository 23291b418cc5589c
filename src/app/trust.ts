// The trust model for commands, like `direnv allow` or `mise trust`: a config
// that runs commands or names databases is acted on only once the user has
// approved its exact content (sha256). Approvals live in
// .git/rollback/trust.json — never in the working tree, never fetched — with
// the approved text, so a later command (undo) can use the config that was
// approved when a rollback started instead of the one its checkout brought in.
import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { basename, extname, isAbsolute, join, relative } from 'node:path';
import { SEARCH_PLACES } from '../adapters/config.js';
import { defaultConfig, validateConfig, type Config } from '../core/config.js';
import { ConflictError, ConfigError } from '../core/errors.js';
import { joined, msg, type Msg } from '../core/i18n.js';
import { activeSettings, describeChanges, needsApproval, type ActiveSettings } from '../core/trust.js';
import type { Point } from '../core/types.js';
import type { Context } from './context.js';

/** The config file git-rollback would load, as the bytes it would load. */
export interface ConfigSource {
  /** Absolute path. */
  path: string;
  /** As shown to the user (relative to the repository root when inside it). */
  file: string;
  /** data: YAML/JSON (parsed without running anything); code: rollback.config.{js,mjs,cjs}, which runs when loaded. */
  kind: 'data' | 'code';
  /** The approved unit: the file's text, or package.json's "rollback" value as JSON. */
  text: string;
  sha256: string;
  /** The parsed config (data configs only). */
  raw: unknown;
  settings: ActiveSettings;
}

export interface Approval {
  sha256: string;
  file: string;
  kind: 'data' | 'code';
  approvedAt: string;
  approvedBy: string;
  /** prompt, --yes, --trust, GIT_ROLLBACK_TRUST; auto: nothing to approve (no command, no database), kept so undo can come back to it. */
  how: 'prompt' | 'yes' | 'flag' | 'env' | 'auto';
  settings: ActiveSettings;
  text: string;
}

export interface TrustState {
  source: ConfigSource | null;
  /** not-needed: no config, or one that runs no command and names no database. */
  state: 'trusted' | 'untrusted' | 'not-needed';
  /** How the current content came to be trusted. */
  how?: Approval['how'] | 'backup';
  /** What differs from the newest approved version of the same file ("hooks.afterRollback added"). */
  changes: Msg[];
  /** The newest earlier approval of the same file, if any. */
  previous: Approval | null;
  /** A line for the user when the config in use is not the working tree's. */
  notice?: Msg;
  /** The approved config in use when it is not the working tree's (see withConfigOfBackup). */
  inUse?: { file: string | null; sha256: string | null };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Finds the config the way src/adapters/config.ts does (cosmiconfig, repository root only). */
export async function findConfigSource(root: string, explicitFile?: string): Promise<ConfigSource | null> {
  const candidates = explicitFile ? [isAbsolute(explicitFile) ? explicitFile : join(process.cwd(), explicitFile)] : SEARCH_PLACES.map((p) => join(root, p));
  for (const path of candidates) {
    const st = await lstat(path).catch(() => null);
    if (!st) {
      if (explicitFile) throw new ConfigError(msg('config.notFound', { file: explicitFile }), msg('config.notFoundHint'));
      continue;
    }
    const content = await readFile(path, 'utf8');
    const file = path.startsWith(root + '/') ? relative(root, path) : path;
    const ext = extname(path);
    if (['.js', '.mjs', '.cjs', '.ts'].includes(ext)) {
      return { path, file, kind: 'code', text: content, sha256: sha256(content), raw: undefined, settings: { [file]: 'code (runs when loaded)' } };
    }
    let raw: unknown;
    let text = content;
    if (basename(path) === 'package.json' && !explicitFile) {
      let pkg: Record<string, unknown>;
      try {
        pkg = JSON.parse(content) as Record<string, unknown>;
      } catch {
        continue; // cosmiconfig reports the syntax error when it loads
      }
      if (!('rollback' in pkg)) continue;
      raw = pkg.rollback;
      text = JSON.stringify(raw, null, 2) + '\n';
    } else {
      raw = await parseData(path, content);
    }
    return { path, file, kind: 'data', text, sha256: sha256(text), raw, settings: activeSettings(raw) };
  }
  return null;
}

/** Parses YAML/JSON config text with cosmiconfig's own loaders (nothing is executed). */
async function parseData(path: string, content: string): Promise<unknown> {
  const mod = (await import('cosmiconfig')) as typeof import('cosmiconfig') & { default?: typeof import('cosmiconfig') };
  const loaders = mod.defaultLoaders ?? mod.default?.defaultLoaders;
  const ext = extname(path);
  const loader = ext === '.json' ? loaders['.json'] : ext === '.yaml' || ext === '.yml' ? loaders['.yaml'] : loaders.noExt;
  try {
    return await loader(path, content);
  } catch {
    return undefined; // the real load reports the syntax error with its line
  }
}

/** .git/rollback/trust.json: the approved contents (mode 0600; local to this clone). */
export class TrustStore {
  readonly file: string;
  constructor(stateDir: string) {
    this.file = join(stateDir, 'trust.json');
  }

  async read(): Promise<Approval[]> {
    const text = await readFile(this.file, 'utf8').catch(() => null);
    if (text === null) return [];
    try {
      const parsed = JSON.parse(text) as { schema?: number; approved?: Approval[] };
      return Array.isArray(parsed.approved) ? parsed.approved : [];
    } catch {
      throw new ConfigError(msg('trust.storeInvalid', { file: this.file }), msg('trust.storeInvalidHint'));
    }
  }

  async write(approved: readonly Approval[]): Promise<void> {
    await mkdir(join(this.file, '..'), { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify({ schema: 1, approved }, null, 2) + '\n', { mode: 0o600 });
    await rename(temp, this.file);
  }

  async find(sha: string): Promise<Approval | null> {
    return (await this.read()).find((a) => a.sha256 === sha) ?? null;
  }

  /** Adds (or refreshes) an approval; earlier approvals are kept, so going back to an approved version needs no new approval. */
  async approve(source: ConfigSource, how: Approval['how']): Promise<Approval> {
    const all = (await this.read()).filter((a) => a.sha256 !== source.sha256);
    const approval: Approval = {
      sha256: source.sha256,
      file: source.file,
      kind: source.kind,
      approvedAt: new Date().toISOString(),
      approvedBy: `${safeUser()}@${hostname()}`,
      how,
      settings: source.settings,
      text: source.text,
    };
    all.push(approval);
    await this.write(all);
    return approval;
  }

  /** Removes approvals whose sha256 starts with `prefix`; returns them. */
  async revoke(prefix: string): Promise<Approval[]> {
    const all = await this.read();
    const gone = all.filter((a) => a.sha256.startsWith(prefix));
    if (gone.length > 0) await this.write(all.filter((a) => !a.sha256.startsWith(prefix)));
    return gone;
  }
}

function safeUser(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** GIT_ROLLBACK_TRUST=1 (or true/yes): approve the config as it is, non-interactively (CI). */
export function trustFromEnv(env: NodeJS.ProcessEnv): boolean {
  return /^(1|true|yes)$/i.test(env.GIT_ROLLBACK_TRUST ?? '');
}

/**
 * Whether the config in the working tree may be acted on. With `approveNow`
 * (--trust or GIT_ROLLBACK_TRUST) an unapproved config is approved and
 * recorded as such. A code config (rollback.config.js) that is not approved
 * is refused here, before anything loads (loading it runs it).
 */
export async function assessTrust(root: string, stateDir: string, options: { explicitFile?: string; approveNow?: 'flag' | 'env' }): Promise<TrustState> {
  const source = await findConfigSource(root, options.explicitFile);
  if (!source) return { source: null, state: 'not-needed', changes: [], previous: null };
  if (source.kind === 'data' && !needsApproval(source.settings)) return { source, state: 'not-needed', changes: [], previous: null };
  const store = new TrustStore(stateDir);
  const approvals = await store.read();
  const exact = approvals.find((a) => a.sha256 === source.sha256);
  const previous = newestOf(approvals.filter((a) => a.file === source.file && a.sha256 !== source.sha256));
  if (exact) return { source, state: 'trusted', how: exact.how, changes: [], previous };
  if (options.approveNow) {
    await store.approve(source, options.approveNow);
    return { source, state: 'trusted', how: options.approveNow, changes: [], previous };
  }
  const changes = previous ? describeChanges(previous.settings, source.settings) : [];
  const state: TrustState = { source, state: 'untrusted', changes, previous };
  if (source.kind === 'code') throw untrustedError(state);
  return state;
}

function newestOf(list: Approval[]): Approval | null {
  return list.sort((a, b) => b.approvedAt.localeCompare(a.approvedAt))[0] ?? null;
}

function untrustedError(t: TrustState): ConflictError {
  const s = t.source as ConfigSource;
  const what = msg(s.kind === 'code' ? 'trust.isCodeWhat' : 'trust.runsWhat');
  let changed: Msg;
  if (!t.previous) changed = msg('trust.neverApproved');
  else if (t.changes.length > 0) {
    const more = t.changes.length > 6 ? msg('trust.inAll', { n: t.changes.length }) : '';
    changed = msg('trust.changedKeys', { date: t.previous.approvedAt.slice(0, 10), changes: joined(t.changes.slice(0, 6)), more });
  } else changed = msg('trust.textChanged', { date: t.previous.approvedAt.slice(0, 10) });
  return new ConflictError(msg('trust.notApproved', { file: s.file, what, changed }), msg('trust.notApprovedHint'));
}

/**
 * Refuses (exit 4) to act on a config that needs approval and has none. Call
 * before anything that may run a configured command or touch a database:
 * making a point, planning a rollback, creating engines.
 */
export function requireTrust(ctx: Pick<Context, 'trust'>): void {
  if (ctx.trust.state === 'untrusted') throw untrustedError(ctx.trust);
}

/**
 * For `undo` (and any restore of a backup): when the working tree's config is
 * not approved — typically because the rollback being undone checked out an
 * older one — use the config that was approved when the backup was made, as
 * recorded in the backup's note and kept in the trust store. Returns the
 * context unchanged when that is not needed or not possible (requireTrust then
 * refuses with its message).
 */
export async function withConfigOfBackup(ctx: Context, backup: Point): Promise<Context> {
  if (ctx.trust.state !== 'untrusted') return ctx;
  const recorded = (backup.note as { config?: { file?: unknown; sha256?: unknown } } | null)?.config;
  if (!recorded || typeof recorded !== 'object') return ctx;
  let config: Config;
  let inUse: { file: string; sha256: string } | undefined;
  if (recorded.file === null && recorded.sha256 === null) {
    // There was no config file: the defaults run nothing and name no database.
    config = defaultConfig();
    inUse = undefined;
  } else {
    if (typeof recorded.sha256 !== 'string') return ctx;
    const approval = await new TrustStore(ctx.stateDir).find(recorded.sha256);
    if (!approval || approval.kind !== 'data') return ctx;
    const raw = await parseData(join(ctx.repo.root, approval.file), approval.text);
    config = validateConfig(raw, approval.file);
    inUse = { file: approval.file, sha256: approval.sha256 };
  }
  return {
    ...ctx,
    config,
    trust: {
      ...ctx.trust,
      state: 'trusted',
      how: 'backup',
      inUse: inUse ?? { file: null, sha256: null },
      notice: msg('trust.usingBackupConfig', {
        tag: backup.tag,
        which: inUse ? msg('trust.configSha', { file: inUse.file, sha: inUse.sha256.slice(0, 12) }) : msg('trust.noConfigFile'),
        file: ctx.trust.source?.file ?? 'config',
      }),
    },
  };
}

/**
 * What the note of a new point records about the config in use: a key into
 * the local trust store (file null: no config file). A config that needs no
 * approval is stored too, so that undo can come back to it.
 */
export async function recordConfigInUse(ctx: Pick<Context, 'trust' | 'stateDir'>): Promise<{ config: { file: string | null; sha256: string | null } }> {
  if (ctx.trust.inUse) return { config: ctx.trust.inUse };
  const s = ctx.trust.source;
  if (!s) return { config: { file: null, sha256: null } };
  if (ctx.trust.state === 'not-needed') {
    const store = new TrustStore(ctx.stateDir);
    if (!(await store.find(s.sha256))) await store.approve(s, 'auto');
  }
  return { config: { file: s.file, sha256: s.sha256 } };
}
