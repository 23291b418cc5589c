// Small git objects (a point's manifest, its trees, snapshot commit and tag)
// written by us as loose objects, the way git writes them: zlib of
// "<type> <size>\0<body>", named by its SHA-1 (or SHA-256) in
// objects/xx/yyyy, through a tmp_obj_ file linked into place. Each replaces
// a git process (hash-object, update-index + write-tree, commit-tree, mktag)
// on the path of every point: ~3 ms of node's time to spawn and a few ms of
// waiting each (docs/decisions.md, "A point's small objects").
//
// Only where git would write exactly these bytes: Git (git.ts) asks for the
// settings that change what git writes (signing, shared permissions, fsync
// of loose objects, commit encoding) and for anything unusual (an identity
// git would clean up, a path git would refuse) uses git's own commands.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, renameSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

export type ObjectType = 'blob' | 'tree' | 'commit' | 'tag';

/**
 * Writes `body` as a loose object of `type`; returns its id. An object
 * already there is left as it is (its mtime refreshed, as git does).
 * Synchronous file calls: a few small ones, where the thread pool may be
 * busy compressing a dump's chunks.
 */
export async function writeLooseObject(objectsDir: string, algorithm: 'sha1' | 'sha256', type: ObjectType, body: Buffer): Promise<string> {
  const header = Buffer.from(`${type} ${body.length}\0`, 'latin1');
  const id = createHash(algorithm).update(header).update(body).digest('hex');
  const dir = join(objectsDir, id.slice(0, 2));
  const file = join(dir, id.slice(2));
  const now = new Date();
  try {
    utimesSync(file, now, now);
    return id;
  } catch {
    // not there yet
  }
  mkdirSync(dir, { recursive: true });
  // git's own prefix: `git prune` removes a leftover one after a crash.
  const tmp = join(dir, `tmp_obj_${randomBytes(6).toString('hex')}`);
  // Level 1: git's default for loose objects (core.looseCompression).
  writeFileSync(tmp, deflateSync(Buffer.concat([header, body]), { level: 1 }), { mode: 0o444, flag: 'wx' });
  try {
    linkSync(tmp, file);
  } catch (error) {
    // A file system without hard links: rename, as git does.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST' && !existsSync(file)) {
      renameSync(tmp, file);
      return id;
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // renamed, or already gone
    }
  }
  return id;
}

export interface TreeEntry {
  mode: string;
  blob: string;
  path: string;
}

/** Modes of the entries we write (files, executables, symlinks). */
const FILE_MODES = new Set(['100644', '100755', '120000']);

/**
 * A path whose every component git accepts as it is, on every platform
 * (no ".git" in any spelling, no "." / "..", no control characters, nothing
 * NTFS or HFS+ would alias). Others go through `git update-index`, which
 * refuses what it must.
 */
export function plainPath(path: string): boolean {
  return path.split('/').every((c) => /^[A-Za-z0-9._+=,@-][A-Za-z0-9 ._+=,@-]*$/.test(c) && !/[ .]$/.test(c) && c.toLowerCase() !== '.git' && !/^git~\d+$/i.test(c));
}

/**
 * The tree objects for (mode, blob, path) entries, nested as their paths
 * say; returns the root's id. Entries are sorted as git sorts them (bytes,
 * a directory as its name followed by "/"). Throws on a path that is both a
 * file and a directory, or given twice.
 */
export async function writeTrees(objectsDir: string, algorithm: 'sha1' | 'sha256', entries: readonly TreeEntry[]): Promise<string> {
  interface Dir {
    files: Map<string, { mode: string; id: string }>;
    dirs: Map<string, Dir>;
  }
  const root: Dir = { files: new Map(), dirs: new Map() };
  const idLength = algorithm === 'sha256' ? 64 : 40;
  for (const e of entries) {
    if (!FILE_MODES.has(e.mode) || e.blob.length !== idLength || !/^[0-9a-f]+$/.test(e.blob) || !plainPath(e.path)) throw new Error(`not a plain tree entry: ${e.mode} ${e.blob} ${e.path}`);
    const parts = e.path.split('/');
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      if (dir.files.has(part)) throw new Error(`${e.path}: a file and a directory`);
      let next = dir.dirs.get(part);
      if (!next) dir.dirs.set(part, (next = { files: new Map(), dirs: new Map() }));
      dir = next;
    }
    const name = parts[parts.length - 1] as string;
    if (dir.files.has(name) || dir.dirs.has(name)) throw new Error(`${e.path}: given twice, or a file and a directory`);
    dir.files.set(name, { mode: e.mode, id: e.blob });
  }
  const write = async (dir: Dir): Promise<string> => {
    const items: { key: Buffer; mode: string; name: string; id: string }[] = [];
    for (const [name, f] of dir.files) items.push({ key: Buffer.from(name, 'utf8'), mode: f.mode, name, id: f.id });
    for (const [name, d] of dir.dirs) items.push({ key: Buffer.from(`${name}/`, 'utf8'), mode: '40000', name, id: await write(d) });
    items.sort((a, b) => Buffer.compare(a.key, b.key));
    const body = Buffer.concat(items.flatMap((i) => [Buffer.from(`${i.mode} ${i.name}\0`, 'utf8'), Buffer.from(i.id, 'hex')]));
    return writeLooseObject(objectsDir, algorithm, 'tree', body);
  };
  return write(root);
}

/** "Name <email>" as git writes it, or null when git would change it (it strips such characters). */
export function plainIdent(name: string, email: string): string | null {
  const ok = (s: string) => s.length > 0 && !/[<>\n\0]/.test(s) && !/^[\x00-\x20.,:;"'\\]|[\x00-\x20.,:;"'\\]$/.test(s);
  return ok(name) && ok(email) ? `${name} <${email}>` : null;
}
