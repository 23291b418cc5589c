// Verifying points: every object of a snapshot exists and every file and dump
// matches its sha256 — the same check `to` makes before it changes anything.
import { createHash } from 'node:crypto';
import type { Point } from '../core/types.js';
import type { Context } from './context.js';
import { loadSnapshot } from './rollback.js';

export interface Verification {
  tag: string;
  ok: boolean;
  checked: number;
  bytes: number;
  problems: string[];
  ms: number;
}

export async function verifyPoint(ctx: Context, point: Point): Promise<Verification> {
  const started = Date.now();
  const problems: string[] = [];
  let checked = 0;
  let bytes = 0;
  const commitOk = await ctx.git.objectSizes([point.commit]);
  if (commitOk.get(point.commit) === null) problems.push(`code commit ${point.commit.slice(0, 12)} is missing`);
  let snapshot = null;
  try {
    snapshot = await loadSnapshot(ctx, point);
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (snapshot) {
    const files = [...snapshot.config, ...snapshot.paths, ...snapshot.captures.map((c) => ({ path: `capture/${c.name}.txt`, blob: c.blob, sha256: c.sha256, size: c.size, mode: '100644' }))];
    const blobs = await ctx.git.readBlobs(files.filter((f) => f.mode !== '120000').map((f) => f.blob));
    for (const f of files) {
      if (f.mode === '120000') continue;
      const data = blobs.get(f.blob);
      checked++;
      if (!data) problems.push(`${f.path}: object ${f.blob.slice(0, 12)} is missing`);
      else {
        bytes += data.length;
        if (createHash('sha256').update(data).digest('hex') !== f.sha256) problems.push(`${f.path}: content does not match its sha256`);
      }
    }
    if (snapshot.worktree) {
      const ids = [snapshot.worktree.commit, snapshot.worktree.index, ...(snapshot.worktree.untracked ? [snapshot.worktree.untracked] : [])];
      const sizes = await ctx.git.objectSizes(ids);
      for (const [id, size] of sizes) if (size === null) problems.push(`uncommitted work: object ${id.slice(0, 12)} is missing`);
    }
    if (snapshot.databases.length > 0) {
      const { GitDumpStore } = await import('../adapters/dump-store.js');
      const store = new GitDumpStore(ctx.repo.root);
      for (const d of snapshot.databases) {
        checked++;
        try {
          const r = await store.verify(d.chunks ?? (d.blob ? [{ blob: d.blob, size: d.size }] : []), d.sha256);
          bytes += r.size;
        } catch (error) {
          problems.push(`database ${d.name}: ${(error as Error).message}`);
        }
      }
    }
  }
  return { tag: point.tag, ok: problems.length === 0, checked, bytes, problems, ms: Date.now() - started };
}
