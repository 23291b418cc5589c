// The domain types every layer shares: points, snapshots and their manifests.
// Their JSON shapes are the format in git (docs/format.md): change with care.
import type { ShapeProblem } from './note-shape.js';

export const POINT_KINDS = ['point', 'release', 'backup', 'deploy'] as const;
export type PointKind = (typeof POINT_KINDS)[number];

export interface Person {
  name: string;
  email: string;
  host: string;
}

/** A file stored in a snapshot (config file or a file under a data path). */
export interface FileEntry {
  path: string;
  /** Octal mode as git writes it, but with the real permission bits: "100600". */
  mode: string;
  size: number;
  sha256: string;
  blob: string;
  /** Target for symbolic links (mode 120000). */
  link?: string;
  /** Numeric owner and group when captured (restored where the process may set them). */
  uid?: number;
  gid?: number;
  /** Set when the blob is encrypted (age, src/adapters/crypto.ts); blob then holds the ciphertext. */
  enc?: 'age';
  /** Keyed hash of the plaintext, so an unchanged encrypted file reuses its blob. */
  key?: string;
}

/** One chunk of a database dump, in order. */
export interface ChunkRef {
  blob: string;
  /** Size of the stored blob (the ciphertext when the dump is encrypted). */
  size: number;
  /** Keyed hash of the plaintext chunk (encrypted dumps only): what deduplicates them. */
  key?: string;
  /** Set when the chunk is sealed with age (src/adapters/crypto.ts). */
  enc?: 'age';
}

export interface DatabaseEntry {
  name: string;
  engine: string;
  format: string;
  /** Path in the snapshot tree: db/<name>.<ext> (one blob) or db/<name>/ (chunks). */
  path: string;
  size: number;
  sha256: string;
  /** Set when the dump is one blob. */
  blob?: string;
  /** Set when the dump is chunked: chunk blobs in order. */
  chunks?: ChunkRef[];
  tool: string;
  serverVersion?: string;
  ms: number;
  /** Engine-specific facts worth showing (database name, tables, keys…), never secrets. */
  details?: Record<string, unknown>;
  /**
   * The database did not exist when the point was made (a SQLite file not
   * created yet, a database on a fresh machine): no dump, size 0, no chunks.
   * Restoring it makes the database absent again (its live copy is parked).
   */
  absent?: boolean;
}

export interface CaptureEntry {
  name: string;
  command: string;
  exitCode: number;
  size: number;
  blob: string;
  sha256: string;
}

export interface WorktreeState {
  /** Stash-like commit: tree = working tree, parents = [HEAD, index commit, untracked commit?]. */
  commit: string;
  index: string;
  untracked: string | null;
  files: number;
}

export interface SnapshotInfo {
  commit: string;
  ref: string;
  config: FileEntry[];
  paths: FileEntry[];
  databases: DatabaseEntry[];
  captures: CaptureEntry[];
  worktree: WorktreeState | null;
  size: number;
}

export interface ReleaseInfo {
  version: string;
  previous: string | null;
  change: string | null;
}

/** The JSON note on the tag object (refs/notes/rollback), schema 1. */
export interface PointNote {
  schema: 1;
  id: string;
  kind: PointKind;
  description: string;
  createdAt: string;
  createdBy: Person;
  commit: string;
  branch: string | null;
  dirty: boolean;
  snapshot: SnapshotInfo | null;
  protected: boolean;
  release: ReleaseInfo | null;
  /** Mutable facts added later (verification, last restore…) and unknown fields are kept. */
  [extra: string]: unknown;
}

/** A point as read back from git. */
export interface Point {
  kind: PointKind;
  id: string;
  /** Tag name without refs/tags/, e.g. rollback/20250906-131058. */
  tag: string;
  tagObject: string;
  commit: string;
  createdAt: Date;
  description: string;
  /** Immutable facts read from the tag message trailers. */
  trailers: Record<string, string>;
  note: PointNote | null;
  /**
   * Set when the note is there but not as documented (a field of the wrong
   * type): `note` is then null, and the point's facts come from its tag and
   * the manifest of the snapshot the tag names, as for a point without a note.
   */
  noteProblem?: ShapeProblem;
}

/** manifest.json at the root of a snapshot tree. */
export interface Manifest {
  schema: 1;
  id: string;
  kind: PointKind;
  createdAt: string;
  commit: string;
  branch: string | null;
  config: FileEntry[];
  paths: FileEntry[];
  databases: DatabaseEntry[];
  captures: CaptureEntry[];
  worktree: WorktreeState | null;
  /** Config globs as configured when the snapshot was taken. */
  patterns: { config: string[]; paths: string[] };
}
