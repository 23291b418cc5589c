// The git adapter: every git process git-rollback starts goes through here.
// Metadata is read with batch plumbing (for-each-ref, ls-tree, cat-file --batch)
// so that the number of processes does not grow with the number of points.
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { spawn as spawnProcess } from 'node:child_process';
import { ExternalToolError, UsageError, redact } from '../core/errors.js';
import { missingTool, OWN_GROUP } from './tools.js';
import { en, msg } from '../core/i18n.js';
import { plainIdent, plainPath, writeLooseObject, writeTrees } from './loose-objects.js';

/** The empty tree of each object format (git knows both without storing them). */
export const EMPTY_TREES = {
  sha1: '4b825dc642cb6eb9a060e54bf8d69288fbee4904',
  sha256: '6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321',
} as const;

export type ObjectFormat = keyof typeof EMPTY_TREES;

export interface Identity {
  name: string;
  email: string;
}

export interface RepoInfo {
  /** Working tree root. */
  root: string;
  /** This worktree's git dir. */
  gitDir: string;
  /** The common git dir shared by linked worktrees: where our state lives. */
  commonDir: string;
}

export interface GitRunOptions {
  input?: string | Buffer;
  env?: Record<string, string | undefined>;
  /** Return stdout as a Buffer instead of text. */
  binary?: boolean;
  /** Do not throw on a non-zero exit. */
  allowFail?: boolean;
  /** Extra `-c key=value` settings. */
  config?: Record<string, string>;
}

/** What checkObjects() found. */
export interface ObjectCheck {
  checked: number;
  bytes: number;
  missing: string[];
  /** Objects whose content does not hash to their id. */
  forged: string[];
}

export interface GitResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Fixed settings for every call: stable output whatever the user's config. */
const BASE_CONFIG = ['-c', 'core.quotepath=false', '-c', 'color.ui=false', '-c', 'advice.detachedHead=false'];

/** Settings that change the bytes or the handling of objects git writes: with any of them set, git writes them (loose-objects.ts). */
const WRITE_SETTINGS = ['commit.gpgsign', 'core.sharedrepository', 'core.fsyncobjectfiles', 'core.fsync', 'core.fsyncmethod', 'i18n.commitencoding'];

export class Git {
  private identityCache: Promise<Identity & { plainWrites: boolean }> | undefined;
  private formatCache: Promise<ObjectFormat> | undefined;

  constructor(
    readonly cwd: string,
    readonly baseEnv: Record<string, string | undefined> = {},
    /** Where and how objects are stored, when known (Git.open): small objects are then written without a git process. */
    private readonly objects: { dir: string; algorithm: ObjectFormat } | null = null,
  ) {
    if (objects) this.formatCache = Promise.resolve(objects.algorithm);
  }

  /** The object directory and format, when Git.open found them. */
  get objectStore(): { dir: string; algorithm: ObjectFormat } | null {
    return this.objects;
  }

  /** Finds the repository around `cwd`; refuses bare repositories and non-repositories. */
  static async open(cwd: string): Promise<{ git: Git; repo: RepoInfo }> {
    const probe = new Git(cwd);
    const r = await probe.run(['rev-parse', '--is-bare-repository', '--absolute-git-dir', '--git-common-dir', '--show-toplevel', '--show-object-format', '--git-path', 'objects'], { allowFail: true });
    if (r.exitCode !== 0 && /must be run in a work tree/.test(r.stderr)) {
      throw new UsageError(msg('git.bare'), msg('git.bareHint'));
    }
    if (r.exitCode !== 0) {
      if (/not a git repository/i.test(r.stderr)) {
        throw new UsageError(msg('git.notRepo'), msg('git.notRepoHint'));
      }
      throw new ExternalToolError('git rev-parse', r.exitCode, redact(r.stderr));
    }
    const [bare, gitDir, commonDirRaw, top, format, objectsDir] = r.stdout.split('\n');
    if (bare === 'true' || !top) {
      throw new UsageError(msg('git.bare'), msg('git.bareHint'));
    }
    const commonDir = resolve(cwd, commonDirRaw ?? gitDir ?? '.git');
    const objects = (format === 'sha1' || format === 'sha256') && objectsDir ? { dir: resolve(cwd, objectsDir), algorithm: format as ObjectFormat } : null;
    const git = new Git(top, {}, objects);
    return { git, repo: { root: top, gitDir: gitDir ?? commonDir, commonDir } };
  }

  /**
   * Runs git to completion. git is spawned with node:child_process rather than
   * execa: a point starts ~15 git processes, and execa's import (~150 ms) and
   * per-call cost showed in `point` timings (docs/decisions.md).
   */
  async run(args: readonly string[], options: GitRunOptions = {}): Promise<GitResult> {
    const cfg: string[] = [...BASE_CONFIG];
    for (const [k, v] of Object.entries(options.config ?? {})) cfg.push('-c', `${k}=${v}`);
    const env = { ...process.env, ...this.baseEnv, ...options.env, GIT_TERMINAL_PROMPT: '0' };
    const result = await new Promise<{ stdout: Buffer; stderr: string; code: number }>((resolvePromise, reject) => {
      const child = spawnProcess('git', [...cfg, ...args], { cwd: this.cwd, env, stdio: ['pipe', 'pipe', 'pipe'], ...OWN_GROUP });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? missingTool('git') : e));
      child.on('close', (code) => resolvePromise({ stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), code: code ?? 1 }));
      child.stdin.on('error', () => undefined); // git may exit before reading all input; the exit code tells.
      if (options.input !== undefined) child.stdin.end(options.input);
      else child.stdin.end();
    });
    const out: GitResult = {
      stdout: options.binary ? (result.stdout as unknown as string) : result.stdout.toString('utf8'),
      stderr: result.stderr,
      exitCode: result.code,
    };
    if (out.exitCode !== 0 && !options.allowFail) {
      throw new ExternalToolError(`git ${args[0] ?? ''}`.trim(), out.exitCode, redact(out.stderr));
    }
    return out;
  }

  /** Runs git and returns trimmed stdout. */
  async text(args: readonly string[], options: GitRunOptions = {}): Promise<string> {
    return (await this.run(args, options)).stdout.trim();
  }

  /** The repository's object format: "sha1", or "sha256" for `git init --object-format=sha256`. */
  objectFormat(): Promise<ObjectFormat> {
    this.formatCache ??= this.run(['rev-parse', '--show-object-format'], { allowFail: true }).then((r) =>
      r.stdout.trim() === 'sha256' ? 'sha256' : 'sha1',
    );
    return this.formatCache;
  }

  /**
   * The empty tree of this repository's format, written to the object store
   * (a commit pointing at it must be valid and pushable even where git only
   * knows it virtually).
   */
  async emptyTree(): Promise<string> {
    const d = await this.direct();
    if (d) return writeLooseObject(d.dir, d.algorithm, 'tree', Buffer.alloc(0));
    const id = await this.text(['hash-object', '-t', 'tree', '-w', '--stdin'], { input: '' });
    return id;
  }

  /** The all-zero id of this repository's format ("the ref must not exist" for update-ref). */
  async nullId(): Promise<string> {
    return '0'.repeat((await this.objectFormat()) === 'sha256' ? 64 : 40);
  }

  /** git's own ref-name rules (`git check-ref-format`). */
  async isValidRefName(ref: string): Promise<boolean> {
    return (await this.run(['check-ref-format', ref], { allowFail: true })).exitCode === 0;
  }

  /** Names of local branches. */
  async branches(): Promise<string[]> {
    return (await this.forEachRef(['refs/heads/'], ['refname:short'])).map((r) => r[0] ?? '');
  }

  async revParse(rev: string): Promise<string | null> {
    const r = await this.run(['rev-parse', '-q', '--verify', '--end-of-options', rev], { allowFail: true });
    return r.exitCode === 0 ? r.stdout.trim() : null;
  }

  async head(): Promise<{ commit: string | null; branch: string | null }> {
    const [r, b] = await Promise.all([
      this.run(['rev-parse', '-q', '--verify', 'HEAD'], { allowFail: true }),
      this.run(['symbolic-ref', '-q', '--short', 'HEAD'], { allowFail: true }),
    ]);
    return { commit: r.exitCode === 0 ? r.stdout.trim() : null, branch: b.exitCode === 0 ? b.stdout.trim() : null };
  }

  /** Who we are for tags and commits: git's user.name/email, else the OS user. Asked once (callers may ask early, concurrently). */
  identity(): Promise<Identity> {
    return this.identityAndSettings();
  }

  /** identity(), and whether objects may be written without git (none of WRITE_SETTINGS is set): one `git config`. */
  private identityAndSettings(): Promise<Identity & { plainWrites: boolean }> {
    const keys = ['user\\.(name|email)', ...WRITE_SETTINGS.map((k) => k.replace('.', '\\.'))];
    this.identityCache ??= this.run(['config', '--get-regexp', `^(${keys.join('|')})$`], { allowFail: true }).then((r) => {
      let name = '';
      let email = '';
      let plainWrites = true;
      for (const line of r.stdout.split('\n')) {
        const m = /^user\.(name|email) (.*)$/.exec(line);
        if (m?.[1] === 'name') name = m[2] ?? '';
        else if (m?.[1] === 'email') email = m[2] ?? '';
        else if (line.trim()) plainWrites = false;
      }
      const user = safeUser();
      return { name: name || user, email: email || `${user}@${hostname()}`, plainWrites };
    });
    this.identityCache.catch(() => {
      this.identityCache = undefined;
    });
    return this.identityCache;
  }

  /** Environment that makes commit-tree / notes use `identity` and a fixed date. */
  async identityEnv(date?: Date): Promise<Record<string, string>> {
    const id = await this.identity();
    const env: Record<string, string> = {
      GIT_AUTHOR_NAME: id.name,
      GIT_AUTHOR_EMAIL: id.email,
      GIT_COMMITTER_NAME: id.name,
      GIT_COMMITTER_EMAIL: id.email,
    };
    if (date) {
      const stamp = gitDate(date);
      env.GIT_AUTHOR_DATE = stamp;
      env.GIT_COMMITTER_DATE = stamp;
    }
    return env;
  }

  /**
   * `git status`: tracked changes, untracked files (all of them, each file
   * named), unmerged paths. Read from `--porcelain -z`, whose paths come
   * verbatim (no quoting, no trimming: a name may start or end with a space).
   */
  async status(): Promise<{ tracked: string[]; untracked: string[]; conflicted: string[] }> {
    const r = await this.run(['status', '--porcelain', '-z', '--untracked-files=all'], { binary: true });
    return parseStatusZ(r.stdout as unknown as Buffer);
  }

  /** Writes blobs for files on disk (one process for all), raw bytes, no filters. */
  async hashFiles(paths: readonly string[]): Promise<string[]> {
    if (paths.length === 0) return [];
    const r = await this.run(['hash-object', '-w', '--no-filters', '--stdin-paths'], {
      input: paths.join('\n') + '\n',
      config: { 'core.bigFileThreshold': '1m', 'core.compression': '1' },
    });
    const ids = r.stdout.trim().split('\n');
    if (ids.length !== paths.length) throw new ExternalToolError('git hash-object', 0, en('git.hashCount', { expected: paths.length, got: ids.length }));
    return ids;
  }

  /** Writes one blob from memory (small things: manifest, captures, symlink targets). */
  /** Where to write objects ourselves, or null when git must (unknown store, or settings that change what git writes). */
  private async direct(): Promise<{ dir: string; algorithm: ObjectFormat } | null> {
    if (!this.objects) return null;
    return (await this.identityAndSettings()).plainWrites ? this.objects : null;
  }

  async hashBuffer(data: string | Buffer): Promise<string> {
    const d = await this.direct();
    if (d) return writeLooseObject(d.dir, d.algorithm, 'blob', Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8'));
    return this.text(['hash-object', '-w', '--no-filters', '--stdin'], { input: data });
  }

  /**
   * Builds a tree from (mode, blob, path) entries using a throw-away index,
   * so nested directories are git's job, not ours.
   */
  async makeTree(entries: readonly { mode: string; blob: string; path: string }[], indexFile: string): Promise<string> {
    const d = await this.direct();
    if (d && entries.every((e) => plainPath(e.path))) return writeTrees(d.dir, d.algorithm, entries);
    const env = { GIT_INDEX_FILE: indexFile };
    // A missing index file reads as an empty index: no `read-tree --empty` process needed.
    await rm(indexFile, { force: true });
    if (entries.length > 0) {
      const input = entries.map((e) => `${e.mode} ${e.blob}\t${e.path}`).join('\n') + '\n';
      await this.run(['update-index', '--add', '--index-info'], { env, input });
    }
    const tree = await this.text(['write-tree'], { env });
    await rm(indexFile, { force: true });
    return tree;
  }

  async commitTree(tree: string, parents: readonly string[], message: string, date?: Date): Promise<string> {
    // Without a date git takes the clock, or GIT_AUTHOR_DATE / GIT_COMMITTER_DATE when set: then git writes it.
    const env = { ...process.env, ...this.baseEnv };
    const when = date ?? (env.GIT_AUTHOR_DATE === undefined && env.GIT_COMMITTER_DATE === undefined ? new Date() : null);
    const d = when ? await this.direct() : null;
    const who = d ? await this.identity() : null;
    const ident = who ? plainIdent(who.name, who.email) : null;
    if (d && when && ident && [tree, ...parents].every((id) => isObjectId(id, d.algorithm))) {
      const stamp = `${ident} ${gitDate(when)}`;
      const body = `tree ${tree}\n${parents.map((p) => `parent ${p}\n`).join('')}author ${stamp}\ncommitter ${stamp}\n\n${message}`;
      return writeLooseObject(d.dir, d.algorithm, 'commit', Buffer.from(body, 'utf8'));
    }
    const args = ['commit-tree', tree];
    for (const p of parents) args.push('-p', p);
    args.push('-F', '-');
    return this.text(args, { input: message, env: await this.identityEnv(date) });
  }

  /** Writes an annotated tag object (not the ref) and returns its id. */
  async makeTag(target: string, name: string, message: string, date: Date): Promise<string> {
    const id = await this.identity();
    const body = `object ${target}\ntype commit\ntag ${name}\ntagger ${id.name} <${id.email}> ${gitDate(date)}\n\n${message.endsWith('\n') ? message : message + '\n'}`;
    // Our own tag (a commit we resolved, a validated name): mktag's checks hold by construction.
    const d = await this.direct();
    if (d && plainIdent(id.name, id.email) && isObjectId(target, d.algorithm) && /^[A-Za-z0-9][A-Za-z0-9._/+-]*$/.test(name)) {
      return writeLooseObject(d.dir, d.algorithm, 'tag', Buffer.from(body, 'utf8'));
    }
    return this.text(['mktag'], { input: body });
  }

  /** Applies ref updates in one transaction: all happen or none. */
  async updateRefs(commands: readonly string[]): Promise<void> {
    await this.run(['update-ref', '--stdin'], { input: `start\n${commands.join('\n')}\nprepare\ncommit\n` });
  }

  /** for-each-ref with NUL-separated fields; returns one array of fields per ref. */
  async forEachRef(patterns: readonly string[], fields: readonly string[]): Promise<string[][]> {
    const format = fields.map((f) => `%(${f})`).join('%00') + '%00';
    const r = await this.run(['for-each-ref', `--format=${format}`, ...patterns]);
    const parts = r.stdout.split('\0');
    const rows: string[][] = [];
    const n = fields.length;
    for (let i = 0; i + n <= parts.length; i += n) {
      const row = parts.slice(i, i + n);
      if (i > 0) row[0] = (row[0] ?? '').replace(/^\n/, '');
      if (row[0] === '' && i + n >= parts.length) break;
      rows.push(row);
    }
    return rows;
  }

  /** Reads many blobs in one `cat-file --batch` process. Missing ids map to null. */
  async readBlobs(ids: readonly string[]): Promise<Map<string, Buffer | null>> {
    const out = new Map<string, Buffer | null>();
    if (ids.length === 0) return out;
    const unique = [...new Set(ids)];
    // --buffer: all ids are written at once, so git need not flush after every object (~15% faster for 10,000 notes).
    const r = await this.run(['cat-file', '--batch', '--buffer'], { input: unique.join('\n') + '\n', binary: true });
    const buf = r.stdout as unknown as Buffer;
    let pos = 0;
    for (const id of unique) {
      const nl = buf.indexOf(10, pos);
      const header = buf.subarray(pos, nl).toString();
      pos = nl + 1;
      if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
        out.set(id, null);
        continue;
      }
      const size = Number(header.split(' ')[2]);
      out.set(id, buf.subarray(pos, pos + size));
      pos += size + 1;
    }
    return out;
  }

  /**
   * Streams blobs from one `cat-file --batch --buffer`: `onBlob(id, data)` as
   * each arrives (data null when missing), so a caller can parse while git
   * is still writing, without holding the whole output (`list` reads 10,000
   * notes, ~12 MB, this way).
   */
  async eachBlob(ids: readonly string[], onBlob: (id: string, data: Buffer | null) => void): Promise<void> {
    if (ids.length === 0) return;
    const unique = [...new Set(ids)];
    const env = { ...process.env, ...this.baseEnv, GIT_TERMINAL_PROMPT: '0' };
    const child = spawnProcess('git', [...BASE_CONFIG, 'cat-file', '--batch', '--buffer'], { cwd: this.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined); // the exit code tells
    const exited = new Promise<number>((res, rej) => {
      child.on('error', (e: NodeJS.ErrnoException) => rej(e.code === 'ENOENT' ? missingTool('git') : e));
      child.on('close', (code) => res(code ?? 1));
    });
    child.stdin.end(unique.join('\n') + '\n');
    let next = 0; // index in `unique` of the object being read
    let pending: Buffer | null = null; // bytes not yet consumed
    let need = -1; // bytes of the current object still to come (+1 for its newline); -1: reading a header
    let parts: Buffer[] = [];
    for await (const piece of child.stdout as AsyncIterable<Buffer>) {
      let buf: Buffer = pending ? Buffer.concat([pending, piece]) : piece;
      pending = null;
      while (buf.length > 0) {
        if (need < 0) {
          const nl = buf.indexOf(10);
          if (nl < 0) {
            pending = buf;
            break;
          }
          const header = buf.toString('latin1', 0, nl);
          buf = buf.subarray(nl + 1);
          const id = unique[next];
          if (id === undefined) throw new ExternalToolError('git cat-file', 0, `unexpected output: ${header.slice(0, 80)}`);
          if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
            next++;
            onBlob(id, null);
            continue;
          }
          need = Number(header.split(' ')[2]) + 1;
          parts = [];
          continue;
        }
        const take = Math.min(need, buf.length);
        parts.push(buf.subarray(0, take));
        buf = buf.subarray(take);
        need -= take;
        if (need === 0) {
          need = -1;
          const whole = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
          parts = [];
          onBlob(unique[next++]!, whole.subarray(0, whole.length - 1));
        }
      }
    }
    const code = await exited;
    if (code !== 0 || next < unique.length) throw new ExternalToolError('git cat-file', code, redact(stderr));
  }

  /** `cat-file --batch-check`: which of these objects exist (and their sizes). */
  async objectSizes(ids: readonly string[]): Promise<Map<string, number | null>> {
    const out = new Map<string, number | null>();
    if (ids.length === 0) return out;
    const unique = [...new Set(ids)];
    const r = await this.run(['cat-file', '--batch-check'], { input: unique.join('\n') + '\n' });
    const lines = r.stdout.split('\n');
    unique.forEach((id, i) => {
      const line = lines[i] ?? '';
      out.set(id, line.endsWith('missing') ? null : Number(line.split(' ')[2]));
    });
    return out;
  }

  /**
   * Reads every object of `ids` through one `cat-file --batch` and re-hashes
   * it with the repository's algorithm: a missing object and one whose content
   * does not hash to its id (a forged or damaged loose object, which git
   * itself serves without checking) are both reported. Streams: memory stays
   * bounded whatever the objects' sizes.
   */
  async checkObjects(ids: readonly string[]): Promise<ObjectCheck> {
    const result: ObjectCheck = { checked: 0, bytes: 0, missing: [], forged: [] };
    const unique = [...new Set(ids)];
    if (unique.length === 0) return result;
    const algorithm = await this.objectFormat();
    const child = spawnProcess('git', [...BASE_CONFIG, '-c', 'core.bigFileThreshold=1m', 'cat-file', '--batch'], { cwd: this.cwd, env: { ...process.env, ...this.baseEnv }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4096)));
    const exited = new Promise<number>((res, rej) => {
      child.on('error', (e: NodeJS.ErrnoException) => rej(e.code === 'ENOENT' ? missingTool('git') : e));
      child.on('close', (code) => res(code ?? 1));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(unique.join('\n') + '\n');
    let index = 0;
    let header = '';
    let remaining = -1;
    let skipNewline = false;
    let hash: Hash | null = null;
    let current = '';
    for await (const piece of child.stdout as AsyncIterable<Buffer>) {
      let buf = piece;
      while (buf.length > 0) {
        if (skipNewline) {
          buf = buf.subarray(1);
          skipNewline = false;
          continue;
        }
        if (remaining < 0) {
          const eol = buf.indexOf(10);
          if (eol < 0) {
            header += buf.toString('latin1');
            buf = buf.subarray(buf.length);
            continue;
          }
          header += buf.toString('latin1', 0, eol);
          buf = buf.subarray(eol + 1);
          const [id = '', type = '', size = ''] = header.split(' ');
          header = '';
          current = unique[index++] ?? id;
          if (type === 'missing' || type === 'ambiguous') {
            result.missing.push(current);
            continue;
          }
          remaining = Number(size);
          hash = createHash(algorithm).update(`${type} ${remaining}\0`);
          result.checked++;
        }
        const take = Math.min(remaining, buf.length);
        hash?.update(buf.subarray(0, take));
        buf = buf.subarray(take);
        remaining -= take;
        result.bytes += take;
        if (remaining === 0) {
          if (hash?.digest('hex') !== current) result.forged.push(current);
          remaining = -1;
          skipNewline = true;
        }
      }
    }
    const code = await exited;
    if (code !== 0) throw new ExternalToolError('git cat-file', code, redact(stderr));
    return result;
  }

  /** Streams one blob into a file (any size, bounded memory). */
  async blobToFile(id: string, file: string): Promise<void> {
    const sink = createWriteStream(file, { flags: 'wx', mode: 0o600 });
    const child = spawnProcess('git', [...BASE_CONFIG, '-c', 'core.bigFileThreshold=1m', 'cat-file', 'blob', id], { cwd: this.cwd, stdio: ['ignore', 'pipe', 'pipe'], ...OWN_GROUP });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number>((res, rej) => {
      child.on('error', rej);
      child.on('close', (code) => res(code ?? 1));
    });
    (child.stdout as Readable).pipe(sink as Writable);
    const [code] = await Promise.all([exited, once(sink, 'close')]);
    if (code !== 0) throw new ExternalToolError('git cat-file', code, stderr);
  }

  /** Notes (refs/notes/<ref>) for all annotated objects: object id → note blob id. */
  async noteIndex(notesRef: string): Promise<Map<string, string>> {
    const map = new Map<string, string>();
    const r = await this.run(['ls-tree', '-r', '-z', notesRef], { allowFail: true });
    if (r.exitCode !== 0) return map;
    for (const entry of r.stdout.split('\0')) {
      if (!entry) continue;
      const tab = entry.indexOf('\t');
      const meta = entry.slice(0, tab).split(' ');
      const object = entry.slice(tab + 1).replaceAll('/', '');
      if (meta[1] === 'blob' && meta[2]) map.set(object, meta[2]);
    }
    return map;
  }

  async writeNote(notesRef: string, object: string, text: string): Promise<void> {
    await this.run(['notes', `--ref=${notesRef}`, 'add', '-f', '-F', '-', object], {
      input: text,
      env: await this.identityEnv(),
    });
  }

  async removeNote(notesRef: string, object: string): Promise<void> {
    await this.run(['notes', `--ref=${notesRef}`, 'remove', '--ignore-missing', object], { env: await this.identityEnv() });
  }
}

function safeUser(): string {
  try {
    return userInfo().username || 'git-rollback';
  } catch {
    return 'git-rollback';
  }
}

/** git's raw date format: "<unix seconds> <+hhmm>" in local time zone. */
export function gitDate(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  const tz = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
  return `${Math.floor(date.getTime() / 1000)} ${tz}`;
}

function isObjectId(id: string, algorithm: ObjectFormat): boolean {
  return id.length === (algorithm === 'sha256' ? 64 : 40) && /^[0-9a-f]+$/.test(id);
}

/** Unmerged states of `git status --porcelain` (XY). */
const UNMERGED = new Set(['DD', 'AU', 'UD', 'UA', 'DU', 'AA', 'UU']);

/**
 * Parses `git status --porcelain -z`: entries "XY PATH\0", and for a rename or
 * copy (X or Y is R or C) "XY TO\0FROM\0"; "??" marks an untracked file.
 * Paths are bytes as git wrote them, decoded as UTF-8 (as everywhere else).
 */
export function parseStatusZ(out: Buffer): { tracked: string[]; untracked: string[]; conflicted: string[] } {
  const tracked: string[] = [];
  const untracked: string[] = [];
  const conflicted: string[] = [];
  const fields = out.toString('utf8').split('\0');
  for (let i = 0; i < fields.length; i++) {
    const entry = fields[i] as string;
    if (entry === '') continue;
    if (entry.length < 4 || entry[2] !== ' ') throw new ExternalToolError('git status', 0, `unexpected output: ${JSON.stringify(entry.slice(0, 200))}`);
    const xy = entry.slice(0, 2);
    const path = entry.slice(3);
    if (/[RC]/.test(xy)) i++; // the FROM path of a rename or copy
    if (xy === '??') untracked.push(path);
    else if (xy !== '!!') {
      tracked.push(path);
      if (UNMERGED.has(xy)) conflicted.push(path);
    }
  }
  return { tracked, untracked, conflicted };
}
