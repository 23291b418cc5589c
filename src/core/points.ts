// Points as names: ids, tag names, tag messages and how a user's <point>
// argument resolves to one point. Pure logic over already-read points.
import semver from './semver.js';
import { NotFoundError, UsageError } from './errors.js';
import { msg } from './i18n.js';
import { nearest } from './text.js';
import type { Point, PointKind } from './types.js';

export type TagPrefixes = Record<PointKind, string>;

/** UTC YYYYMMDD-HHMMSS, the default id of a point. */
export function timestampId(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getUTCFullYear()}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}-${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`;
}

/** The first of `base`, `base-2`, `base-3`… not in `taken`. */
export function uniqueId(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}

/** A --name must be usable inside a ref name and a database identifier suffix. */
export function validateId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(id) || id.includes('..') || id.endsWith('.lock') || id.endsWith('.')) {
    throw new UsageError(msg('points.invalidName', { id }), msg('points.invalidNameHint'));
  }
}

export function tagName(prefixes: TagPrefixes, kind: PointKind, id: string): string {
  return `${prefixes[kind]}${id}`;
}

export function snapshotRef(kind: PointKind, id: string): string {
  return `refs/rollback/snapshots/${kind}/${id}`;
}

const longestFirst = new WeakMap<TagPrefixes, [PointKind, string][]>();

/** Kind and id of a tag name, by the configured prefixes (longest prefix wins). */
export function parseTagName(prefixes: TagPrefixes, tag: string): { kind: PointKind; id: string } | null {
  // Sorted once per prefixes object: `list` asks this for every tag (10,000 sorts were ~15 ms).
  let entries = longestFirst.get(prefixes);
  if (!entries) longestFirst.set(prefixes, (entries = (Object.entries(prefixes) as [PointKind, string][]).sort((a, b) => b[1].length - a[1].length)));
  for (const [kind, prefix] of entries) {
    if (tag.startsWith(prefix) && tag.length > prefix.length) return { kind, id: tag.slice(prefix.length) };
  }
  return null;
}

const TRAILER = /^Rollback-([A-Za-z-]+): (.*)$/;

/** Tag message: the description, then immutable facts as git trailers. */
export function tagMessage(description: string, trailers: Record<string, string | number | boolean | null>): string {
  const lines = Object.entries(trailers)
    .filter(([, v]) => v !== null && v !== '')
    .map(([k, v]) => `Rollback-${k}: ${String(v).replace(/\n/g, ' ')}`);
  const desc = description.trim();
  return `${desc ? desc + '\n\n' : ''}${lines.join('\n')}\n`;
}

/** Splits a tag message back into description and trailers. */
export function parseTagMessage(message: string): { description: string; trailers: Record<string, string> } {
  const text = message.replace(/\s+$/, '');
  const paragraphs = text.split(/\n\n/);
  const last = paragraphs[paragraphs.length - 1] ?? '';
  const lines = last.split('\n');
  const trailers: Record<string, string> = {};
  if (lines.length > 0 && lines.every((l) => TRAILER.test(l))) {
    for (const l of lines) {
      const m = TRAILER.exec(l);
      if (m) trailers[(m[1] as string).toLowerCase()] = m[2] as string;
    }
    paragraphs.pop();
  }
  return { description: paragraphs.join('\n\n').trim(), trailers };
}

/** Newest first; ties broken by id so the order is stable. */
export function sortNewestFirst<T extends Pick<Point, 'createdAt' | 'id' | 'tag'>>(points: T[]): T[] {
  // The times are read once, not twice per comparison (10,000 points: ~140,000 comparisons).
  const time = new Map<T, number>();
  for (const p of points) time.set(p, p.createdAt.getTime());
  return points.sort((a, b) => (time.get(b) as number) - (time.get(a) as number) || b.id.localeCompare(a.id) || a.tag.localeCompare(b.tag));
}

export function releaseVersion(point: Pick<Point, 'kind' | 'id'>): string | null {
  if (point.kind !== 'release') return null;
  return semver.valid(semver.clean(point.id) ?? point.id);
}

/** Releases, highest version first. */
export function releasesByVersion(points: readonly Point[]): Point[] {
  return points
    .filter((p) => releaseVersion(p) !== null)
    .sort((a, b) => semver.rcompare(releaseVersion(a) as string, releaseVersion(b) as string));
}

export interface ResolveContext {
  points: readonly Point[];
  prefixes: TagPrefixes;
  /** Resolves a commit-ish to a full commit id (git rev-parse), or null. */
  commitOf?: (rev: string) => Promise<string | null>;
}

/**
 * Resolves what a user typed: a tag name (`release/v0.8.1`), an id, a version
 * (`v0.8.1`, `0.8.1`), `latest`, `previous-release` / `release~N`, or a commit a point tags.
 */
export async function resolvePoint(spec: string, ctx: ResolveContext): Promise<Point> {
  const points = sortNewestFirst([...ctx.points]);
  const s = spec.replace(/^refs\/tags\//, '');
  const byTag = points.find((p) => p.tag === s);
  if (byTag) return byTag;

  if (s === 'latest' || s === 'HEAD~0') {
    const p = points.find((x) => x.kind === 'point' || x.kind === 'release' || x.kind === 'deploy');
    if (!p) throw new NotFoundError(msg('points.none'), msg('points.noneHint'));
    return p;
  }
  if (s === 'latest-backup') {
    const p = points.find((x) => x.kind === 'backup');
    if (!p) throw new NotFoundError(msg('points.noBackups'));
    return p;
  }
  const rel = /^(?:previous-release|release~(\d+)|latest-release|previous-prerelease|prerelease~(\d+))$/.exec(s);
  if (rel) {
    // previous-release and release~N count stable releases below the latest
    // one: rolling back to a release candidate is never what "previous" means.
    // previous-prerelease and prerelease~N count every release.
    const all = releasesByVersion(points);
    const withPre = s.includes('prerelease');
    const n = s === 'latest-release' ? 0 : s.startsWith('previous-') ? 1 : Number(rel[1] ?? rel[2]);
    const candidates = n === 0 || withPre ? all : [all[0] as Point, ...all.slice(1).filter((p) => !semver.prerelease(releaseVersion(p) as string))];
    const p = all.length ? candidates[n] : undefined;
    const skipped = all.length - candidates.length;
    if (!p) {
      throw new NotFoundError(
        all.length === 0 ? msg('points.noReleases') : msg('points.noReleaseN', { i: n, n: all.length, pre: skipped ? msg('points.preSkipped', { skipped }) : '' }),
        msg('points.releasesHint'),
      );
    }
    return p;
  }

  const byId = points.filter((p) => p.id === s);
  if (byId.length === 1) return byId[0] as Point;
  if (byId.length > 1) {
    throw new UsageError(msg('points.ambiguous', { spec, tags: byId.map((p) => p.tag).join(', ') }), msg('points.ambiguousHint'));
  }

  const version = semver.valid(semver.clean(s.replace(/^v/, '')) ?? '');
  if (version) {
    const p = points.find((x) => x.kind === 'release' && releaseVersion(x) === version);
    if (p) return p;
  }

  if (ctx.commitOf && /^[^\s]+$/.test(s)) {
    const commit = await ctx.commitOf(s);
    if (commit) {
      const tagging = points.filter((p) => p.commit === commit && p.kind !== 'backup');
      const p = tagging[0] ?? points.find((x) => x.commit === commit);
      if (p) return p;
      // A plain version tag from before git-rollback: say how to adopt it.
      if (semver.valid(s.replace(/^v/, ''))) throw new NotFoundError(msg('points.plainTag', { spec }), msg('points.plainTagHint', { spec }));
      throw new NotFoundError(msg('points.noPointAt', { commit: commit.slice(0, 12), spec }), msg('points.noPointAtHint'));
    }
  }

  const candidates = points.flatMap((p) => [p.tag, p.id]);
  const near = nearest(s, candidates, 3).map((c) => points.find((p) => p.id === c)?.tag ?? c);
  const uniq = [...new Set(near)];
  throw new NotFoundError(msg('points.unknown', { spec, near: uniq.length ? msg('points.didYouMean', { names: uniq.join(', ') }) : '' }), msg('points.unknownHint'));
}

/**
 * What `list` shows of a point's note, and all it reads of it: a point's
 * note can be 1 KB and more (every config file's checksums, every dump's
 * chunks), while `list` needs a few fields. Kept per note blob in list's
 * cache (src/adapters/list-cache.ts).
 */
export interface NoteFacts {
  /** null when the note names none (the tag trailer is shown then). */
  branch: string | null;
  protected: boolean;
  /** '' when the note has none. */
  description: string;
  snapshot: {
    commit: string;
    ref: string;
    config: number;
    paths: number;
    databases: string[];
    dirty: boolean;
    size: number;
  } | null;
}

/** The tag trailers `list` shows (the others are not kept in its cache). */
export const LISTED_TRAILERS = ['branch', 'snapshot', 'summary'] as const;
export type ListedTrailers = Partial<Record<(typeof LISTED_TRAILERS)[number], string>>;

/** A point as `list` reads it: the facts it shows of the note instead of the note, and the trailers it shows. */
export type ListedPoint = Omit<Point, 'note' | 'trailers'> & { trailers: ListedTrailers; facts: NoteFacts | null };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The facts `list` shows of a parsed note, or null when the note is not ours
 * or the fields `list` shows do not have the documented types: such a note is
 * left alone, as one that is not JSON (the tag and its trailers still stand).
 */
export function noteFacts(note: unknown): NoteFacts | null {
  if (!isObject(note)) return null;
  const { branch = null, description = '', snapshot = null } = note;
  const prot = note.protected ?? false;
  if ((branch !== null && typeof branch !== 'string') || typeof description !== 'string' || typeof prot !== 'boolean') return null;
  if (!snapshot) return { branch, protected: prot, description, snapshot: null };
  if (!isObject(snapshot)) return null;
  const { commit, ref, config, paths, databases, size } = snapshot;
  if (typeof commit !== 'string' || typeof ref !== 'string' || typeof size !== 'number') return null;
  if (!Array.isArray(config) || !Array.isArray(paths) || !Array.isArray(databases)) return null;
  const names: string[] = [];
  for (const d of databases) {
    if (!isObject(d) || typeof d.name !== 'string') return null;
    names.push(d.name);
  }
  return { branch, protected: prot, description, snapshot: { commit, ref, config: config.length, paths: paths.length, databases: names, dirty: !!snapshot.worktree, size } };
}

/** True when `v` has exactly the shape noteFacts returns (a cache entry read back is checked with this). */
export function isNoteFacts(v: unknown): v is NoteFacts {
  if (!isObject(v)) return false;
  const { branch, description, snapshot } = v;
  if ((branch !== null && typeof branch !== 'string') || typeof description !== 'string' || typeof v.protected !== 'boolean') return false;
  if (snapshot === null) return true;
  if (!isObject(snapshot)) return false;
  const s = snapshot;
  return (
    typeof s.commit === 'string' &&
    typeof s.ref === 'string' &&
    typeof s.size === 'number' &&
    typeof s.dirty === 'boolean' &&
    Number.isSafeInteger(s.config) &&
    (s.config as number) >= 0 &&
    Number.isSafeInteger(s.paths) &&
    (s.paths as number) >= 0 &&
    Array.isArray(s.databases) &&
    s.databases.every((d) => typeof d === 'string')
  );
}

/**
 * What `list` reads of the object a point's tag ref names (for-each-ref's
 * objecttype, *objectname, creatordate:unix and the parsed contents): fixed
 * by the object id, so list's cache keeps it per object id
 * (src/adapters/list-cache.ts) and `for-each-ref` need not print every tag
 * message on each `list`.
 */
export interface TagFacts {
  /** The object's type: "tag" for an annotated tag (a release may also be a plain ref to a commit). */
  type: string;
  /** The object an annotated tag points at (one level, as %(*objectname)); '' for anything else. */
  peeled: string;
  /** %(creatordate:unix) as git prints it (digits; '' when the object has none). */
  created: string;
  /** From the tag message (parseTagMessage); '' and {} for anything but an annotated tag. */
  description: string;
  trailers: Record<string, string>;
}

/** The tag facts of one row of for-each-ref's objecttype, *objectname, creatordate:unix, contents (in that order). */
export function tagFacts(type: string, peeled: string, created: string, contents: string): TagFacts {
  if (type !== 'tag') return { type, peeled: '', created, description: '', trailers: {} };
  return { type, peeled, created, ...parseTagMessage(contents) };
}

/** The same facts with only the trailers `list` shows. */
export function listedTagFacts(f: TagFacts): TagFacts {
  const trailers: Record<string, string> = {};
  for (const k of LISTED_TRAILERS) if (Object.hasOwn(f.trailers, k)) trailers[k] = f.trailers[k] as string;
  return { ...f, trailers };
}

const OBJECT_NAME = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const TRAILER_KEY = /^[a-z-]+$/;

/**
 * True when `v` is what tagFacts() makes of git's output (a cache entry read
 * back, or one about to be written, is checked with this): anything else is
 * read from git again and never cached.
 */
export function isTagFacts(v: unknown): v is TagFacts {
  if (!isObject(v)) return false;
  const { type, peeled, created, description, trailers } = v;
  if (typeof type !== 'string' || !/^(?:tag|commit|tree|blob)$/.test(type)) return false;
  if (typeof peeled !== 'string' || (type === 'tag' ? !OBJECT_NAME.test(peeled) : peeled !== '')) return false;
  if (typeof created !== 'string' || !/^\d{0,20}$/.test(created)) return false;
  if (typeof description !== 'string' || !isObject(trailers)) return false;
  for (const [k, s] of Object.entries(trailers)) if (!TRAILER_KEY.test(k) || typeof s !== 'string' || s.includes('\n')) return false;
  return type === 'tag' || (description === '' && Object.keys(trailers).length === 0);
}

/** Bytes a snapshot holds: its files, dumps and captured outputs (a size that is not a number counts 0). */
export function snapshotSize(s: { readonly [K in 'config' | 'paths' | 'databases' | 'captures']: readonly { size?: unknown }[] }): number {
  const sum = (list: readonly { size?: unknown }[]) => list.reduce((n, e) => n + (typeof e.size === 'number' && Number.isFinite(e.size) ? e.size : 0), 0);
  return sum(s.config) + sum(s.paths) + sum(s.databases) + sum(s.captures);
}
