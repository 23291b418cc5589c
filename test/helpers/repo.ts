// Test helpers: real git repositories in temp dirs with a pinned environment,
// and the built git-rollback binary run as a user would run it.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'git-rollback.js');

let sharedBin: string | null = null;
/**
 * The built tool copied into a folder every user may read, for tests that run
 * it as another user: the checkout itself may not be readable to them (a clone
 * in /root, or in CI's 0700 temp dir). Removed when the test process exits.
 */
export function binForAnyUser(): string {
  if (sharedBin) return sharedBin;
  const dir = mkdtempSync(join(tmpdir(), 'rb-bin-'));
  chmodSync(dir, 0o755);
  for (const part of ['bin', 'dist', 'package.json']) cpSync(join(ROOT, part), join(dir, part), { recursive: true });
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  sharedBin = join(dir, 'bin', 'git-rollback.js');
  return sharedBin;
}
export const FIXTURES = join(ROOT, 'test', 'fixtures');

/** An environment that makes git and git-rollback behave the same everywhere. */
export function pinnedEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: `${join(ROOT, 'test', 'helpers', 'bin')}:${process.env.PATH ?? ''}`,
    HOME: home,
    TZ: 'UTC',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    NO_COLOR: '1',
    // security: tests approve their configs as written (as CI does); trust tests unset it.
    GIT_ROLLBACK_TRUST: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Test User',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test User',
    GIT_COMMITTER_EMAIL: 'test@example.com',
    ...extra,
  };
  for (const k of Object.keys(process.env)) {
    if (k.startsWith('ROLLBACK_TEST_') && env[k] === undefined) env[k] = process.env[k];
  }
  return env;
}

// ---- security: object formats (SHA-1 and SHA-256 repositories) ----
export const OBJECT_FORMATS = ['sha1', 'sha256'] as const;
export type ObjectFormat = (typeof OBJECT_FORMATS)[number];
// ---- end security ----

export interface Repo {
  dir: string;
  home: string;
  env: NodeJS.ProcessEnv;
  git(...args: string[]): string;
  write(path: string, content: string, mode?: number): void;
  commit(message: string): string;
  cleanup(): void;
}

/** A new repository on branch main with one commit (unless `empty`); `objectFormat` as `git init --object-format`. */
export function makeRepo(options: { empty?: boolean; files?: Record<string, string>; objectFormat?: ObjectFormat } = {}): Repo {
  const base = mkdtempSync(join(tmpdir(), 'git-rollback-test-'));
  const dir = join(base, 'repo');
  const home = join(base, 'home');
  mkdirSync(dir);
  mkdirSync(home);
  const env = pinnedEnv(home);
  writeFileSync(join(home, '.gitconfig'), '[user]\n\tname = Test User\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n[gc]\n\tauto = 0\n[commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  git('init', '-q', '-b', 'main', ...(options.objectFormat ? [`--object-format=${options.objectFormat}`] : []));
  const repo: Repo = {
    dir,
    home,
    env,
    git,
    write(path, content, mode) {
      const p = join(dir, path);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, content);
      if (mode !== undefined) chmodSync(p, mode);
    },
    commit(message) {
      git('add', '-A');
      git('commit', '-q', '--allow-empty', '-m', message);
      return git('rev-parse', 'HEAD');
    },
    cleanup() {
      rmSync(base, { recursive: true, force: true });
    },
  };
  if (!options.empty) {
    for (const [p, c] of Object.entries(options.files ?? { 'README.md': '# app\n' })) repo.write(p, c);
    repo.commit('first commit');
  }
  return repo;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built binary (bin/git-rollback.js) like a user, without a terminal. */
export function cli(repo: { dir: string; env: NodeJS.ProcessEnv }, args: string[], options: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? repo.dir,
      env: { ...repo.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** `git fsck` must be clean after every test that wrote to a repository. */
export function fsck(repo: Repo): string {
  return execFileSync('git', ['fsck', '--no-progress', '--no-dangling'], { cwd: repo.dir, env: repo.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Waits until `path` exists (a hook or child signals it has reached a point),
 * failing as soon as `process` ends without making it. Tests synchronise on
 * such events, never on sleeps.
 */
export async function waitForFile(path: string, process: Promise<CliResult>): Promise<void> {
  let ended: CliResult | null = null;
  void process.then((r) => (ended = r));
  while (!existsSync(path)) {
    if (ended) throw new Error(`the process ended (exit ${(ended as CliResult).code}) before ${path} appeared: ${(ended as CliResult).stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
