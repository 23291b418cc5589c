// Compaction of the dump packs that carry our `.keep` (dump-store.ts): `git gc`
// never repacks nor prunes them, so the chunks of deleted points stay until
// this runs (from `git rollback prune`, under the repository lock). It keeps
// every object that anything in the repository still reaches (all refs of
// all worktrees, reflogs, indexes: what `git gc` itself keeps) plus the
// roots the caller names (points deleted but still undoable); a pack with
// nothing reachable is deleted, one with enough unreachable bytes is
// rewritten with only what is reachable, entries copied byte for byte (no
// recompression, CRC-32 checked against the old index); many small kept
// packs are merged into one.
import { open, rm } from 'node:fs/promises';
import { installPack, makeQuarantine, ourKeptPacks, removePack, repoFacts, type KeptPack, type RepoFacts } from './pack-files.js';
import { PackWriter } from './pack-writer.js';
import { startPiped } from './piped.js';
import zlib from 'node:zlib';
import { ExternalToolError } from '../core/errors.js';

export interface CompactOptions {
  gitDir?: string;
  /** Extra objects (commits, trees, blobs) whose reach must be kept, e.g. snapshot commits of deleted but undoable points. */
  keep?: readonly string[];
  /** Rewrite a pack when at least this fraction of its bytes is unreachable (default 0.1). */
  rewriteAbove?: number;
  /** Merge kept packs smaller than this (default 64 MiB) when there are more than `mergeWhenMore` of them (default 16). */
  mergeBelow?: number;
  mergeWhenMore?: number;
  /** Compute what would happen, change nothing. */
  dryRun?: boolean;
}

export interface CompactResult {
  /** Our kept packs before. */
  packs: number;
  /** Packs deleted (nothing reachable) or replaced by the rewritten pack. */
  removed: number;
  /** Objects written into the new pack (0: none written). */
  copied: number;
  /** Unreachable objects dropped. */
  dropped: number;
  bytesBefore: number;
  bytesAfter: number;
}

const DEFAULTS = { rewriteAbove: 0.1, mergeBelow: 64 * 1024 * 1024, mergeWhenMore: 16 };

export async function compactDumpPacks(cwd: string, options: CompactOptions = {}): Promise<CompactResult> {
  const o = { ...DEFAULTS, ...options };
  const facts = await repoFacts(cwd, options.gitDir);
  const { packDir, algorithm } = facts;
  const packs = await ourKeptPacks(packDir, algorithm, options.dryRun ?? false);
  const result: CompactResult = { packs: packs.length, removed: 0, copied: 0, dropped: 0, bytesBefore: 0, bytesAfter: 0 };
  result.bytesBefore = packs.reduce((n, p) => n + p.size, 0);
  if (packs.length === 0) return result;

  const candidates = new Set<string>();
  for (const p of packs) for (const e of p.entries) candidates.add(e.id);
  const live = await reachable(cwd, options.gitDir, candidates, options.keep ?? []);

  const remove: KeptPack[] = [];
  const rewrite: KeptPack[] = [];
  for (const p of packs) {
    const dead = p.entries.filter((e) => !live.has(e.id));
    result.dropped += dead.length;
    if (dead.length === p.entries.length) remove.push(p);
    else if (dead.reduce((n, e) => n + e.length, 0) >= p.size * o.rewriteAbove) rewrite.push(p);
  }
  const small = packs.filter((p) => !remove.includes(p) && !rewrite.includes(p) && p.size < o.mergeBelow);
  if (packs.length - remove.length > o.mergeWhenMore && small.length > 1) rewrite.push(...small);
  if (rewrite.length === 1 && rewrite[0]!.entries.every((e) => live.has(e.id))) rewrite.length = 0;

  if (options.dryRun) {
    const gone = [...remove, ...rewrite];
    const kept = rewrite.reduce((n, p) => n + p.entries.filter((e) => live.has(e.id)).reduce((m, e) => m + e.length, 0), 0);
    result.removed = gone.length;
    result.bytesAfter = result.bytesBefore - gone.reduce((n, p) => n + p.size, 0) + kept;
    return result;
  }

  if (rewrite.length > 0) {
    const written = await copyInto(facts, rewrite, (id) => live.has(id));
    result.copied = written.objects;
    result.bytesAfter += written.bytes;
  }
  for (const p of [...remove, ...rewrite]) await removePack(p.base);
  result.removed = remove.length + rewrite.length;
  result.bytesAfter += packs.filter((p) => !remove.includes(p) && !rewrite.includes(p)).reduce((n, p) => n + p.size, 0);
  return result;
}

/**
 * Copies the entries of `packs` that `wanted` accepts (each id once) into
 * one new kept pack, installed before anything else changes; entries are
 * copied byte for byte, their CRC-32 checked against the old index.
 */
async function copyInto(facts: RepoFacts, packs: readonly KeptPack[], wanted: (id: string) => boolean): Promise<{ objects: number; bytes: number }> {
  const quarantine = await makeQuarantine(facts.stateDir);
  const writer = await PackWriter.create(quarantine, facts.algorithm);
  try {
    const done = new Set<string>();
    for (const p of packs) {
      const fh = await open(`${p.base}.pack`, 'r');
      try {
        for (const e of p.entries) {
          if (!wanted(e.id) || done.has(e.id)) continue;
          const entry = Buffer.allocUnsafe(e.length);
          const { bytesRead } = await fh.read(entry, 0, e.length, e.offset);
          if (bytesRead !== e.length || zlib.crc32(entry) !== e.crc) {
            throw new Error(`${p.base}.pack: the entry of ${e.id} is damaged (CRC-32 differs from the index); run git fsck`);
          }
          await writer.addEntry(e.id, entry, e.crc);
          done.add(e.id);
        }
      } finally {
        await fh.close();
      }
    }
    const written = await writer.finish();
    if (!written) return { objects: 0, bytes: 0 };
    await installPack(written, facts.packDir, true);
    return { objects: done.size, bytes: written.bytes };
  } finally {
    if (writer.open) await writer.abort();
    await rm(quarantine, { recursive: true, force: true });
  }
}

/**
 * Keeps the number of dump packs logarithmic in their total size, as `git
 * repack --geometric=2` does for git's own packs: the smallest packs are
 * merged while the next one is less than twice their sum. Copies only the
 * small packs (the big first dump of a database stays as it is), so a point
 * that adds a little pays little. Nothing is dropped: no reachability walk.
 * Returns the number of packs merged (0 or ≥ 2).
 */
export async function mergeSmallDumpPacks(facts: RepoFacts): Promise<number> {
  const packs = (await ourKeptPacks(facts.packDir, facts.algorithm)).sort((a, b) => a.size - b.size);
  let sum = 0;
  let n = 0;
  while (n < packs.length && (n === 0 || packs[n]!.size < 2 * sum)) sum += packs[n++]!.size;
  if (n < 2) return 0;
  const merged = packs.slice(0, n);
  await copyInto(facts, merged, () => true);
  for (const p of merged) await removePack(p.base);
  return n;
}

/** Which of `candidates` anything in the repository (or `roots`) reaches. */
async function reachable(cwd: string, gitDir: string | undefined, candidates: Set<string>, roots: readonly string[]): Promise<Set<string>> {
  const args = ['rev-list', '--objects', '--no-object-names', '--all', '--reflog', '--indexed-objects', '--ignore-missing', '--stdin'];
  const proc = startPiped('git', gitDir ? [`--git-dir=${gitDir}`, ...args] : args, { cwd, label: 'git rev-list' });
  proc.stdin.end(roots.map((r) => `${r}\n`).join(''));
  const live = new Set<string>();
  let rest = '';
  proc.stdout.setEncoding('latin1');
  for await (const text of proc.stdout as AsyncIterable<string>) {
    const lines = (rest + text).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (candidates.has(line)) live.add(line);
  }
  if (candidates.has(rest)) live.add(rest);
  const code = await proc.exit();
  // A failed walk must never read as "nothing is reachable".
  if (code !== 0) throw new ExternalToolError('git rev-list', code, proc.stderr(), undefined, 'run git fsck; nothing was removed');
  return live;
}
