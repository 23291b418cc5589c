// Making points: the snapshot (between the beforePoint and afterPoint hooks),
// the tag, the note and the event, under the lock.
import { cloneId } from '../adapters/clone-id.js';
import { captureSnapshot, type CaptureResult } from '../adapters/snapshot.js';
import type { Engine } from '../core/engine.js';
import { ConflictError, errorMsg, RollbackError } from '../core/errors.js';
import { msg, type Msg } from '../core/i18n.js';
import { sortNewestFirst, timestampId, uniqueId, validateId } from '../core/points.js';
import type { TransferListener } from '../core/progress.js';
import type { DatabaseEntry, Point, PointKind, PointNote, ReleaseInfo } from '../core/types.js';
import type { Context } from './context.js';
import { runHook } from './hooks.js';
import { recordConfigInUse, requireTrust } from './trust.js';
import { checkPointName } from './verify.js';

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
  /** What is being snapshotted now (catalog messages, for progress lines). */
  onProgress?: (text: Msg) => void;
  /** Bytes of each database dump as it streams into git. */
  onTransfer?: TransferListener;
}

export interface MadePoint {
  point: Point;
  note: PointNote;
  warnings: (string | Msg)[];
  ms: number;
}

/** Makes a point of the current state. The caller holds the lock. */
export async function makePoint(ctx: Context, o: MakePointOptions): Promise<MadePoint> {
  const started = Date.now();
  requireTrust(ctx); // security: captures, dumps and hooks come from an approved config only
  // Asked now, while other work waits on git and the database: the snapshot commit, tag and event need it.
  ctx.git.identity().catch(() => undefined);
  const date = new Date(Math.floor(Date.now() / 1000) * 1000);
  // Only the ids next to the one wanted (id, id-2, id-3…), not every point's: the cost does not grow with the points.
  const wanted = o.name !== undefined && /^[A-Za-z0-9._-]+$/.test(o.name) ? o.name : o.name === undefined ? timestampId(date) : '';
  // The engines (and their modules) are made while git answers; awaited after the name checks, as before.
  const enginesMade = o.noSnapshot ? Promise.resolve([]) : ctx.engines(o.databases);
  enginesMade.catch(() => undefined);
  // With no beforePoint hook nothing changes the work tree before the capture: its `git status` can be asked now too.
  const status = !o.noSnapshot && !ctx.config.hooks.beforePoint ? ctx.git.status() : undefined;
  status?.catch(() => undefined); // awaited by the capture
  const [head, existing] = await Promise.all([ctx.git.head(), ctx.store.ids(o.kind, wanted)]);
  const commit = o.commit ?? (head.commit as string);
  let id: string;
  if (o.name !== undefined) {
    validateId(o.name);
    id = o.name;
    const tag = `${ctx.config.tags[o.kind]}${id}`;
    await checkPointName(ctx, tag, id); // security
    if (existing.has(id)) {
      throw new ConflictError(msg('point.exists', { tag }), msg('point.existsHint', { tag }));
    }
  } else {
    id = uniqueId(timestampId(date), existing);
  }
  const engines: Engine[] = await enginesMade;
  const tag = `${ctx.config.tags[o.kind]}${id}`;
  const capture = async () => {
    const previous = ctx.onTransfer;
    if (o.onTransfer) ctx.onTransfer = o.onTransfer;
    try {
      return await captureSnapshot(ctx.git, ctx.repo, {
        kind: o.kind,
        id,
        date,
        head: commit,
        branch: head.branch,
        config: ctx.config,
        includeUntracked: o.includeUntracked,
        parts: { config: true, paths: true, databases: engines, captures: true, worktree: true },
        ...(engines.length ? { dumpStore: await ctx.dumpStore() } : {}),
        ...(ctx.config.encryption ? { cipher: await ctx.cipher() } : {}), // security: config files sealed with age
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
        ...(status ? { status } : {}),
        previous: await previousDumps(ctx, engines),
      });
    } finally {
      ctx.onTransfer = previous;
    }
  };
  const hookEnv = { ROLLBACK_POINT: tag, ROLLBACK_KIND: o.kind, ROLLBACK_COMMIT: commit, ROLLBACK_DATABASES: engines.map((e) => e.name).join(' ') };
  const { captured, afterPointError } = o.noSnapshot ? { captured: null, afterPointError: null } : await aroundPointHooks(ctx, hookEnv, capture, o.onProgress);
  // The event goes into the same ref transaction as the tag: on a full disk
  // (or any failure) there is a point with its log entry, or neither.
  // Its commit is written while the tag and note are (independent git processes).
  const event = o.silent
    ? null
    : ctx.log.prepare({ type: o.kind === 'release' ? 'release' : 'point', target: tag, reason: o.reason ?? null, outcome: 'ok', ms: Date.now() - started, commit });
  event?.catch(() => undefined); // observed by store.create, which then writes nothing
  const [configInUse, clone] = await Promise.all([recordConfigInUse(ctx), cloneId(ctx.stateDir)]);
  const { point, note } = await ctx.store.create(
    {
      kind: o.kind,
      id,
      description: o.description,
      commit,
      branch: o.commit && o.commit !== head.commit ? null : head.branch,
      dirty: !!captured?.snapshot.worktree,
      snapshot: captured?.snapshot ?? null,
      release: o.release ?? null,
      date,
      // Which approved config was in use (undo can come back to it: src/app/trust.ts).
      extra: { ...configInUse, clone, ...o.extra },
    },
    { alsoUpdate: event ? event.then((e) => [e.command]) : [] },
  );
  const ms = Date.now() - started;
  if (afterPointError) {
    // The point is good and recorded; the hook's failure (e.g. a server that
    // did not start again) must still not pass unnoticed.
    throw new RollbackError(msg('hook.afterPointFailed', { tag: point.tag, error: errorMsg(afterPointError) }), msg('hook.afterPointHint'));
  }
  return { point, note, warnings: captured?.warnings ?? [], ms };
}

/**
 * The newest dump of each database whose engine can tell it unchanged, from
 * points made in this clone only: a note fetched from elsewhere must never
 * make a point reuse chunks it did not read from this database.
 */
async function previousDumps(ctx: Context, engines: readonly Engine[]): Promise<Map<string, DatabaseEntry>> {
  const names = new Set(engines.filter((e) => e.unchangedSince).map((e) => e.name));
  const found = new Map<string, DatabaseEntry>();
  if (names.size === 0) return found;
  const clone = await cloneId(ctx.stateDir);
  for (const p of sortNewestFirst(await ctx.store.list())) {
    if (p.note?.clone !== clone) continue;
    // Note data is not trusted: anything not shaped like a list of entries is passed over (the engine checks what it reuses).
    const entries: unknown = p.note.snapshot?.databases;
    for (const d of Array.isArray(entries) ? (entries as unknown[]) : []) {
      if (!d || typeof d !== 'object') continue;
      const e = d as DatabaseEntry;
      if (typeof e.name === 'string' && names.has(e.name) && !found.has(e.name)) found.set(e.name, e);
    }
    if (found.size === names.size) break;
  }
  return found;
}

/**
 * Runs `capture` (the snapshot: config, paths, dumps) between the beforePoint
 * and afterPoint hooks. afterPoint runs whenever beforePoint was started, also
 * after a failure (ROLLBACK_OUTCOME=failed), so a server stopped for the dump
 * is started again. A failing beforePoint or capture fails the point; a
 * failing afterPoint after a good capture is returned, for the caller to
 * report once the point is recorded.
 */
export async function aroundPointHooks<T>(
  ctx: Context,
  env: Record<string, string>,
  capture: () => Promise<T>,
  onProgress?: (text: Msg) => void,
): Promise<{ captured: T; afterPointError: RollbackError | null }> {
  let result: T;
  try {
    if (ctx.config.hooks.beforePoint) onProgress?.(msg('snap.hook', { name: 'beforePoint' }));
    await runHook(ctx, 'beforePoint', env);
    result = await capture();
  } catch (error) {
    if (ctx.config.hooks.afterPoint) {
      onProgress?.(msg('snap.hook', { name: 'afterPoint' }));
      await runHook(ctx, 'afterPoint', { ...env, ROLLBACK_OUTCOME: 'failed' }).catch((e: Error) => {
        if (error instanceof RollbackError && error.msg) error.msg = msg('point.afterPointToo', { error: errorMsg(error), hook: errorMsg(e) });
        if (error instanceof Error) error.message += ` (and hook afterPoint failed too: ${e.message})`;
      });
    }
    throw error;
  }
  let afterPointError: RollbackError | null = null;
  if (ctx.config.hooks.afterPoint) onProgress?.(msg('snap.hook', { name: 'afterPoint' }));
  await runHook(ctx, 'afterPoint', { ...env, ROLLBACK_OUTCOME: 'ok' }).catch((e: RollbackError) => (afterPointError = e));
  return { captured: result, afterPointError };
}

export type { CaptureResult };
