// Rolling back: plan → (dry run | confirm) → execute. Execution stages every
// restore beside the live resource first (files as temp files, databases as
// temp databases), makes the backup, then flips each resource; a failure puts
// everything back from the backup.
import { join } from 'node:path';
import { exists, ownershipNotes, removeFileSafely, sha256File } from '../adapters/files.js';
import { checkHealth } from '../adapters/health.js';
import { JournalFile, type Journal, type JournalStep } from '../adapters/journal.js';
import { applyStaged, discardStaged, extraFiles, stageFiles, type StagedFile } from '../adapters/snapshot.js';
import { restoreWorktree } from '../adapters/worktree.js';
import type { Engine, StagedRestore } from '../core/engine.js';
import { aboutDatabase, ConflictError, CorruptSnapshotError, CriticalError, RollbackError, RolledBackError, UsageError } from '../core/errors.js';
import { buildPlan, type DatabasePlan, type FileChange, type Mode, type Plan, type Selection } from '../core/plan.js';
import { timestampId, uniqueId } from '../core/points.js';
import type { FileEntry, Manifest, Point, SnapshotInfo } from '../core/types.js';
import type { RollbackEvent } from '../adapters/eventlog.js';
import { NOTES_REF, type RemovedPoint } from '../adapters/store.js';
import type { Context } from './context.js';
import { makePoint } from './points.js';
import { checkPointData, verifyPointObjects } from './verify.js'; // security
import { requireTrust } from './trust.js'; // security

export interface RollbackRequest {
  action: 'rollback' | 'undo';
  target: Point;
  mode: Mode;
  selection: Selection;
  removeExtra: boolean;
  /** Drop previous database copies right after success instead of keeping them for prune. */
  dropOld?: boolean;
  reason: string | null;
  only: string[];
  skip: string[];
}

export interface Prepared {
  plan: Plan;
  snapshot: SnapshotInfo | null;
  engines: Engine[];
  request: RollbackRequest;
}

/** The snapshot of a point: from its note, or from manifest.json when the note is missing. */
export async function loadSnapshot(ctx: Context, point: Point): Promise<SnapshotInfo | null> {
  if (point.note?.snapshot) return point.note.snapshot;
  const commit = point.trailers.snapshot;
  if (!commit) return null;
  const r = await ctx.git.run(['cat-file', 'blob', `${commit}:manifest.json`], { allowFail: true });
  if (r.exitCode !== 0) throw new CorruptSnapshotError(`the snapshot of ${point.tag} (${commit.slice(0, 12)}) cannot be read`, 'fetch it (git rollback fetch) or run git fsck');
  const m = JSON.parse(r.stdout) as Manifest;
  return {
    commit,
    ref: `refs/rollback/snapshots/${point.kind}/${point.id}`,
    config: m.config,
    paths: m.paths,
    databases: m.databases,
    captures: m.captures,
    worktree: m.worktree,
    size: 0,
    patterns: m.patterns,
  } as SnapshotInfo;
}

async function fileChanges(root: string, entries: readonly FileEntry[]): Promise<FileChange[]> {
  return Promise.all(
    entries.map(async (e): Promise<FileChange> => {
      const p = join(root, e.path);
      if (!(await exists(p))) return { path: e.path, state: 'added' };
      if (e.mode === '120000') return { path: e.path, state: 'changed' };
      return { path: e.path, state: (await sha256File(p).catch(() => '')) === e.sha256 ? 'same' : 'changed' };
    }),
  );
}

export async function prepareRollback(ctx: Context, request: RollbackRequest, backupId?: string): Promise<Prepared> {
  const { target, selection } = request;
  requireTrust(ctx); // security: hooks, health and engines run only from an approved config
  const snapshot = await loadSnapshot(ctx, target);
  // security: data read from git is validated before it is planned with (exit 6 naming the entry).
  await checkPointData(ctx, target, snapshot);
  const head = await ctx.git.head();
  const status = await ctx.git.status();
  if (status.conflicted.length > 0) throw new ConflictError('the working tree has unresolved conflicts', 'resolve them (or git merge --abort) first');
  if (request.mode === 'reset' && !head.branch) throw new UsageError('--mode reset needs a checked-out branch; HEAD is detached', 'check out a branch, or use --mode checkout');
  if (request.mode === 'revert' && !selection.code) throw new UsageError('--mode revert rolls code back; it cannot be used with --skip code');

  const existing = await ctx.store.list({ notes: false });
  const id = backupId ?? uniqueId(timestampId(new Date()), new Set(existing.filter((p) => p.kind === 'backup').map((p) => p.id)));
  const backupTag = `${ctx.config.tags.backup}${id}`;

  // security: what --remove-extra deletes comes from the local config only, never from patterns stored in a point.
  const patterns = snapshot ? { config: ctx.config.config, paths: ctx.config.paths } : { config: [], paths: [] };
  const config = snapshot && selection.config ? await fileChanges(ctx.repo.root, snapshot.config) : [];
  const paths = snapshot && selection.paths ? await fileChanges(ctx.repo.root, snapshot.paths) : [];
  const extra = {
    config: snapshot && selection.config ? await extraFiles(ctx.repo.root, patterns.config, snapshot.config) : [],
    paths: snapshot && selection.paths ? await extraFiles(ctx.repo.root, patterns.paths, snapshot.paths) : [],
  };

  const dbEntries = (snapshot?.databases ?? []).filter((d) => selection.databases.has(d.name));
  const configured = new Set(ctx.config.databases.map((d) => d.name));
  for (const d of snapshot?.databases ?? []) {
    if (selection.databases.has(d.name) && !configured.has(d.name)) {
      throw new UsageError(`the point has database "${d.name}", which is no longer configured`, `configure it again, or skip it: --skip db:${d.name}`);
    }
  }
  const engines = await ctx.engines(dbEntries.map((d) => d.name));
  const databases: DatabasePlan[] = dbEntries.map((entry) => {
    const engine = engines.find((e) => e.name === entry.name) as Engine;
    const s = engine.strategy(safeJobId(id));
    return { entry, strategy: s.text, downtime: s.downtime, where: engine.describe() };
  });

  let commitsUndone: number | null = null;
  if (head.commit && selection.code) {
    const r = await ctx.git.run(['rev-list', '--count', `${target.commit}..${head.commit}`], { allowFail: true });
    commitsUndone = r.exitCode === 0 ? Number(r.stdout.trim()) : null;
  }
  const branchName = request.mode === 'branch' ? await freeBranchName(ctx, `rollback/${target.id}-${timestampId(new Date()).slice(0, 8)}`) : undefined;
  const plan = buildPlan({
    target,
    backupTag,
    mode: request.mode,
    selection,
    current: { commit: head.commit as string, branch: head.branch, dirtyFiles: status.tracked.length + status.untracked.length },
    ...(branchName ? { branchName } : {}),
    config,
    paths,
    extra,
    removeExtra: request.removeExtra,
    databases,
    databasesNotInPoint: [...selection.databases].filter((n) => !(snapshot?.databases ?? []).some((d) => d.name === n)),
    hooks: ctx.config.hooks,
    health: ctx.config.health ? (ctx.config.health.url ?? ctx.config.health.command) : null,
    commitsUndone,
  });
  // security: where owner/group cannot be kept, the plan says so.
  const ownerNotes = snapshot ? await ownershipNotes(ctx.repo.root, [...(selection.config ? snapshot.config : []), ...(selection.paths ? snapshot.paths : [])]) : [];
  plan.steps.filter((s) => s.kind === 'files').at(-1)?.details.push(...ownerNotes);
  return { plan, snapshot, engines, request };
}

async function freeBranchName(ctx: Context, base: string): Promise<string> {
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    if (!(await ctx.git.revParse(`refs/heads/${name}`))) return name;
  }
}

/** Database identifiers cannot hold "-": job ids use "_". */
export function safeJobId(id: string): string {
  return id.replace(/[^A-Za-z0-9_]/g, '_');
}

export interface Reporter {
  step(title: string): void;
  done(title: string, ms: number): void;
  warn(text: string): void;
}

export interface RollbackOutcome {
  plan: Plan;
  backup: Point | null;
  steps: JournalStep[];
  ms: number;
  health: { ok: boolean; detail: string } | null;
  keptDatabases: string[];
}

interface Flipped {
  code: { commit: string | null; branch: string | null } | null;
  files: StagedFile[];
  removed: string[];
  databases: { engine: Engine; staged: StagedRestore }[];
}

/**
 * Executes a prepared plan. The caller holds the lock. With `existingBackup`
 * (--continue / --abort) no new backup is made.
 */
export async function executeRollback(ctx: Context, prepared: Prepared, reporter: Reporter, existingBackup?: Point): Promise<RollbackOutcome> {
  const { plan, snapshot, request } = prepared;
  const started = Date.now();
  const journalFile = new JournalFile(ctx.stateDir);
  const backupId = plan.backupTag.slice(ctx.config.tags.backup.length);
  const job = safeJobId(backupId);
  const steps: JournalStep[] = [];
  const timed = async <T>(kind: string, title: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    reporter.step(title);
    try {
      const result = await fn();
      steps.push({ kind, title, ms: Date.now() - t, outcome: 'ok' });
      reporter.done(title, Date.now() - t);
      return result;
    } catch (error) {
      steps.push({ kind, title, ms: Date.now() - t, outcome: 'failed' });
      throw error;
    }
  };

  // 1. Verify and stage: nothing live changes here.
  const sel = request.selection;
  const fileEntries = snapshot
    ? [
        ...(sel.config ? snapshot.config.map((e) => ({ entry: e, rel: e.path })) : []),
        ...(sel.paths ? snapshot.paths.map((e) => ({ entry: e, rel: e.path })) : []),
      ]
    : [];
  const dbEntries = plan.input.databases.map((d) => d.entry);
  const stagedDbs: { engine: Engine; staged: StagedRestore }[] = [];
  let stagedFiles: StagedFile[] = [];
  try {
    await timed('check', 'verify the snapshot', async () => {
      const ids = [
        ...fileEntries.map((f) => f.entry.blob),
        ...(sel.code && snapshot?.worktree ? [snapshot.worktree.commit, snapshot.worktree.index, ...(snapshot.worktree.untracked ? [snapshot.worktree.untracked] : [])] : []),
        ...dbEntries.flatMap((d) => [...(d.chunks ?? []).map((c) => c.blob), ...(d.blob ? [d.blob] : [])]),
      ];
      if (sel.code) ids.push(plan.targetCommit);
      // security: code objects and uncommitted work present and re-hashed, snapshot objects present.
      await verifyPointObjects(ctx, prepared.request.target, snapshot, sel);
      const sizes = await ctx.git.objectSizes(ids);
      const missing = [...sizes].filter(([, s]) => s === null).map(([id]) => id);
      if (missing.length > 0) {
        throw new CorruptSnapshotError(`${missing.length} object${missing.length === 1 ? '' : 's'} of ${plan.target} ${missing.length === 1 ? 'is' : 'are'} missing (${missing[0]?.slice(0, 12)}…)`, 'fetch them (git rollback fetch), or roll back to another point; nothing was changed');
      }
      stagedFiles = await stageFiles(ctx.git, ctx.repo, fileEntries, job, await ctx.cipher() /* security */);
      for (const entry of dbEntries) {
        const engine = prepared.engines.find((e) => e.name === entry.name) as Engine;
        await engine.check('restore', entry).catch((e: unknown) => {
          throw aboutDatabase(e, entry.name);
        });
      }
    });
  } catch (error) {
    await discardStaged(stagedFiles);
    for (const d of stagedDbs) await d.staged.discard().catch(() => undefined);
    throw error;
  }

  // 2. The backup, then the journal: from here on, every change can be undone.
  let backup: Point | null = existingBackup ?? null;
  const notesBefore = await ctx.git.revParse(NOTES_REF);
  const journal: Journal = {
    schema: 1,
    job,
    action: request.action,
    target: plan.target,
    backup: plan.backupTag,
    mode: plan.mode,
    only: request.only,
    skip: request.skip,
    pid: process.pid,
    startedAt: new Date(started).toISOString(),
    state: 'running',
    steps,
  };
  try {
    if (!backup) {
      backup = (
        await timed('backup', `back up the current state as ${plan.backupTag}`, () =>
          makePoint(ctx, {
            kind: 'backup',
            name: backupId,
            description: `before ${request.action === 'undo' ? 'undo to' : 'rollback to'} ${plan.target}`,
            includeUntracked: true,
            databases: sel.databases,
            silent: true,
            extra: { action: request.action, target: plan.target },
          }),
        )
      ).point;
    }
    // Databases are staged after the backup: an engine may stage beside the live
    // file (SQLite), and the backup must not capture that as untracked work.
    if (dbEntries.length > 0) {
      const store = await ctx.dumpStore();
      for (const entry of dbEntries) {
        const engine = prepared.engines.find((e) => e.name === entry.name) as Engine;
        await timed('database', `stage database ${entry.name}`, async () => {
          const input = store.read(entry.chunks ?? (entry.blob ? [{ blob: entry.blob, size: entry.size }] : []), entry.sha256);
          try {
            stagedDbs.push({ engine, staged: await engine.stage(input, { jobId: job, entry }) });
          } catch (e) {
            throw aboutDatabase(e, entry.name);
          }
        });
      }
    }
    await journalFile.write(journal);
  } catch (error) {
    await discardStaged(stagedFiles);
    for (const d of stagedDbs) await d.staged.discard().catch(() => undefined);
    // Nothing live changed: take the backup made for this run away again, so a
    // refused rollback (e.g. a corrupt dump) leaves the repository as it was.
    if (backup && !existingBackup) await ctx.store.discardNew(backup, notesBefore).catch(() => undefined);
    throw error;
  }

  // 3. Flip each resource.
  const flipped: Flipped = { code: null, files: [], removed: [], databases: [] };
  let health: RollbackOutcome['health'] = null;
  try {
    if (ctx.config.hooks.beforeRollback) await timed('hook', 'run hook beforeRollback', () => runHook(ctx, ctx.config.hooks.beforeRollback as string, plan));
    if (sel.code) {
      // Marked before moving: a checkout that fails half-way must still be put back (with the uncommitted work).
      flipped.code = await ctx.git.head();
      await timed('code', plan.steps.find((s) => s.kind === 'code')?.title ?? 'move code', () => moveCode(ctx, plan, prepared));
      if (snapshot?.worktree) await timed('worktree', "restore the point's uncommitted work", () => restoreWorktree(ctx.git, snapshot.worktree!));
    }
    if (stagedFiles.length > 0) {
      // Marked before applying: a failure half-way must still put every file back.
      flipped.files = stagedFiles;
      const ownerLost = await timed('files', `restore ${stagedFiles.length} file${stagedFiles.length === 1 ? '' : 's'}`, () => applyStaged(stagedFiles, job));
      if (ownerLost.length) reporter.warn(`owner and group could not be kept for ${ownerLost.join(', ')} (this user may not set them)`);
    }
    const extra = [...(sel.config ? plan.input.extra.config : []), ...(sel.paths ? plan.input.extra.paths : [])];
    if (request.removeExtra && extra.length > 0) {
      await timed('remove', `remove ${extra.length} file${extra.length === 1 ? '' : 's'} that did not exist at the point`, async () => {
        for (const f of extra) {
          await removeFileSafely(ctx.repo.root, f); // security: never through a symlinked parent
          flipped.removed.push(f);
        }
      });
    }
    for (const d of stagedDbs) {
      await timed('database', `swap in database ${d.engine.name}`, () => d.staged.swap());
      flipped.databases.push(d);
    }
    if (ctx.config.hooks.afterRollback) await timed('hook', 'run hook afterRollback', () => runHook(ctx, ctx.config.hooks.afterRollback as string, plan));
    if (ctx.config.health) {
      const h = await timed('health', 'check health', () => checkHealth(ctx.config.health!, ctx.repo.root));
      health = { ok: h.ok, detail: h.detail };
      if (!h.ok) throw new RollbackError(`health check failed after ${h.attempts} attempt${h.attempts === 1 ? '' : 's'}: ${h.detail}`);
    }
  } catch (error) {
    journal.state = 'reverting';
    journal.error = (error as Error).message;
    await journalFile.write(journal).catch(() => undefined);
    try {
      await revert(ctx, flipped, backup, stagedDbs, reporter);
    } catch (revertError) {
      journal.state = 'failed';
      await journalFile.write(journal).catch(() => undefined);
      throw new CriticalError(
        `${(error as Error).message}; putting things back also failed: ${(revertError as Error).message}`,
        `the backup ${plan.backupTag} holds the state from before; run: git rollback to --abort`,
      );
    }
    await journalFile.remove();
    await ctx.log
      .append({ type: request.action, target: plan.target, reason: request.reason, outcome: 'reverted', ms: Date.now() - started, backup: plan.backupTag, mode: plan.mode, steps, error: (error as Error).message })
      .catch(() => undefined);
    throw new RolledBackError(`${request.action} to ${plan.target} failed and was reverted: ${(error as Error).message}`, `nothing changed; the state before is also kept as ${plan.backupTag}`);
  }

  await discardStaged(stagedFiles);
  const kept: string[] = [];
  for (const d of stagedDbs) {
    const keptAs = d.staged.keptAs;
    await d.staged.discard().catch((e: Error) => reporter.warn(`could not clean up after database ${d.engine.name}: ${e.message}`));
    if (!keptAs) continue;
    if (request.dropOld && d.engine.dropKept) {
      await d.engine.dropKept(keptAs).catch((e: Error) => {
        kept.push(keptAs);
        reporter.warn(`could not drop the previous copy ${keptAs} of database ${d.engine.name}: ${e.message}`);
      });
    } else kept.push(keptAs);
  }
  await journalFile.remove();
  const ms = Date.now() - started;
  await ctx.log.append({
    type: request.action,
    target: plan.target,
    reason: request.reason,
    outcome: 'ok',
    ms,
    backup: plan.backupTag,
    mode: plan.mode,
    from: { commit: plan.input.current.commit, branch: plan.input.current.branch },
    to: { commit: plan.targetCommit },
    only: request.only,
    skip: request.skip,
    steps,
    health,
    commitsUndone: plan.input.commitsUndone ?? null,
    keptDatabases: kept,
  });
  return { plan, backup, steps, ms, health, keptDatabases: kept };
}

async function moveCode(ctx: Context, plan: Plan, prepared: Prepared): Promise<void> {
  const c = plan.targetCommit;
  const git = ctx.git;
  switch (plan.mode) {
    case 'checkout':
      await git.run(['checkout', '-f', '-q', '--detach', c]);
      break;
    case 'reset':
      await git.run(['reset', '-q', '--hard', c]);
      break;
    case 'branch':
      await git.run(['checkout', '-f', '-q', '-b', plan.input.branchName as string, c]);
      break;
    case 'revert': {
      const head = await git.text(['rev-parse', 'HEAD']);
      const tree = await git.text(['rev-parse', `${c}^{tree}`]);
      const msg = `Roll back to ${plan.target}\n\nThe tree of this commit equals ${c} (${plan.target}).\nMade by git-rollback; the state before is ${plan.backupTag}.\n`;
      const commit = await git.commitTree(tree, [head], msg);
      await git.run(['reset', '-q', '--hard', commit]);
      break;
    }
    case 'exact': {
      const branch = prepared.request.target.note?.branch ?? null;
      if (branch) await git.run(['checkout', '-f', '-q', '-B', branch, c]);
      else await git.run(['checkout', '-f', '-q', '--detach', c]);
      break;
    }
  }
}

async function runHook(ctx: Context, command: string, plan: Plan): Promise<void> {
  const { execa } = await import('execa');
  const r = await execa('sh', ['-c', command], {
    cwd: ctx.repo.root,
    reject: false,
    all: true,
    env: { ROLLBACK_TARGET: plan.target, ROLLBACK_COMMIT: plan.targetCommit, ROLLBACK_BACKUP: plan.backupTag },
  });
  if (r.exitCode !== 0) throw new RollbackError(`hook \`${command}\` exited ${r.exitCode ?? 'on a signal'}: ${String(r.all ?? '').trim().split('\n').slice(-3).join(' | ')}`);
}

/** Puts back everything flipped so far, from the backup point. */
async function revert(ctx: Context, flipped: Flipped, backup: Point | null, staged: { engine: Engine; staged: StagedRestore }[], reporter: Reporter): Promise<void> {
  reporter.warn('a step failed: putting everything back from the backup');
  const snapshot = backup ? await loadSnapshot(ctx, backup) : null;
  for (const d of [...flipped.databases].reverse()) {
    try {
      await d.staged.unswap();
    } catch (error) {
      // Engines that cannot swap back (command) restore the backup's dump instead.
      const entry = snapshot?.databases.find((e) => e.name === d.engine.name);
      if (!entry) throw error;
      const store = await ctx.dumpStore();
      const again = await d.engine.stage(store.read(entry.chunks ?? (entry.blob ? [{ blob: entry.blob, size: entry.size }] : []), entry.sha256), { jobId: `revert_${Date.now()}`, entry });
      await again.swap();
      await again.discard().catch(() => undefined);
    }
  }
  for (const d of staged) await d.staged.discard().catch(() => undefined);
  if (!backup) return;
  if (flipped.code) {
    const b = flipped.code;
    if (b.branch) await ctx.git.run(['checkout', '-f', '-q', '-B', b.branch, backup.commit]);
    else await ctx.git.run(['checkout', '-f', '-q', '--detach', backup.commit]);
    if (snapshot?.worktree) await restoreWorktree(ctx.git, snapshot.worktree);
  }
  if (snapshot && (flipped.files.length > 0 || flipped.removed.length > 0)) {
    const had = new Set([...snapshot.config, ...snapshot.paths].map((f) => f.path));
    const entries = [...snapshot.config, ...snapshot.paths].map((e) => ({ entry: e, rel: e.path }));
    const job = `revert${Date.now()}`;
    const again = await stageFiles(ctx.git, ctx.repo, entries, job, await ctx.cipher() /* security */);
    await applyStaged(again, job);
    for (const f of flipped.files) {
      if (had.has(f.entry.path)) continue;
      await removeFileSafely(ctx.repo.root, f.rel); // security: never through a symlinked parent
    }
  }
  await discardStaged(flipped.files);
}

/** The backup made by the last rollback or undo that went through: what `undo` returns to. */
export type LastAction =
  | { kind: 'rollback'; backup: string; event: RollbackEvent; commit: string }
  | { kind: 'delete'; removed: RemovedPoint[]; event: RollbackEvent; commit: string };

/**
 * The newest action `undo` can undo: a rollback or undo (back to its backup;
 * so undo twice is a redo), or a delete or prune (the points are put back).
 * Restores made by undo are not themselves undone, and mark what they undid.
 */
export async function lastAction(ctx: Context): Promise<LastAction | null> {
  const undone = new Set<string>();
  for (const { commit, event } of await ctx.log.read(500)) {
    if (undone.has(commit) || event.outcome !== 'ok') continue;
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

export async function lastUndoable(ctx: Context): Promise<{ backup: string; event: { type: string; target: string | null; time: string } } | null> {
  const events = await ctx.log.read(200);
  for (const { event } of events) {
    if ((event.type === 'rollback' || event.type === 'undo') && event.outcome === 'ok' && typeof event.backup === 'string') {
      return { backup: event.backup, event: { type: event.type, target: event.target, time: event.time } };
    }
  }
  return null;
}
