// Adopting plain version tags (v0.7.0, made before git-rollback was used) as
// code-only release points, so `to v0.7.0` and `previous-release` see them.
// The release point keeps the tag's commit and date; nothing else is touched.
import semver from '../core/semver.js';
import { NotFoundError, UsageError } from '../core/errors.js';
import { msg } from '../core/i18n.js';
import { releasesByVersion, releaseVersion } from '../core/points.js';
import type { Point } from '../core/types.js';
import type { Context } from './context.js';

export interface Adoption {
  /** The plain tag, e.g. "v0.7.0". */
  from: string;
  version: string;
  commit: string;
  date: Date;
  description: string;
  /** The release point made (or that would be made), e.g. "release/v0.7.0". */
  tag: string;
  /** Already a release point: nothing to do. */
  existing: boolean;
}

/** The version a plain tag names ("v0.7.0", "0.7.0", "release-0.7.0" → "0.7.0"), or null. */
export function tagVersion(tag: string): string | null {
  const m = /^(?:[A-Za-z_-]*?)v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$/.exec(tag);
  return m ? semver.valid(m[1] as string) : null;
}

/** Every tag that names a version and is not a point of ours. */
export async function plainVersionTags(ctx: Context): Promise<string[]> {
  const prefixes = Object.values(ctx.config.tags);
  const out = await ctx.git.text(['for-each-ref', '--format=%(refname:strip=2)', 'refs/tags/']);
  return out
    .split('\n')
    .filter(Boolean)
    .filter((t) => !prefixes.some((p) => t.startsWith(p)) && tagVersion(t) !== null);
}

/** What adopting `tags` would do, in version order. Reads only. */
export async function planAdoption(ctx: Context, tags: string[], points: readonly Point[]): Promise<Adoption[]> {
  const out: Adoption[] = [];
  for (const tag of tags) {
    const name = tag.replace(/^refs\/tags\//, '');
    const version = tagVersion(name);
    if (!version) throw new UsageError(msg('adopt.notVersion', { tag: name }), msg('adopt.notVersionHint'));
    const info = await ctx.git.run(['for-each-ref', '--format=%(*objectname)%00%(objectname)%00%(creatordate:iso-strict)%00%(contents:subject)', `refs/tags/${name}`]);
    const line = info.stdout.trim();
    if (!line) throw new NotFoundError(msg('adopt.noTag', { tag: name }), msg('adopt.noTagHint'));
    const [peeled = '', object = '', date = '', subject = ''] = line.split('\0');
    const commit = (await ctx.git.revParse(`${peeled || object}^{commit}`)) ?? '';
    if (!commit) throw new UsageError(msg('adopt.notCommit', { tag: name }));
    const existing = points.some((p) => releaseVersion(p) === version);
    out.push({
      from: name,
      version,
      commit,
      date: new Date(date),
      description: subject && peeled ? subject : `${name}`,
      tag: `${ctx.config.tags.release}${version}`,
      existing,
    });
  }
  return out.sort((a, b) => semver.compare(a.version, b.version));
}

/** Makes the release points (code only). The caller holds the lock. */
export async function adopt(ctx: Context, plan: Adoption[], reason: string | null): Promise<Point[]> {
  const started = Date.now();
  const made: Point[] = [];
  let points = await ctx.store.list();
  for (const a of plan.filter((x) => !x.existing)) {
    const lower = releasesByVersion(points).find((p) => semver.lt(releaseVersion(p) as string, a.version));
    const previous = lower ? (releaseVersion(lower) as string) : null;
    const { point } = await ctx.store.create({
      kind: 'release',
      id: a.version,
      description: a.description,
      commit: a.commit,
      branch: null,
      dirty: false,
      snapshot: null,
      release: { version: a.version, previous, change: previous ? semver.diff(previous, a.version) : null },
      date: Number.isNaN(a.date.getTime()) ? new Date() : a.date,
      extra: { adoptedFrom: `refs/tags/${a.from}` },
    });
    made.push(point);
    points = [...points, point];
  }
  if (made.length) {
    await ctx.log.append({ type: 'adopt', target: made.map((p) => p.tag).join(' '), reason, outcome: 'ok', ms: Date.now() - started, adopted: plan.filter((x) => !x.existing).map((x) => ({ from: x.from, tag: x.tag, commit: x.commit })) });
  }
  return made;
}
