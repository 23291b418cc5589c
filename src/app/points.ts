// Making points: the snapshot, the tag, the note and the event, under the lock.
import { captureSnapshot } from '../adapters/snapshot.js';
import type { Engine } from '../core/engine.js';
import { ConflictError } from '../core/errors.js';
import { timestampId, uniqueId, validateId } from '../core/points.js';
import type { Point, PointKind, PointNote, ReleaseInfo } from '../core/types.js';
import type { Context } from './context.js';

export interface MakePointOptions {
  kind: PointKind;
  description: string;
  name?: string;
  includeUntracked: boolean;
  /** Databases to dump (names); default all configured. */
  databases?: Iterable<string>;
  /** Skip the snapshot entirely (release --at). */
  noSnapshot?: boolean;
  /** Code commit to tag; default HEAD. */
  commit?: string;
  release?: ReleaseInfo | null;
  extra?: Record<string, unknown>;
  reason?: string | null;
  /** Do not log an event (backups are logged as part of the action). */
  silent?: boolean;
  onProgress?: (text: string) => void;
}

export interface MadePoint {
  point: Point;
  note: PointNote;
  warnings: string[];
  ms: number;
}

/** Makes a point of the current state. The caller holds the lock. */
export async function makePoint(ctx: Context, o: MakePointOptions): Promise<MadePoint> {
  const started = Date.now();
  const date = new Date(Math.floor(Date.now() / 1000) * 1000);
  const head = await ctx.git.head();
  const commit = o.commit ?? (head.commit as string);
  const existing = await ctx.store.ids(o.kind);
  let id: string;
  if (o.name !== undefined) {
    validateId(o.name);
    id = o.name;
    const tag = `${ctx.config.tags[o.kind]}${id}`;
    if (existing.has(id)) {
      throw new ConflictError(`point ${tag} already exists`, `choose another name, or delete the old one: git rollback delete ${tag}`);
    }
  } else {
    id = uniqueId(timestampId(date), existing);
  }
  let engines: Engine[] = [];
  if (!o.noSnapshot) engines = await ctx.engines(o.databases);
  const captured = o.noSnapshot
    ? null
    : await captureSnapshot(ctx.git, ctx.repo, {
        kind: o.kind,
        id,
        date,
        head: commit,
        branch: head.branch,
        config: ctx.config,
        includeUntracked: o.includeUntracked,
        parts: { config: true, paths: true, databases: engines, captures: true, worktree: true },
        ...(engines.length ? { dumpStore: await ctx.dumpStore() } : {}),
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      });
  const { point, note } = await ctx.store.create({
    kind: o.kind,
    id,
    description: o.description,
    commit,
    branch: o.commit && o.commit !== head.commit ? null : head.branch,
    dirty: !!captured?.snapshot.worktree,
    snapshot: captured?.snapshot ?? null,
    release: o.release ?? null,
    date,
    ...(o.extra ? { extra: o.extra } : {}),
  });
  const ms = Date.now() - started;
  if (!o.silent) {
    await ctx.log.append({ type: o.kind === 'release' ? 'release' : 'point', target: point.tag, reason: o.reason ?? null, outcome: 'ok', ms, commit });
  }
  return { point, note, warnings: captured?.warnings ?? [], ms };
}
