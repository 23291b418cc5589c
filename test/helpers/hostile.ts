// Crafting hostile points the way an attacker with push rights would: raw
// tree objects (`hash-object -t tree --literally`, so any name, "..", ".git"
// or duplicate goes in), snapshot commits, tags (`mktag`) and notes written by
// hand, pushed to a bare remote that a victim clone then fetches.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, lstatSync, readlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Repo } from './repo.js';
import type { FileEntry } from '../../src/core/types.js';

export interface RawEntry {
  /** Tree path, split on "/" into nested trees; any component is allowed (that is the point). */
  path: string;
  /** Git tree mode: 100644, 100755, 120000. */
  mode?: string;
  content: string;
}

function gitIn(repo: Repo, args: string[], input?: string | Buffer): string {
  return execFileSync('git', args, { cwd: repo.dir, env: repo.env, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

/** A blob (literally: no checks) and its id. */
export function blob(repo: Repo, content: string | Buffer): string {
  return gitIn(repo, ['hash-object', '-w', '--literally', '--stdin'], content);
}

/** A tree object from raw entries, written with --literally so git checks nothing. */
export function rawTree(repo: Repo, entries: readonly { mode: string; name: string; id: string }[]): string {
  const parts: Buffer[] = [];
  for (const e of entries) parts.push(Buffer.from(`${e.mode} ${e.name}\0`, 'utf8'), Buffer.from(e.id, 'hex'));
  return gitIn(repo, ['hash-object', '-w', '--literally', '-t', 'tree', '--stdin'], Buffer.concat(parts));
}

interface Node {
  files: { name: string; mode: string; id: string }[];
  dirs: Map<string, Node>;
}

/** Nested trees for paths like "config/../outside/x" (kept in insertion order, duplicates allowed). */
export function treeOf(repo: Repo, entries: readonly RawEntry[]): string {
  const root: Node = { files: [], dirs: new Map() };
  for (const e of entries) {
    const parts = e.path.split('/');
    let node = root;
    for (const dir of parts.slice(0, -1)) {
      if (!node.dirs.has(dir)) node.dirs.set(dir, { files: [], dirs: new Map() });
      node = node.dirs.get(dir) as Node;
    }
    node.files.push({ name: parts[parts.length - 1] as string, mode: e.mode ?? '100644', id: blob(repo, e.content) });
  }
  const write = (node: Node): string => {
    const list = [...node.files, ...[...node.dirs].map(([name, child]) => ({ name, mode: '40000', id: write(child) }))];
    // git's order (trees sort as "name/"); hostile duplicates stay where they are.
    list.sort((a, b) => Buffer.compare(Buffer.from(a.mode === '40000' ? `${a.name}/` : a.name), Buffer.from(b.mode === '40000' ? `${b.name}/` : b.name)));
    return rawTree(repo, list);
  };
  return write(root);
}

/** A file entry of a note or manifest (src/core/types.ts), with whatever values the test wants. */
export type FileFact = Pick<FileEntry, 'path' | 'mode' | 'size' | 'sha256' | 'blob' | 'link'>;

/** The note/manifest fact for a file stored at config/<path> or paths/<path>. */
export function fact(repo: Repo, path: string, content: string, mode = '100644', link?: string): FileFact {
  return { path, mode, size: Buffer.byteLength(content), sha256: createHash('sha256').update(content).digest('hex'), blob: blob(repo, content), ...(link !== undefined ? { link } : {}) };
}

export interface CraftedPoint {
  id: string;
  /** Code commit the point tags (default HEAD of the attacker's repo). */
  commit?: string;
  description?: string;
  /** The snapshot tree (defaults to manifest.json + config/<path> of every config fact). */
  tree?: RawEntry[];
  config?: FileFact[];
  paths?: FileFact[];
  /** Extra note/manifest fields (patterns, ref…), merged last. */
  snapshotExtra?: Record<string, unknown>;
}

/**
 * Writes a point as git-rollback would, but with whatever content the test
 * wants: snapshot tree and commit, annotated tag, note on the tag object,
 * and the refs. Returns the tag object id.
 */
export function craftPoint(repo: Repo, p: CraftedPoint): { tag: string; tagObject: string; snapshot: string } {
  const commit = p.commit ?? gitIn(repo, ['rev-parse', 'HEAD']);
  const config = p.config ?? [];
  const paths = p.paths ?? [];
  const manifest = { schema: 1, id: p.id, kind: 'point', createdAt: '2026-01-01T00:00:00Z', commit, branch: 'main', config, paths, databases: [], captures: [], worktree: null, patterns: { config: [], paths: [] }, ...p.snapshotExtra };
  const treeEntries: RawEntry[] = p.tree ?? [
    ...config.map((f) => ({ path: `config/${f.path}`, mode: f.mode === '120000' ? '120000' : '100644', content: f.link ?? readBlob(repo, f.blob) })),
    ...paths.map((f) => ({ path: `paths/${f.path}`, mode: f.mode === '120000' ? '120000' : '100644', content: f.link ?? readBlob(repo, f.blob) })),
  ];
  const tree = treeOf(repo, [{ path: 'manifest.json', content: JSON.stringify(manifest, null, 2) + '\n' }, ...treeEntries]);
  const snapshot = gitIn(repo, ['commit-tree', tree, '-p', commit, '-m', `git-rollback snapshot point/${p.id}`]);
  const tagName = `rollback/${p.id}`;
  const message = `${p.description ?? `crafted ${p.id}`}\n\nRollback-Id: ${p.id}\nRollback-Kind: point\nRollback-Snapshot: ${snapshot}\n`;
  const tagObject = gitIn(repo, ['mktag'], `object ${commit}\ntype commit\ntag ${tagName}\ntagger Mallory <m@example.com> 1767225600 +0000\n\n${message}`);
  const note = {
    schema: 1,
    id: p.id,
    kind: 'point',
    description: p.description ?? `crafted ${p.id}`,
    createdAt: '2026-01-01T00:00:00Z',
    createdBy: { name: 'Mallory', email: 'm@example.com', host: 'evil' },
    commit,
    branch: 'main',
    dirty: false,
    snapshot: { commit: snapshot, ref: `refs/rollback/snapshots/point/${p.id}`, config, paths, databases: [], captures: [], worktree: null, size: 0, ...p.snapshotExtra },
    protected: false,
    release: null,
  };
  gitIn(repo, ['notes', '--ref=rollback', 'add', '-f', '-F', '-', tagObject], JSON.stringify(note, null, 2) + '\n');
  gitIn(repo, ['update-ref', `refs/tags/${tagName}`, tagObject]);
  gitIn(repo, ['update-ref', `refs/rollback/snapshots/point/${p.id}`, snapshot]);
  return { tag: tagName, tagObject, snapshot };
}

function readBlob(repo: Repo, id: string): string {
  return execFileSync('git', ['cat-file', 'blob', id], { cwd: repo.dir, env: repo.env, encoding: 'utf8' });
}

/** Pushes every point ref, the notes and snapshots, without any check on either side. */
export function pushAll(repo: Repo, remote: string): void {
  gitIn(repo, ['push', '-q', '-f', remote, 'refs/tags/*:refs/tags/*', 'refs/rollback/*:refs/rollback/*', 'refs/notes/rollback:refs/notes/rollback', 'refs/heads/*:refs/heads/*']);
}

/** A directory tree as {relative path: content or "-> link"}, to prove it byte-identical afterwards. */
export function snapshotDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, r));
      if (st.isSymbolicLink()) out[r] = `-> ${readlinkSync(join(dir, r))}`;
      else if (st.isDirectory()) {
        out[`${r}/`] = `dir ${(st.mode & 0o7777).toString(8)}`;
        walk(r);
      } else out[r] = `${(st.mode & 0o7777).toString(8)} ${readFileSync(join(dir, r), 'utf8')}`;
    }
  };
  walk('');
  return out;
}

/** A canary directory beside the repository: what nothing may write, delete or change. */
export function makeCanary(base: string): string {
  const dir = join(base, 'outside');
  mkdirSync(join(dir, 'nested'), { recursive: true });
  writeFileSync(join(dir, 'keep.txt'), 'canary: never written or deleted\n');
  writeFileSync(join(dir, 'nested', 'keep2.txt'), 'canary 2\n');
  return dir;
}
