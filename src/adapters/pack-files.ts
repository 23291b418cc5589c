// Where dump packs live and how they get there: the repository's object
// format and pack directory, the private directory a pack is written in
// (.git/rollback/tmp/store-<pid>-<random>), its move into objects/pack with a
// `.keep`, the removal of private directories left by killed processes, and
// the list of our kept packs (dump-store.ts writes them, pack-compact.ts
// compacts and merges them).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { ExternalToolError } from '../core/errors.js';
import { readIndex, type HashAlgorithm, type PackIndexEntry, type WrittenPack } from './pack-writer.js';
import { run } from './process.js';
import { pidAlive } from './pid.js';

/** Content of our `.keep` files; its first word is how compaction tells our kept packs from the user's. */
export const KEEP_TEXT = 'git-rollback: database dump chunks; `git gc` leaves this pack alone, `git rollback prune` compacts it\n';
const STORE_PREFIX = 'store-';


export interface RepoFacts {
  algorithm: HashAlgorithm;
  /** objects/pack of the repository (GIT_OBJECT_DIRECTORY respected). */
  packDir: string;
  /** .git/rollback in the common git dir. */
  stateDir: string;
}

/** Object format and where packs and our state live (one `git rev-parse`). */
export async function repoFacts(cwd: string, gitDir?: string): Promise<RepoFacts> {
  const args = ['rev-parse', '--show-object-format', '--git-common-dir', '--git-path', 'objects'];
  const r = await run('git', gitDir ? [`--git-dir=${gitDir}`, ...args] : args, { cwd });
  const [format, common, objects] = r.stdout.split('\n').map((l) => l.trim());
  if (!common || !objects) throw new ExternalToolError('git rev-parse', 0, `unexpected output: ${r.stdout.slice(0, 200)}`);
  return {
    algorithm: format === 'sha256' ? 'sha256' : 'sha1',
    packDir: join(resolve(cwd, objects), 'pack'),
    stateDir: join(resolve(cwd, common), 'rollback'),
  };
}

/** A private directory for one store's pack, named so that cleanupInterruptedStores() can tell whose it is. */
export async function makeQuarantine(stateDir: string): Promise<string> {
  const tmp = join(stateDir, 'tmp');
  await mkdir(tmp, { recursive: true });
  const dir = join(tmp, `${STORE_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  const owner: StoreOwner = { pid: process.pid, host: hostname(), start: processStart(process.pid) };
  await writeFile(join(dir, 'owner.json'), JSON.stringify(owner) + '\n');
  return dir;
}

interface StoreOwner {
  pid: number;
  host: string;
  /** The process's start time (clock ticks since boot, /proc/<pid>/stat field 22), so a reused pid is not mistaken for the owner. */
  start: string | null;
}

function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}


/**
 * Removes the private pack directories of dump stores whose process is gone
 * (killed during a point or a backup): they hold only a pack that was never
 * installed, so nothing refers to it. A directory of a live process, or of
 * another host (a git dir on a shared disk), is left alone. Every store
 * calls it before writing; callers that hold the repository lock may call it
 * on their own (status, prune, recovery of an interrupted job). Returns the
 * directories removed.
 */
export async function cleanupInterruptedStores(stateDir: string): Promise<string[]> {
  const tmp = join(stateDir, 'tmp');
  let names: string[];
  try {
    names = await readdir(tmp);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = new RegExp(`^${STORE_PREFIX}(\\d+)-[0-9a-f]+$`).exec(name);
    if (!m) continue;
    const dir = join(tmp, name);
    const pid = Number(m[1]);
    let owner: Partial<StoreOwner> = {};
    try {
      owner = JSON.parse(await readFile(join(dir, 'owner.json'), 'utf8')) as StoreOwner;
    } catch {
      // Killed between mkdir and writing owner.json: the name still has the pid, and it is this host's tmp dir.
    }
    if (owner.host && owner.host !== hostname()) continue;
    if (pid === process.pid) continue;
    const running = pidAlive(pid) && (owner.start == null || processStart(pid) === null || processStart(pid) === owner.start);
    if (running) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/**
 * Moves a finished pack into objects/pack: the pack, then its `.keep` (when
 * asked), then the index, then an fsync of the directory. git only uses a
 * pack once its index exists, so no reader ever sees half of it, and `git gc`
 * never sees it without its `.keep`.
 */
export async function installPack(written: WrittenPack, packDir: string, keep: boolean): Promise<void> {
  await mkdir(packDir, { recursive: true });
  const pack = join(packDir, basename(written.pack));
  const idx = join(packDir, basename(written.idx));
  if (await exists(idx)) return; // the very same pack (same checksum) is already there
  await moveFile(written.pack, pack);
  if (keep) await writeFile(join(packDir, basename(written.pack).replace(/\.pack$/, '.keep')), KEEP_TEXT);
  await moveFile(written.idx, idx);
  const dir = await open(packDir, 'r');
  await dir.sync().finally(() => dir.close());
}

async function exists(path: string): Promise<boolean> {
  try {
    await open(path, 'r').then((f) => f.close());
    return true;
  } catch {
    return false;
  }
}

/** rename(), or copy + fsync + remove when objects/ is on another file system (GIT_OBJECT_DIRECTORY). */
async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(from, to);
    const f = await open(to, 'r');
    await f.sync().finally(() => f.close());
    await rm(from, { force: true });
  }
}


export interface KeptPack {
  /** Path without extension. */
  base: string;
  size: number;
  /** In offset order, each with the length of its entry in the pack. */
  entries: (PackIndexEntry & { length: number })[];
}

/**
 * Our kept packs (those whose `.keep` is ours), with their entries. A pack
 * whose removal was interrupted (its index already gone) is removed now
 * unless `dryRun`.
 */
export async function ourKeptPacks(packDir: string, algorithm: HashAlgorithm, dryRun = false): Promise<KeptPack[]> {
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
    out.push({ base, size, entries: sorted.map((e, i) => ({ ...e, length: (sorted[i + 1]?.offset ?? size - hashBytes) - e.offset })) });
  }
  return out;
}

/** The ids of every object in our kept packs (from their indexes; changes nothing). */
export async function keptPackIds(facts: RepoFacts): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const p of await ourKeptPacks(facts.packDir, facts.algorithm, true)) for (const e of p.entries) ids.add(e.id);
  return ids;
}

/** Index first (git stops using the pack), then the pack, then the `.keep` that marks it as ours. */
export async function removePack(base: string): Promise<void> {
  for (const ext of ['.idx', '.rev', '.bitmap', '.pack', '.keep']) await rm(`${base}${ext}`, { force: true });
}
