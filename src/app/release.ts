// Making a release: the next version, the notes from the commits since the
// previous release, and a release point (full snapshot, or code only with --at).
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { NotFoundError, UsageError } from '../core/errors.js';
import { msg, type Msg } from '../core/i18n.js';
import { releasesByVersion, releaseVersion } from '../core/points.js';
import semver from '../core/semver.js';
import { nextVersion, parseCommit, releaseNotes, type CommitInfo, type NextVersion } from '../core/release.js';
import type { Context } from './context.js';
import { makePoint, type MadePoint } from './points.js';

export interface ReleaseRequest {
  spec: string;
  preid?: string;
  allowLower: boolean;
  /** Commit-ish to release instead of HEAD (no snapshot then). */
  at?: string;
  notesFile?: string;
  message?: string;
  reason: string | null;
  onProgress?: (text: Msg) => void;
}

export interface MadeRelease extends MadePoint {
  next: NextVersion;
  /** True when the release tags a commit other than HEAD, without a snapshot. */
  codeOnly: boolean;
  commits: number;
}

/** The most commit subjects put into generated notes. */
const NOTES_LIMIT = 200;

/** Makes a release. The caller holds the lock. */
export async function makeRelease(ctx: Context, req: ReleaseRequest): Promise<MadeRelease> {
  const points = await ctx.store.list({ notes: false });
  const releases = releasesByVersion(points);
  const next = nextVersion({
    spec: req.spec,
    existing: releases.map((p) => releaseVersion(p) as string),
    allowLower: req.allowLower,
    ...(req.preid !== undefined ? { preid: req.preid } : {}),
  });
  const head = (await ctx.git.head()).commit as string;
  let commit = head;
  if (req.at !== undefined) {
    const c = await ctx.git.revParse(`${req.at}^{commit}`);
    if (!c) throw new NotFoundError(msg('release.noCommit', { at: req.at }), msg('release.noCommitHint'));
    commit = c;
  }
  const codeOnly = commit !== head;

  const previousPoint = next.previous ? releases.find((p) => releaseVersion(p) === next.previous) : undefined;
  const range = previousPoint ? `${previousPoint.commit}..${commit}` : commit;
  const commits = Number(await ctx.git.text(['rev-list', '--count', '--no-merges', range]));
  let description: string;
  const listed = await commitsIn(ctx, range);
  const breaking = listed.map(parseCommit).filter((c) => c.breaking).length;
  if (req.message !== undefined) {
    description = req.message;
  } else if (req.notesFile !== undefined) {
    const file = resolve(process.cwd(), req.notesFile);
    description = await readFile(file, 'utf8').catch(() => {
      throw new NotFoundError(msg('release.notesUnreadable', { file: req.notesFile }), msg('release.notesUnreadableHint'));
    });
  } else {
    description = releaseNotes({ ...next, commits: listed, total: commits });
  }
  if (!description.trim()) throw new UsageError(msg('release.notesEmpty'), msg('release.notesEmptyHint'));

  const made = await makePoint(ctx, {
    kind: 'release',
    name: next.version,
    description,
    includeUntracked: false,
    noSnapshot: codeOnly,
    commit,
    release: { version: next.version, previous: next.previous, change: next.change },
    reason: req.reason,
    ...(req.onProgress ? { onProgress: req.onProgress } : {}),
  });
  // Semver: a breaking change needs a major bump (a minor one before 1.0.0).
  const major = semver.major(next.version);
  if (breaking > 0 && next.previous && (next.change === 'patch' || next.change === 'prepatch' || (major > 0 && (next.change === 'minor' || next.change === 'preminor')))) {
    made.warnings.push(msg('release.breaking', { n: breaking, previous: next.previous, version: next.version, change: next.change }));
  }
  return { ...made, next, codeOnly, commits };
}

async function commitsIn(ctx: Context, range: string): Promise<CommitInfo[]> {
  const out = await ctx.git.run(['log', '--no-merges', `-n${NOTES_LIMIT}`, '--format=%H%x00%s%x00%b%x1e', range]);
  return out.stdout
    .split('\x1e')
    .map((r) => r.replace(/^\n/, ''))
    .filter((r) => r.includes('\0'))
    .map((r) => {
      const [hash = '', subject = '', body = ''] = r.split('\0');
      return { hash, subject, body };
    });
}
