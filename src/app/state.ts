// Where things stand, read without acting: the last action `undo` would
// reverse, a point's snapshot, and what a journal says of each resource.
// Apart from rollback.ts so that the commands that only read (list, show,
// status, report, prune, undo's check) do not load the step runner at start-up.
import { hostname } from 'node:os';
import { cloneId } from '../adapters/clone-id.js';
import type { RollbackEvent } from '../adapters/eventlog.js';
import type { Journal } from '../adapters/journal.js';
import type { RemovedPoint } from '../adapters/store.js';
import { CorruptSnapshotError } from '../core/errors.js';
import { manifestShapeProblem } from '../core/note-shape.js';
import { snapshotSize } from '../core/points.js';
import { msg, type Msg } from '../core/i18n.js';
import type { Manifest, Point, SnapshotInfo } from '../core/types.js';
import type { Context } from './context.js';

export async function loadSnapshot(ctx: Context, point: Point): Promise<SnapshotInfo | null> {
  if (point.note?.snapshot) return point.note.snapshot;
  const commit = point.trailers.snapshot;
  if (!commit) return null;
  const r = await ctx.git.run(['cat-file', 'blob', `${commit}:manifest.json`], { allowFail: true });
  if (r.exitCode !== 0) throw new CorruptSnapshotError(msg('rollback.snapshotUnreadable', { tag: point.tag, commit: commit.slice(0, 12) }), msg('rollback.snapshotUnreadableHint'));
  // security: manifest.json is read from git like a note: parsed and shape-checked, never trusted.
  let m: Manifest;
  try {
    m = JSON.parse(r.stdout) as Manifest;
  } catch {
    throw new CorruptSnapshotError(msg('point.manifestDamaged', { tag: point.tag, field: 'manifest.json', expected: 'JSON' }), msg('rollback.snapshotUnreadableHint'));
  }
  const problem = manifestShapeProblem(m);
  if (problem) throw new CorruptSnapshotError(msg('point.manifestDamaged', { tag: point.tag, ...problem }), msg('rollback.snapshotUnreadableHint'));
  return {
    commit,
    ref: `refs/rollback/snapshots/${point.kind}/${point.id}`,
    config: m.config,
    paths: m.paths,
    databases: m.databases,
    captures: m.captures,
    worktree: m.worktree,
    size: snapshotSize(m),
  };
}

/** Per resource, from the step states: what is at the target, what is back, what is untouched. */
export function describeState(j: Journal): Msg[] {
  const out: Msg[] = [];
  const state = (id: string) => j.steps.find((s) => s.id === id)?.state;
  const word = (s: string | undefined): Msg | string =>
    s === 'done'
      ? msg('state.atTarget')
      : s === 'reverted' || s === undefined || s === 'pending'
        ? msg('state.asBefore')
        : s === 'running' || s === 'failed' || s === 'reverting'
          ? msg('state.partWay')
          : s;
  if (j.steps.some((s) => s.id === 'code')) out.push(msg('state.code', { state: word(state('code')) }));
  if (j.steps.some((s) => s.id === 'files')) out.push(msg('state.files', { state: word(state('files')) }));
  for (const s of j.steps.filter((x) => x.id.startsWith('swap:'))) {
    const db = s.id.slice(5);
    const staged = state(`stage:${db}`);
    const waiting = s.state === 'pending' && (staged === 'done' || staged === 'running');
    out.push(msg(waiting ? 'state.databaseLoaded' : 'state.database', { name: db, state: word(s.state) }));
  }
  return out;
}

/** The backup made by the last rollback or undo that went through: what `undo` returns to. */
export type LastAction =
  | { kind: 'rollback'; backup: string; event: RollbackEvent; commit: string }
  | { kind: 'delete'; removed: RemovedPoint[]; event: RollbackEvent; commit: string };

/**
 * What `git rollback undo` would do — the one answer `undo`, `status`,
 * `list` and `prune` all use: the newest action that went through, a
 * rollback or undo (back to its backup; so undo twice is a redo), or a
 * delete or prune (the points are put back). Restores made by undo are not
 * themselves undone, and mark what they undid; failed, reverted, cancelled
 * and aborted jobs changed nothing and are skipped.
 */
export async function lastAction(ctx: Context): Promise<LastAction | null> {
  const undone = new Set<string>();
  const clone = await cloneId(ctx.stateDir);
  for (const { commit, event } of await ctx.log.read(500)) {
    // Only what happened in this clone (events before clone ids: this host's).
    const here = typeof event.clone === 'string' ? event.clone === clone : event.host === hostname();
    if (!here || undone.has(commit) || event.outcome !== 'ok') continue;
    if (typeof event.undid === 'string') {
      undone.add(event.undid);
      continue;
    }
    if ((event.type === 'rollback' || event.type === 'undo') && typeof event.backup === 'string') return { kind: 'rollback', backup: event.backup, event, commit };
    if ((event.type === 'delete' || event.type === 'prune') && Array.isArray(event.removed) && event.removed.length > 0) {
      return { kind: 'delete', removed: event.removed as RemovedPoint[], event, commit };
    }
  }
  return null;
}
