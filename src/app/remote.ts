// Sharing points through a git remote: tags of every configured kind, the
// notes (refs/notes/rollback), snapshots and the event log (refs/rollback/*).
// Nothing is ever forced: a tag that differs stays as it is, the event log is
// joined by a merge commit (both sides kept), notes move only when fast-forward.
import { LOG_REF } from '../adapters/eventlog.js';
import { NOTES_REF } from '../adapters/store.js';
import { CorruptSnapshotError, ExternalToolError, NotFoundError } from '../core/errors.js';
import { en, msg } from '../core/i18n.js';
import type { Context } from './context.js';

export interface RefUpdate {
  ref: string;
  state: 'new' | 'updated' | 'same' | 'rejected';
  detail?: string;
}

export interface SyncResult {
  remote: string;
  updates: RefUpdate[];
  /** Fetch only: how the remote event log and notes were taken in. */
  log?: 'none' | 'same' | 'fast-forward' | 'merged' | 'new';
  notes?: 'none' | 'same' | 'fast-forward' | 'diverged' | 'new';
  /** Where the remote notes were left when they could not be fast-forwarded. */
  notesRef?: string;
}

function tagPatterns(ctx: Context): string[] {
  return [...new Set(Object.values(ctx.config.tags))].map((p) => `refs/tags/${p}*`);
}

/** A remote name, or a URL/path git accepts; refuses an unknown name with a hint. */
export async function checkRemote(ctx: Context, remote: string): Promise<void> {
  const r = await ctx.git.run(['remote', 'get-url', remote], { allowFail: true });
  if (r.exitCode === 0) return;
  if (/[/:\\]/.test(remote) || remote.startsWith('.')) return;
  const names = (await ctx.git.text(['remote'])).split('\n').filter(Boolean);
  throw new NotFoundError(
    msg('remote.noRemote', { remote, known: names.length ? msg('remote.known', { names: names.join(', ') }) : '' }),
    names.length ? msg('remote.nameOne', { name: names[0] }) : msg('remote.addOne'),
  );
}

/** Pushes every point tag, the notes, snapshots and the event log. Never forces. */
export async function pushPoints(ctx: Context, remote: string): Promise<SyncResult> {
  await checkRemote(ctx, remote);
  const refspecs = tagPatterns(ctx).map((p) => `${p}:${p}`);
  if (await ctx.git.revParse(NOTES_REF)) refspecs.push(`${NOTES_REF}:${NOTES_REF}`);
  refspecs.push('refs/rollback/*:refs/rollback/*');
  const r = await ctx.git.run(['push', '--porcelain', remote, ...refspecs], { allowFail: true });
  const updates: RefUpdate[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^([ +\-*!=])\t([^:]*):([^\t]*)\t(.*)$/.exec(line);
    if (!m) continue;
    const [, flag, , to = '', summary = ''] = m;
    const state: RefUpdate['state'] = flag === '*' ? 'new' : flag === '=' ? 'same' : flag === '!' ? 'rejected' : 'updated';
    updates.push({ ref: to, state, ...(state === 'rejected' ? { detail: summary.replace(/^\[rejected\] /, '').replace(/^\((.*)\)$/, '$1') } : {}) });
  }
  if (r.exitCode !== 0 && updates.every((u) => u.state !== 'rejected')) {
    throw new ExternalToolError('git push', r.exitCode, r.stderr);
  }
  return { remote, updates };
}

/**
 * Fetches the remote's points. Tags and snapshots come in unless one with the
 * same name differs here; the event log and notes come into
 * refs/rollback-remote/<remote>/ first and are then taken in.
 */
export async function fetchPoints(ctx: Context, remote: string): Promise<SyncResult> {
  await checkRemote(ctx, remote);
  const git = ctx.git;
  const track = `refs/rollback-remote/${remote.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '') || 'remote'}`;
  const listed = await git.run(['ls-remote', remote, NOTES_REF, LOG_REF], { allowFail: true });
  if (listed.exitCode !== 0) throw new ExternalToolError('git ls-remote', listed.exitCode, listed.stderr);
  const has = (ref: string) => listed.stdout.split('\n').some((l) => l.endsWith(`\t${ref}`));

  const watched = [...tagPatterns(ctx), 'refs/rollback/'];
  const before = await refMap(ctx, watched);
  const refspecs = tagPatterns(ctx).map((p) => `${p}:${p}`);
  refspecs.push('refs/rollback/snapshots/*:refs/rollback/snapshots/*');
  refspecs.push('refs/rollback/keys/*:refs/rollback/keys/*'); // security: the sealed dedup key
  if (has(LOG_REF)) refspecs.push(`+${LOG_REF}:${track}/log`);
  if (has(NOTES_REF)) refspecs.push(`+${NOTES_REF}:${track}/notes`);
  // security: fetched objects are checked by git's fsck (malformed trees, ".git" or ".." entries, bad modes are refused).
  const r = await git.run(['fetch', '--no-tags', '--no-write-fetch-head', remote, ...refspecs], { allowFail: true, config: { 'fetch.fsckObjects': 'true' } });
  const rejected = new Map<string, string>();
  for (const line of r.stderr.split('\n')) {
    const m = /^\s*!\s+\[(?:rejected|would clobber existing tag)\][^\n]*?->\s+(\S+)\s*(?:\((.*)\))?/.exec(line);
    if (m) rejected.set(m[1] as string, m[2] ?? en('remote.differsHere'));
  }
  // security: objects git's fsck refuses (a hostile or damaged remote) are named; nothing was taken in.
  const fsck = /error: object [0-9a-f]+: (\w+): (.*)/.exec(r.stderr);
  if (r.exitCode !== 0 && fsck) {
    throw new CorruptSnapshotError(msg('remote.fsck', { remote, kind: fsck[1], detail: fsck[2] }), msg('remote.fsckHint'));
  }
  if (r.exitCode !== 0 && rejected.size === 0) throw new ExternalToolError('git fetch', r.exitCode, r.stderr);

  const after = await refMap(ctx, watched);
  const updates: RefUpdate[] = [];
  for (const [ref, id] of after) {
    if (ref === LOG_REF) continue;
    const old = before.get(ref);
    if (old === undefined) updates.push({ ref, state: 'new' });
    else if (old !== id) updates.push({ ref, state: 'updated' });
  }
  for (const [short, detail] of rejected) updates.push({ ref: short.startsWith('refs/') ? short : `refs/tags/${short}`, state: 'rejected', detail });

  const result: SyncResult = { remote, updates, log: 'none', notes: 'none' };
  if (has(LOG_REF)) result.log = await takeLog(ctx, `${track}/log`, remote);
  if (has(NOTES_REF)) {
    result.notes = await takeNotes(ctx, `${track}/notes`);
    if (result.notes === 'diverged') result.notesRef = `${track}/notes`;
  }
  return result;
}

async function refMap(ctx: Context, patterns: string[]): Promise<Map<string, string>> {
  const rows = await ctx.git.forEachRef(patterns, ['refname', 'objectname']);
  return new Map(rows.map(([ref = '', id = '']) => [ref, id]));
}

async function isAncestor(ctx: Context, a: string, b: string): Promise<boolean> {
  return (await ctx.git.run(['merge-base', '--is-ancestor', a, b], { allowFail: true })).exitCode === 0;
}

/** The event log is append-only on both sides: a merge commit keeps every event of each. */
async function takeLog(ctx: Context, remoteRef: string, remote: string): Promise<NonNullable<SyncResult['log']>> {
  const theirs = await ctx.git.revParse(remoteRef);
  if (!theirs) return 'none';
  const ours = await ctx.git.revParse(LOG_REF);
  if (!ours) {
    await ctx.git.updateRefs([`create ${LOG_REF} ${theirs}`]);
    return 'new';
  }
  if (ours === theirs || (await isAncestor(ctx, theirs, ours))) return 'same';
  if (await isAncestor(ctx, ours, theirs)) {
    await ctx.git.updateRefs([`update ${LOG_REF} ${theirs} ${ours}`]);
    return 'fast-forward';
  }
  const merge = await ctx.git.commitTree(await ctx.git.emptyTree(), [ours, theirs], `merge events from ${remote}\n`);
  await ctx.git.updateRefs([`update ${LOG_REF} ${merge} ${ours}`]);
  return 'merged';
}

async function takeNotes(ctx: Context, remoteRef: string): Promise<NonNullable<SyncResult['notes']>> {
  const theirs = await ctx.git.revParse(remoteRef);
  if (!theirs) return 'none';
  const ours = await ctx.git.revParse(NOTES_REF);
  if (!ours) {
    await ctx.git.updateRefs([`create ${NOTES_REF} ${theirs}`]);
    return 'new';
  }
  if (ours === theirs || (await isAncestor(ctx, theirs, ours))) return 'same';
  if (await isAncestor(ctx, ours, theirs)) {
    await ctx.git.updateRefs([`update ${NOTES_REF} ${theirs} ${ours}`]);
    return 'fast-forward';
  }
  return 'diverged';
}
