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
import { readdir, readFile, rm, stat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { installPack, KEEP_TEXT, makeQuarantine, repoFacts } from './dump-store.js';
import { PackWriter, readIndex, type HashAlgorithm, type PackIndexEntry } from './pack-writer.js';
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

interface KeptPack {
  base: string; // path without extension
  size: number;
  entries: (PackIndexEntry & { length: number })[];
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
    const quarantine = await makeQuarantine(facts.stateDir);
    const writer = await PackWriter.create(quarantine, algorithm);
    try {
      const done = new Set<string>();
      for (const p of rewrite) {
        const fh = await open(`${p.base}.pack`, 'r');
        try {
          for (const e of [...p.entries].sort((a, b) => a.offset - b.offset)) {
            if (!live.has(e.id) || done.has(e.id)) continue;
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
      result.copied = done.size;
      const written = await writer.finish();
      if (written) {
        await installPack(written, packDir, true);
        result.bytesAfter += written.bytes;
      }
    } finally {
      if (writer.open) await writer.abort();
      await rm(quarantine, { recursive: true, force: true });
    }
  }
  for (const p of [...remove, ...rewrite]) await removePack(p.base);
  result.removed = remove.length + rewrite.length;
  result.bytesAfter += packs.filter((p) => !remove.includes(p) && !rewrite.includes(p)).reduce((n, p) => n + p.size, 0);
  return result;
}

/**
 * Our kept packs with their entries (id, offset, CRC, length). A pack whose
 * removal was interrupted (its index already gone) is removed now.
 */
async function ourKeptPacks(packDir: string, algorithm: HashAlgorithm, dryRun: boolean): Promise<KeptPack[]> {
  let names: string[];
  try {
    names = await readdir(packDir);
  } catch {
    return [];
  }
  const marker = KEEP_TEXT.split(':')[0]!;
  const out: KeptPack[] = [];
  for (const name of names.filter((n) => /^pack-[0-9a-f]+\.keep$/.test(n)).sort()) {
    const base = join(packDir, name.replace(/\.keep$/, ''));
    const text = await readFile(`${base}.keep`, 'utf8').catch(() => '');
    if (!text.startsWith(marker)) continue; // the user's own kept pack
    if (!names.includes(`${name.replace(/\.keep$/, '')}.idx`)) {
      if (!dryRun) await removePack(base);
      continue;
    }
    const { size } = await stat(`${base}.pack`);
    const { entries } = await readIndex(`${base}.idx`, algorithm);
    const hashBytes = algorithm === 'sha256' ? 32 : 20;
    const sorted = [...entries].sort((a, b) => a.offset - b.offset);
    const withLength = sorted.map((e, i) => ({ ...e, length: (sorted[i + 1]?.offset ?? size - hashBytes) - e.offset }));
    out.push({ base, size, entries: withLength });
  }
  return out;
}

/** Index first (git stops using the pack), then the pack, then the `.keep` that marks it as ours. */
async function removePack(base: string): Promise<void> {
  for (const ext of ['.idx', '.rev', '.bitmap', '.pack', '.keep']) await rm(`${base}${ext}`, { force: true });
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
