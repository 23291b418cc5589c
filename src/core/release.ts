// Releases as versions: which version comes next, whether it may be made, what
// kind of change it is, and the release notes from commit subjects. Pure logic.
import semver from './semver.js';
import { ConflictError, UsageError } from './errors.js';
import { msg } from './i18n.js';

export const BUMPS = ['major', 'minor', 'patch', 'premajor', 'preminor', 'prepatch', 'prerelease'] as const;
export type Bump = (typeof BUMPS)[number];

export interface VersionRequest {
  /** What the user typed: a version (0.9.0, v0.9.0) or a bump keyword. */
  spec: string;
  /** Versions of the existing releases, any order. */
  existing: readonly string[];
  preid?: string;
  allowLower?: boolean;
}

export interface NextVersion {
  version: string;
  /** The release this one follows: the highest existing version below it, or null for the first. */
  previous: string | null;
  /** semver.diff(previous, version), or "initial" for the first release. */
  change: string;
  /** The highest existing version, when it is above the new one (an --allow-lower release). */
  lowerThan: string | null;
}

const isBump = (s: string): s is Bump => (BUMPS as readonly string[]).includes(s);

/**
 * The version a release request stands for. A bump counts from the highest
 * existing release; the first release counts from 0.0.0 (minor → 0.1.0,
 * major → 1.0.0, patch → 0.0.1, prerelease --preid rc → 0.0.1-rc.0).
 */
export function nextVersion(req: VersionRequest): NextVersion {
  const existing = req.existing.filter((v) => semver.valid(v)).sort(semver.rcompare);
  const latest = existing[0] ?? null;
  const spec = req.spec.trim();
  let version: string;
  if (isBump(spec)) {
    if (req.preid !== undefined && !spec.startsWith('pre')) {
      throw new UsageError(msg('release.preidBump', { spec }), msg('release.preidBumpHint', { preid: req.preid }));
    }
    if (req.preid !== undefined && !/^[0-9A-Za-z-]+$/.test(req.preid)) {
      throw new UsageError(msg('release.badPreid', { preid: req.preid }), msg('release.badPreidHint'));
    }
    const next = semver.inc(latest ?? '0.0.0', spec, {}, req.preid);
    if (!next) throw new UsageError(msg('release.cannotBump', { latest: latest ?? '0.0.0', spec }));
    version = next;
  } else {
    if (req.preid !== undefined) throw new UsageError(msg('release.preidExplicit'), msg('release.preidExplicitHint', { spec, preid: req.preid }));
    const cleaned = semver.valid(semver.clean(spec) ?? '');
    if (!cleaned || !/^[v=]?\d/.test(spec)) {
      throw new UsageError(msg('release.badVersion', { spec: req.spec }), msg('release.badVersionHint', { bumps: BUMPS.join(', ') }));
    }
    if (spec.includes('+')) {
      throw new UsageError(msg('release.buildMeta', { spec }), msg('release.buildMetaHint', { cleaned }));
    }
    version = cleaned;
  }
  const same = existing.find((v) => semver.eq(v, version));
  if (same) {
    throw new ConflictError(msg('release.exists', { version }), msg('release.existsHint', { bump: semver.prerelease(version) ? 'prerelease' : 'patch' }));
  }
  const lowerThan = latest && semver.lt(version, latest) ? latest : null;
  if (lowerThan && !req.allowLower) {
    throw new ConflictError(msg('release.lowerError', { version, latest: lowerThan }), msg('release.lowerHint'));
  }
  const previous = existing.find((v) => semver.lt(v, version)) ?? null;
  return { version, previous, change: previous ? (semver.diff(previous, version) ?? 'none') : 'initial', lowerThan };
}

export interface CommitInfo {
  hash: string;
  subject: string;
  body: string;
}

/** Section titles, in the order they appear in the notes. */
export const SECTIONS: readonly [string, string][] = [
  ['feat', 'Features'],
  ['fix', 'Bug fixes'],
  ['perf', 'Performance'],
  ['refactor', 'Refactoring'],
  ['revert', 'Reverts'],
  ['docs', 'Documentation'],
  ['style', 'Style'],
  ['test', 'Tests'],
  ['build', 'Build'],
  ['ci', 'CI'],
  ['chore', 'Chores'],
];

const CONVENTIONAL = /^(\w+)(?:\(([^)]*)\))?(!)?: (.+)$/;

export interface ParsedCommit extends CommitInfo {
  type: string | null;
  scope: string | null;
  breaking: boolean;
  text: string;
}

export function parseCommit(c: CommitInfo): ParsedCommit {
  const m = CONVENTIONAL.exec(c.subject.trim());
  const breakingBody = /^BREAKING[ -]CHANGE: /m.test(c.body);
  if (!m) return { ...c, type: null, scope: null, breaking: breakingBody, text: c.subject.trim() };
  return { ...c, type: (m[1] as string).toLowerCase(), scope: m[2] || null, breaking: !!m[3] || breakingBody, text: m[4] as string };
}

/** A repository "uses Conventional Commits" when at least half of the subjects follow it. */
export function usesConventionalCommits(commits: readonly ParsedCommit[]): boolean {
  if (commits.length === 0) return false;
  return commits.filter((c) => c.type !== null).length * 2 >= commits.length;
}

export interface NotesInput {
  version: string;
  previous: string | null;
  change: string;
  /** Commits since the previous release, newest first (merges already left out). */
  commits: readonly CommitInfo[];
  /** How many commits there were in all (commits may be cut to a limit). */
  total?: number;
}

/**
 * Release notes for the tag message: a title line, then the commit subjects
 * grouped by Conventional Commit type (breaking changes first), or a plain list.
 */
export function releaseNotes(input: NotesInput): string {
  const title = input.previous
    ? `Release ${input.version} (${input.change} after ${input.previous})`
    : `Release ${input.version} (first release)`;
  const parsed = input.commits.map(parseCommit);
  if (parsed.length === 0) return `${title}\n\nNo commits since ${input.previous ?? 'the start'}.`;
  const short = (h: string) => h.slice(0, 7);
  const line = (c: ParsedCommit, conventional: boolean) =>
    `- ${conventional ? `${c.scope ? `${c.scope}: ` : ''}${c.text}` : c.subject.trim()} (${short(c.hash)})`;
  const lines: string[] = [title, ''];
  if (usesConventionalCommits(parsed)) {
    const breaking = parsed.filter((c) => c.breaking);
    const groups: [string, ParsedCommit[]][] = [];
    if (breaking.length) groups.push(['Breaking changes', breaking]);
    const known = new Set(SECTIONS.map(([t]) => t));
    for (const [type, heading] of SECTIONS) {
      const list = parsed.filter((c) => c.type === type && !c.breaking);
      if (list.length) groups.push([heading, list]);
    }
    const other = parsed.filter((c) => !c.breaking && (c.type === null || !known.has(c.type)));
    if (other.length) groups.push(['Other changes', other]);
    for (const [heading, list] of groups) {
      lines.push(`## ${heading}`, ...list.map((c) => line(c, heading !== 'Breaking changes' && c.type !== null && known.has(c.type))), '');
    }
  } else {
    lines.push('## Changes', ...parsed.map((c) => line(c, false)), '');
  }
  const more = (input.total ?? parsed.length) - parsed.length;
  if (more > 0) lines.push(`… and ${more} more commit${more === 1 ? '' : 's'}.`, '');
  return lines.join('\n').trimEnd();
}
