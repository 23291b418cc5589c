// Rolling back: plan → (dry run | confirm) → a journaled job of steps.
//
// prepareRollback() does everything that changes nothing: it loads and
// checks the point, asks each engine whether it can restore (servers,
// privileges, tools), and freezes what the job needs into a spec: the
// request with every flag, the state before, the hooks and config of the
// run. The plan (src/core/plan.ts) is the list of steps; this module gives
// each step id its run and revert and hands them to the step runner
// (runner.ts), which journals them. `--continue` and `--abort` rebuild the
// same steps from the journal alone, in another process.
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { exists, ownershipNotes, sha256File } from '../adapters/files.js';
import { checkHealth } from '../adapters/health.js';
import { JOURNAL_SCHEMA, JournalFile, type Journal, type JournalRequest, type JournalStep } from '../adapters/journal.js';
import { cloneId } from '../adapters/clone-id.js';
import { applyStaged, discardStaging, matches, removePath, stageAll, stagingPlan, type StagedPath } from '../adapters/restore-files.js';
import { addDatabases, captureSnapshot, extraFiles, storeDump } from '../adapters/snapshot.js';
import { describeState, loadSnapshot } from './state.js';
import { restoreWorktree, worktreeMatches } from '../adapters/worktree.js';
import { resolveDatabase, type Config, type HealthConfig } from '../core/config.js';
import type { Engine, RestoreJob } from '../core/engine.js';
import {
  aboutDatabase,
  errorMsg,
  CancelledError,
  ConflictError,
  CorruptSnapshotError,
  CriticalError,
  InterruptedJobError,
  NotFoundError,
  RollbackError,
  redact,
  RolledBackError,
  UsageError,
} from '../core/errors.js';
import { en, english, joined, msg, type Msg } from '../core/i18n.js';
import { buildPlan, type DatabasePlan, type FileChange, type Hooks, type Mode, type Plan, type Selection } from '../core/plan.js';
import { timestampId, uniqueId } from '../core/points.js';
import type { DatabaseEntry, FileEntry, Manifest, Point, SnapshotInfo } from '../core/types.js';
import type { Context } from './context.js';
import { runFailureHook, runHook, type Failure } from './hooks.js';
import { recordConfigInUse, requireTrust } from './trust.js';
import { checkPointData, verifyPointObjects } from './verify.js';
import { journalSteps, RevertedFailure, Runner, StuckFailure, type RunnerReporter, type StepDef, type StepScope } from './runner.js';

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
  /** The automatic rollback of a failed `deploy`. */
  deploy?: { point: string; failure: string };
  /** Only the plan is wanted: what only a restore needs (the age key) is not required. */
  dryRun?: boolean;
}

/** What the job needs that must not be recomputed once it started (journal request.frozen). */
interface Frozen {
  backupId: string;
  before: { commit: string; branch: string | null };
  target: { tag: string; commit: string; kind: string; branch: string | null };
  selection: { code: boolean; config: boolean; paths: boolean; databases: string[] };
  /** Files to remove (computed here from the configured patterns, never from the point). */
  extra: string[];
  /** Database → earlier job whose parked copy a fast undo takes back. */
  adopt: Record<string, string>;
  /**
   * The config of the run (trusted when the job started): its hooks, health
   * and engines are used on --continue/--abort too, never a config a checkout
   * brought in. Databases are as written: ${VAR}s are expanded again from the
   * environment, so no secret is written to the journal.
   */
  config: Config;
  hooks: Hooks;
  health: HealthConfig | null;
  /** Target paths the backup must capture even when no configured pattern matches them. */
  captureAlso: { config: string[]; paths: string[] };
  commitsUndone: number | null;
  /** The approved config in use when the job started, recorded on the backup (undo comes back to it: trust.ts). */
  configInUse?: { file: string | null; sha256: string | null };
}

export interface Prepared {
  plan: Plan;
  snapshot: SnapshotInfo | null;
  engines: Engine[];
  request: RollbackRequest;
  frozen: Frozen;
}

export interface RollbackOutcome {
  action: 'rollback' | 'undo';
  target: string;
  targetCommit: string;
  backup: string;
  mode: Mode;
  steps: JournalStep[];
  ms: number;
  health: { ok: boolean; detail: string } | null;
  keptDatabases: string[];
}

export interface AbortOutcome {
  aborted: true;
  /** The job had already completed: only its clean-up was left. */
  alreadyDone: boolean;
  target: string;
  backup: string;
  /** What was compared with the state before, in English (JSON). */
  checked: string[];
  /** The same, as catalog messages for the user's language. */
  checkedLocal: Msg[];
  ms: number;
}

export type Reporter = RunnerReporter;

const JOB_REF = (job: string) => `refs/rollback/jobs/${job}`;

/** Database identifiers cannot hold "-": job ids use "_". */
export function safeJobId(id: string): string {
  return id.replace(/[^A-Za-z0-9_]/g, '_').toLowerCase();
}

/** The snapshot of a point: from its note, or from manifest.json when the note is missing. */
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

/** Plans a rollback and checks everything it needs; changes nothing. */
export async function prepareRollback(ctx: Context, request: RollbackRequest, backupId?: string): Promise<Prepared> {
  const { target, selection } = request;
  requireTrust(ctx); // security: hooks, health and engines run only from an approved config
  const snapshot = await loadSnapshot(ctx, target);
  // security: data read from git is validated before it is planned with (exit 6 naming the entry).
  await checkPointData(ctx, target, snapshot);
  const head = await ctx.git.head();
  const status = await ctx.git.status();
  if (status.conflicted.length > 0) throw new ConflictError(msg('rollback.conflicts'), msg('rollback.conflictsHint'));
  if (request.mode === 'reset' && !head.branch) throw new UsageError(msg('rollback.resetDetached'), msg('rollback.detachedHint'));
  if (request.mode === 'revert' && !head.branch) throw new UsageError(msg('rollback.revertDetached'), msg('rollback.detachedHint'));
  if (request.mode === 'revert' && !selection.code) throw new UsageError(msg('rollback.revertSkipCode'));

  const existing = await ctx.store.list({ notes: false });
  const id = backupId ?? uniqueId(timestampId(new Date()), new Set(existing.filter((p) => p.kind === 'backup').map((p) => p.id)));
  const backupTag = `${ctx.config.tags.backup}${id}`;
  const job = safeJobId(id);

  // Removal lists come from the configured patterns, never from the point.
  const patterns = { config: ctx.config.config, paths: ctx.config.paths };
  const config = snapshot && selection.config ? await fileChanges(ctx.repo.root, snapshot.config) : [];
  const paths = snapshot && selection.paths ? await fileChanges(ctx.repo.root, snapshot.paths) : [];
  const extra = {
    config: snapshot && selection.config ? await extraFiles(ctx.repo.root, patterns.config, snapshot.config) : [],
    paths: snapshot && selection.paths ? await extraFiles(ctx.repo.root, patterns.paths, snapshot.paths) : [],
  };
  // Undo returns to its backup exactly: what the rollback brought in goes.
  const removeExtra = request.removeExtra || target.kind === 'backup';

  const dbEntries = (snapshot?.databases ?? []).filter((d) => selection.databases.has(d.name));
  const configured = new Set(ctx.config.databases.map((d) => d.name));
  for (const d of snapshot?.databases ?? []) {
    if (selection.databases.has(d.name) && !configured.has(d.name)) {
      throw new UsageError(msg('rollback.dbNotConfigured', { name: d.name }), msg('rollback.dbNotConfiguredHint', { name: d.name }));
    }
  }

  // Every object the job reads is here and intact (code re-hashed), and an
  // encrypted point has a key that opens it, before anything changes.
  await verifyPointObjects(ctx, target, snapshot, selection, { needKey: !request.dryRun });

  const engines = await ctx.engines(dbEntries.map((d) => d.name));
  // Fast undo takes back only database copies this clone parked (never on the word of a fetched note).
  const clone = await cloneId(ctx.stateDir);
  const adopt: Record<string, string> = {};
  const databases: DatabasePlan[] = [];
  for (const entry of dbEntries) {
    const engine = engines.find((e) => e.name === entry.name) as Engine;
    const check = await engine.checkRestore(entry, job).catch((e: unknown) => {
      throw aboutDatabase(e, entry.name);
    });
    // A backup's dumps were taken from the copies its own job parked (the job
    // id is the backup's id): a fast undo takes such a copy back when the
    // engine can show it unchanged since (adoptParked decides; otherwise the dump is loaded).
    const adoptFrom = target.kind === 'backup' && engine.adoptParked && entry.details?.parked && target.note?.clone === clone ? safeJobId(target.id) : null;
    if (adoptFrom) adopt[entry.name] = adoptFrom;
    const temps = engine.tempObjects(job);
    const s = engine.strategy(job);
    databases.push({
      entry,
      strategy: adoptFrom ? msg('rollback.adoptStrategy', { text: s.text }) : s.text,
      downtime: s.downtime,
      where: engine.describe(),
      notes: check.notes,
      parks: engine.parks,
      adoptFrom,
      ...(temps.find((t) => t.role === 'staged') ? { staged: temps.find((t) => t.role === 'staged')!.name } : {}),
      ...(temps.find((t) => t.role === 'parked') ? { parked: temps.find((t) => t.role === 'parked')!.name } : {}),
    });
  }

  let commitsUndone: number | null = null;
  if (head.commit && selection.code) {
    const r = await ctx.git.run(['rev-list', '--count', `${target.commit}..${head.commit}`], { allowFail: true });
    commitsUndone = r.exitCode === 0 ? Number(r.stdout.trim()) : null;
  }
  const branchName = request.mode === 'branch' ? await freeBranchName(ctx, `rollback/${target.id}-${timestampId(new Date()).slice(0, 8)}`) : undefined;
  const hooks: Hooks = { beforeRollback: ctx.config.hooks.beforeRollback, afterRollback: ctx.config.hooks.afterRollback, onFailure: ctx.config.hooks.onFailure ?? null };
  const plan = buildPlan({
    target,
    snapshot,
    backupTag,
    mode: request.mode,
    selection,
    current: { commit: head.commit as string, branch: head.branch, dirtyFiles: status.tracked.length + status.untracked.length },
    ...(branchName ? { branchName } : {}),
    config,
    paths,
    extra,
    removeExtra,
    dropOld: !!request.dropOld,
    databases,
    databasesNotInPoint: [...selection.databases].filter((n) => !(snapshot?.databases ?? []).some((d) => d.name === n)),
    hooks,
    health: ctx.config.health ? (ctx.config.health.url ?? ctx.config.health.command) : null,
    commitsUndone,
  });
  // Where owner and group cannot be kept, the plan says so.
  const ownerNotes = snapshot ? await ownershipNotes(ctx.repo.root, [...(selection.config ? snapshot.config : []), ...(selection.paths ? snapshot.paths : [])]) : [];
  const filesStep = plan.steps.find((s) => s.id === 'files');
  filesStep?.details.push(...ownerNotes.map(english));
  filesStep?.local?.details.push(...ownerNotes);
  const frozen: Frozen = {
    backupId: id,
    before: { commit: head.commit as string, branch: head.branch },
    target: { tag: target.tag, commit: target.commit, kind: target.kind, branch: target.note?.branch ?? null },
    selection: { code: selection.code, config: selection.config, paths: selection.paths, databases: dbEntries.map((d) => d.name) },
    extra: removeExtra ? [...(selection.config ? extra.config : []), ...(selection.paths ? extra.paths : [])] : [],
    adopt,
    config: ctx.config,
    hooks,
    health: ctx.config.health,
    captureAlso: {
      config: selection.config && snapshot ? snapshot.config.map((e) => e.path) : [],
      paths: selection.paths && snapshot ? snapshot.paths.map((e) => e.path) : [],
    },
    commitsUndone,
  };
  return { plan, snapshot, engines, request: { ...request, removeExtra }, frozen };
}

async function freeBranchName(ctx: Context, base: string): Promise<string> {
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    if (!(await ctx.git.revParse(`refs/heads/${name}`))) return name;
  }
}

/** Everything a step needs, in the first process or a later one. */
interface JobContext {
  ctx: Context;
  file: JournalFile;
  journal: Journal;
  frozen: Frozen;
  config: Config;
  engines: Map<string, Engine>;
  /** The target's snapshot (null for a code-only point, or when it is gone and the job is being aborted). */
  snapshot: SnapshotInfo | null;
  reporter: Reporter;
  started: number;
}

/** Starts the job: journal first, then the steps. The caller holds the lock. */
export async function executeRollback(ctx: Context, prepared: Prepared, reporter: Reporter): Promise<RollbackOutcome> {
  const { plan, request } = prepared;
  const frozen: Frozen = { ...prepared.frozen, configInUse: (await recordConfigInUse(ctx)).config };
  const file = new JournalFile(ctx.stateDir);
  const journalRequest: JournalRequest = {
    action: request.action,
    target: plan.target,
    targetCommit: plan.targetCommit,
    mode: plan.mode,
    only: request.only,
    skip: request.skip,
    removeExtra: request.removeExtra,
    dropOld: !!request.dropOld,
    reason: request.reason,
    backupTag: plan.backupTag,
    ...(plan.input.branchName ? { branchName: plan.input.branchName } : {}),
    ...(request.deploy ? { deploy: request.deploy } : {}),
    frozen: frozen as unknown as Record<string, unknown>,
  };
  const journal: Journal = {
    schema: JOURNAL_SCHEMA,
    job: safeJobId(frozen.backupId),
    request: journalRequest,
    pid: process.pid,
    host: '',
    startedAt: new Date().toISOString(),
    updatedAt: '',
    direction: 'forward',
    steps: plan.steps.filter((s) => s.id !== 'verify').map((s) => ({ id: s.id, kind: s.kind, title: s.title, ...(s.local ? { local: s.local.title } : {}), state: 'pending', memo: {} })),
    temps: [],
    engineMemos: {},
  };
  await file.write(journal);
  const jc: JobContext = {
    ctx,
    file,
    journal,
    frozen,
    config: ctx.config,
    engines: new Map(prepared.engines.map((e) => [e.name, e])),
    snapshot: prepared.snapshot,
    reporter,
    started: Date.now(),
  };
  return runForward(jc);
}

/** `git rollback to --continue | --abort`: the job of the journal, from where it stopped. */
export async function resumeRollback(ctx: Context, how: 'continue' | 'abort', reporter: Reporter): Promise<RollbackOutcome | AbortOutcome> {
  const file = new JournalFile(ctx.stateDir);
  const journal = await file.read();
  if (!journal) throw new NotFoundError(msg('to.noJournal'), msg('to.noJournalHint'));
  const frozen = journal.request.frozen as unknown as Frozen;
  const config = frozen.config;
  const names = frozen.selection.databases;
  const engines = new Map<string, Engine>();
  if (names.length > 0) {
    const { createEngine } = await import('../adapters/engines/index.js');
    for (const d of config.databases.filter((x) => names.includes(x.name))) {
      engines.set(d.name, createEngine(resolveDatabase(d, ctx.env, config.file), { cwd: ctx.repo.root, env: ctx.env }));
    }
    for (const n of names) if (!engines.has(n)) throw new UsageError(msg('rollback.journalDbMissing', { name: n }));
  }
  const target = (await ctx.store.list()).find((p) => p.tag === journal.request.target) ?? null;
  if (!target && how === 'continue') throw new NotFoundError(msg('rollback.targetGone', { target: journal.request.target }), msg('rollback.targetGoneHint'));
  const snapshot = target ? await loadSnapshot(ctx, target) : null;
  const jc: JobContext = { ctx, file, journal, frozen, config, engines, snapshot, reporter, started: Date.now() };
  if (how === 'continue') {
    if (journal.direction === 'revert') {
      throw new ConflictError(
        msg('rollback.continueReverting', { action: actionMsg(journal.request.action), target: journal.request.target, error: journalError(journal) }),
        msg('rollback.continueRevertingHint'),
      );
    }
    return runForward(jc);
  }
  return runAbort(jc);
}

async function runForward(jc: JobContext): Promise<RollbackOutcome> {
  const runner = new Runner(jc.file, jc.journal, buildSteps(jc), jc.reporter);
  await runner.settle();
  try {
    await runner.forward();
  } catch (error) {
    if (error instanceof RevertedFailure) return afterRevert(jc, error.failure, error.interrupted);
    if (error instanceof StuckFailure) return stuck(jc, error);
    throw error;
  }
  await jc.file.remove();
  return outcomeOf(jc);
}

function outcomeOf(jc: JobContext): RollbackOutcome {
  const r = jc.journal.request;
  const memo = (id: string) => jc.journal.steps.find((s) => s.id === id)?.memo ?? {};
  return {
    action: r.action,
    target: r.target,
    targetCommit: r.targetCommit,
    backup: r.backupTag,
    mode: r.mode,
    steps: jc.journal.steps,
    ms: Date.now() - jc.started,
    health: (memo('health').result as RollbackOutcome['health']) ?? null,
    keptDatabases: (memo('cleanup').kept as string[]) ?? [],
  };
}

async function runAbort(jc: JobContext): Promise<AbortOutcome> {
  const steps = buildSteps(jc);
  const runner = new Runner(jc.file, jc.journal, steps, jc.reporter);
  const r = jc.journal.request;
  await runner.settle();
  if (runner.isCommitted) {
    // The rollback went through; only its clean-up was left. Going back now is an undo.
    jc.journal.direction = 'forward';
    await runner.forward();
    await jc.file.remove();
    return { aborted: true, alreadyDone: true, target: r.target, backup: r.backupTag, checked: [], checkedLocal: [], ms: Date.now() - jc.started };
  }
  if (!jc.journal.error) {
    jc.journal.error = 'aborted';
    jc.journal.errorLocal = msg('rollback.aborted');
  }
  try {
    await runner.revertAll();
  } catch (error) {
    if (error instanceof StuckFailure) return stuck(jc, error);
    throw error;
  }
  const checks = await checkReverted(jc);
  await sweep(jc);
  await jc.file.remove();
  const bad = checks.filter((c) => !c.ok);
  await jc.ctx.log
    .append({
      type: 'abort',
      target: r.target,
      reason: r.reason,
      outcome: bad.length ? 'failed' : 'ok',
      ms: Date.now() - jc.started,
      backup: null,
      aborted: r.backupTag,
      error: jc.journal.error,
      ...(jc.journal.errorLocal ? { errorLocal: jc.journal.errorLocal } : {}),
      steps: stepSummary(jc.journal),
      checks: checks.map(checkJSON),
    })
    .catch(() => undefined);
  if (bad.length > 0) {
    throw new CriticalError(msg('rollback.abortNotAsBefore', { action: actionMsg(r.action), target: r.target, checks: joined(bad.map(badCheck), 'semicolon') }), msg('rollback.abortNotAsBeforeHint'));
  }
  return {
    aborted: true,
    alreadyDone: false,
    target: r.target,
    backup: r.backupTag,
    checked: checks.map((c) => english(goodCheck(c))),
    checkedLocal: checks.map(goodCheck),
    ms: Date.now() - jc.started,
  };
}

/** "rollback" / "undo" as a catalog message. */
function actionMsg(action: string): Msg {
  return msg(action === 'undo' ? 'action.undo' : 'action.rollback');
}

/** Why the journal's job is being reverted, in the catalog's terms when it was recorded so. */
function journalError(j: Journal): string | Msg {
  return j.errorLocal ?? j.error ?? msg('rollback.unknownError');
}

/** "code: HEAD is …" for a resource that is not as it was. */
function badCheck(c: Check): Msg {
  return msg('rollback.checkBad', { what: c.what, detail: c.detail });
}

/** "code (… as before)" for a resource checked to be as it was. */
function goodCheck(c: Check): Msg {
  return msg('rollback.checkGood', { what: c.what, detail: c.detail });
}

/** A check as the event log records it: English. */
function checkJSON(c: Check): { what: string; ok: boolean; detail: string } {
  return { what: english(c.what), ok: c.ok, detail: english(c.detail) };
}

/** After a failure was put back: check it really is, then say so (exit 7) or say what is not (exit 8). */
async function afterRevert(jc: JobContext, cause: Error, interrupted: boolean): Promise<never> {
  const r = jc.journal.request;
  const checks = await checkReverted(jc).catch((e: Error): Check[] => [{ what: msg('rollback.check.check'), ok: false, detail: msg('rollback.check.couldNot', { error: errorMsg(e) }) }]);
  await sweep(jc);
  await jc.file.remove();
  const bad = checks.filter((c) => !c.ok);
  // A refusal before anything live moved (a damaged point found while
  // staging) leaves no trace, like any refusal in the verify phase.
  const refused = cause instanceof CorruptSnapshotError && bad.length === 0 && !jc.journal.steps.some((s) => liveStep(s.id) && s.state !== 'pending');
  if (!refused) {
    await jc.ctx.log
      .append({
        type: r.action,
        target: r.target,
        reason: r.reason,
        outcome: interrupted ? 'cancelled' : 'reverted',
        ms: Date.now() - jc.started,
        backup: null,
        mode: r.mode,
        steps: stepSummary(jc.journal),
        error: cause.message,
        ...(typeof errorMsg(cause) === 'string' ? {} : { errorLocal: errorMsg(cause) }),
        checks: checks.map(checkJSON),
        ...(r.deploy ? { deploy: r.deploy } : {}),
      })
      .catch(() => undefined);
  }
  await runOnFailure(jc, interrupted ? 'cancelled' : bad.length ? 'failed' : 'reverted', interrupted ? 130 : bad.length ? 8 : cause instanceof CorruptSnapshotError ? 6 : 7, cause.message);
  const warnings = hookWarnings(jc);
  const action = actionMsg(r.action);
  const error = errorMsg(cause);
  if (bad.length > 0) {
    throw new CriticalError(msg('rollback.revertedNotAsBefore', { action, target: r.target, error, checks: joined(bad.map(badCheck), 'semicolon') }), msg('rollback.revertedNotAsBeforeHint'));
  }
  const checkedList = joined(checks.map(goodCheck));
  const checked = warnings.length ? msg('rollback.nothingChangedBut', { checks: checkedList, warnings: joined(warnings, 'semicolon') }) : msg('rollback.nothingChanged', { checks: checkedList });
  if (interrupted) throw new CancelledError(msg('rollback.interrupted', { action, target: r.target }), checked);
  // A damaged point found while staging, before anything live moved, is what it is: exit 6.
  // `cause` rides along for callers that tell it in their own words (deploy).
  if (cause instanceof CorruptSnapshotError) throw Object.assign(new CorruptSnapshotError(msg('rollback.refused', { action, target: r.target, error }), checked), { cause });
  throw Object.assign(new RolledBackError(msg('rollback.reverted', { action, target: r.target, error }), checked), { cause });
}

/** Steps that change something users see (as opposed to capturing and staging beside it). */
function liveStep(id: string): boolean {
  return !(id === 'capture' || id === 'stage-files' || id.startsWith('stage:') || id.startsWith('backup:'));
}

/** Putting things back failed, or a second signal stopped it: say where each resource is, and the one command that finishes. */
async function stuck(jc: JobContext, error: StuckFailure): Promise<never> {
  const r = jc.journal.request;
  await runOnFailure(jc, 'failed', error.stopped ? 9 : 8, error.message);
  const where = joined(describeState(jc.journal), 'semicolon');
  if (error.stopped) {
    throw new InterruptedJobError(msg('rollback.stoppedPartWay', { action: actionMsg(r.action), target: r.target, where }), msg('rollback.stoppedPartWayHint'));
  }
  throw new CriticalError(msg('rollback.stuck', { error: error.local, where }), msg('rollback.stuckHint'));
}

/** The steps for the event log: English titles, with each one's catalog message so a report can be in the reader's language. */
function stepSummary(j: Journal): Array<{ id: string; kind: string; title: string; local?: Msg; ms: number; outcome: string }> {
  return j.steps
    .filter((s) => s.state !== 'pending')
    .map((s) => ({ id: s.id, kind: s.kind, title: s.title, ...(s.local ? { local: s.local } : {}), ms: s.ms ?? 0, outcome: s.state === 'done' ? 'ok' : s.state }));
}

function hookWarnings(jc: JobContext): (string | Msg)[] {
  return jc.journal.steps
    .filter((s) => s.kind === 'hook' && typeof s.memo.revertWarning === 'string')
    .map((s) => (s.memo.revertWarningLocal as Msg | undefined) ?? (s.memo.revertWarning as string));
}

async function runOnFailure(jc: JobContext, outcome: Failure['outcome'], exitCode: number, error: string): Promise<void> {
  const r = jc.journal.request;
  const warning = await runFailureHook(
    jc.ctx,
    { action: r.deploy ? 'deploy' : r.action, target: r.target, backup: outcome === 'failed' ? r.backupTag : null, outcome, exitCode, error: redact(error), reason: r.reason },
    jc.config.hooks,
  );
  if (warning) jc.reporter.warn(warning);
}

/** Removes what the job staged and no longer needs (after a revert): idempotent. */
async function sweep(jc: JobContext): Promise<void> {
  const { ctx, journal } = jc;
  await discardStaging(ctx.stateDir, journal.job).catch(() => undefined);
  await discardStaging(ctx.stateDir, `${journal.job}_revert`).catch(() => undefined);
  for (const [name, engine] of jc.engines) {
    const rj = restoreJob(jc, name, null, null);
    await engine.discardStaged(rj).catch((e: Error) => jc.reporter.warn(msg('rollback.couldNotRemoveLoaded', { name, error: errorMsg(e) })));
  }
  await ctx.git.run(['update-ref', '-d', JOB_REF(journal.job)], { allowFail: true });
}

// ------------------------------------------------------------------ steps

/** The dump entry of the target for a database, or a stand-in when the target is gone (abort only). */
function targetEntry(jc: JobContext, name: string): DatabaseEntry {
  const e = jc.snapshot?.databases.find((d) => d.name === name);
  if (e) return e;
  const engine = jc.engines.get(name);
  return { name, engine: engine?.engine ?? 'unknown', format: 'unknown', path: `db/${name}`, size: 0, sha256: '', tool: '', ms: 0 };
}

function restoreJob(jc: JobContext, name: string, s: StepScope | null, entry: DatabaseEntry | null, suffix = ''): RestoreJob {
  const key = `${name}${suffix}`;
  const memo = (jc.journal.engineMemos[key] ??= {});
  return {
    jobId: `${jc.journal.job}${suffix}`,
    entry: entry ?? targetEntry(jc, name),
    memo,
    save: () => jc.file.write(jc.journal),
    signal: s?.signal ?? new AbortController().signal,
    warn: (t) => jc.reporter.warn(msg('error.inDatabase', { name, text: t })),
  };
}

function stepMemo(jc: JobContext, id: string): Record<string, unknown> {
  return jc.journal.steps.find((s) => s.id === id)?.memo ?? {};
}

/** The capture's manifest: the state before, as saved by the capture step. */
async function captured(jc: JobContext): Promise<Manifest> {
  const commit = stepMemo(jc, 'capture').commit;
  if (typeof commit !== 'string') throw new RollbackError(msg('rollback.notCaptured'));
  return JSON.parse(await jc.ctx.git.text(['cat-file', 'blob', `${commit}:manifest.json`])) as Manifest;
}

function targetFiles(jc: JobContext): FileEntry[] {
  const s = jc.snapshot;
  if (!s) return [];
  return [...(jc.frozen.selection.config ? s.config : []), ...(jc.frozen.selection.paths ? s.paths : [])];
}

/** Runs one of the job's hooks (frozen when it started), with the job's facts in its environment. */
async function jobHook(jc: JobContext, name: 'beforeRollback' | 'afterRollback', extra: Record<string, string> = {}): Promise<void> {
  const r = jc.journal.request;
  await runHook(jc.ctx, name, { ROLLBACK_ACTION: r.action, ROLLBACK_TARGET: r.target, ROLLBACK_COMMIT: r.targetCommit, ROLLBACK_BACKUP: r.backupTag, ...extra }, undefined, jc.config.hooks);
}

/** Runs a hook while putting things back: a failure is reported, not fatal (the rest must still be put back). */
async function revertHook(jc: JobContext, s: StepScope, name: 'beforeRollback' | 'afterRollback'): Promise<void> {
  try {
    await jobHook(jc, name, { ROLLBACK_STATE: 'reverting' });
    delete s.memo.revertWarning;
    delete s.memo.revertWarningLocal;
  } catch (e) {
    const warning = msg('rollback.hookRevertFailed', { name, error: errorMsg(e) });
    s.memo.revertWarning = english(warning);
    s.memo.revertWarningLocal = warning;
    s.warn(warning);
  }
}

function buildSteps(jc: JobContext): StepDef[] {
  const { ctx, frozen, journal } = jc;
  const git = ctx.git;
  const job = journal.job;
  const r = journal.request;
  const defs = new Map<string, StepDef>();
  const add = (d: Omit<StepDef, 'title' | 'kind'>) => defs.set(d.id, d as StepDef);
  const files = targetFiles(jc);
  const staged = (): StagedPath[] => stagingPlan(ctx.stateDir, ctx.repo.root, files, job);
  const engine = (name: string) => jc.engines.get(name) as Engine;
  const store = () => ctx.dumpStore();
  const cipher = () => ctx.cipher();

  add({
    id: 'capture',
    holdsState: true,
    async run(s) {
      const ref = JOB_REF(job);
      if (typeof s.memo.commit === 'string' && (await git.revParse(ref)) === s.memo.commit) return;
      const date = new Date(Math.floor(Date.now() / 1000) * 1000);
      const patterns = {
        ...jc.config,
        config: [...new Set([...jc.config.config, ...frozen.captureAlso.config.filter((p) => !jc.config.config.includes(p))])],
        paths: [...new Set([...jc.config.paths, ...frozen.captureAlso.paths.filter((p) => !jc.config.paths.includes(p))])],
      };
      const { snapshot } = await captureSnapshot(git, ctx.repo, {
        kind: 'backup',
        id: frozen.backupId,
        date,
        head: frozen.before.commit,
        branch: frozen.before.branch,
        config: patterns,
        includeUntracked: true,
        parts: { config: true, paths: true, databases: [], captures: true, worktree: true },
        ...(jc.config.encryption ? { cipher: await ctx.cipher() } : {}),
      });
      const prints: Record<string, string | null> = {};
      for (const name of frozen.selection.databases) prints[name] = await engine(name).fingerprint().catch(() => null);
      s.memo.fingerprints = prints;
      s.memo.date = date.toISOString();
      s.memo.commit = snapshot.commit;
      await git.run(['update-ref', ref, snapshot.commit]);
    },
    async revert() {
      await git.run(['update-ref', '-d', JOB_REF(job)], { allowFail: true });
    },
  });

  // Databases whose engine cannot keep the previous copy: their backup dump comes first.
  const backupDump = (name: string, fromParked: boolean): StepDef => ({
    id: `backup:${name}`,
    kind: 'backup',
    title: '',
    cancellable: !fromParked,
    async run(s) {
      if (s.memo.entry) return;
      const e = engine(name);
      const rj = restoreJob(jc, name, s, null);
      const entry = await storeDump(
        e,
        await store(),
        (out) => (fromParked && e.dumpParked ? e.dumpParked(rj, out) : e.dump(out, { allowAbsent: true })),
        (t) => s.warn(t),
      );
      s.memo.entry = entry;
    },
  });
  for (const name of frozen.selection.databases) add(backupDump(name, engine(name).parks && !!engine(name).dumpParked));

  add({
    id: 'stage-files',
    cancellable: true,
    async run(s) {
      await s.track([{ database: '', engine: 'files', role: 'staged', kind: 'folder', name: join(ctx.stateDir, 'tmp', `stage-${job}`), jobId: job }]);
      await stageAll(git, staged(), await cipher(), s.signal);
    },
    async revert() {
      await discardStaging(ctx.stateDir, job);
    },
  });

  for (const name of frozen.selection.databases) {
    add({
      id: `stage:${name}`,
      cancellable: true,
      async run(s) {
        const e = engine(name);
        const entry = targetEntry(jc, name);
        await s.track(e.tempObjects(job).filter((t) => t.role !== 'parked'));
        const rj = restoreJob(jc, name, s, entry);
        const from = frozen.adopt[name];
        if (from && e.adoptParked) {
          if (s.memo.adopted === true) return;
          if (await e.adoptParked(from, rj)) {
            s.memo.adopted = true;
            return;
          }
          s.memo.adopted = false;
        }
        const stored = entry.absent ? Readable.from([]) : (await store()).read(entry.chunks ?? (entry.blob ? [{ blob: entry.blob, size: entry.size }] : []), entry.sha256);
        const input = process.env.ROLLBACK_TEST_PAUSE ? pausedAfterFirstChunk(stored, () => s.pause('mid')) : stored;
        await e.stage(input, rj).catch((err: unknown) => {
          throw aboutDatabase(err, name);
        });
      },
      async revert(s) {
        await engine(name).discardStaged(restoreJob(jc, name, s, null));
      },
    });
  }

  // A hook step's revert runs its counterpart: the service stopped by
  // beforeRollback is brought back up on the state put back, and one started
  // by afterRollback is stopped again before the previous state goes back under it.
  const hookStep = (hook: 'beforeRollback' | 'afterRollback', counterpart: 'beforeRollback' | 'afterRollback') =>
    add({
      id: `hook:${hook}`,
      async run() {
        await jobHook(jc, hook);
      },
      async revert(s) {
        await revertHook(jc, s, counterpart);
      },
    });

  hookStep('beforeRollback', 'afterRollback');

  add({
    id: 'code',
    async run(s) {
      const c = r.targetCommit;
      const touched = codeRefs(jc);
      if (!s.memo.refs) {
        const refs: Record<string, string | null> = {};
        for (const ref of touched) refs[ref] = await git.revParse(ref);
        s.memo.refs = refs;
        await s.save();
      }
      switch (r.mode) {
        case 'checkout':
          await git.run(['checkout', '-f', '-q', '--detach', c]);
          break;
        case 'reset':
          await git.run(['checkout', '-f', '-q', frozen.before.branch as string]);
          await git.run(['reset', '-q', '--hard', c]);
          break;
        case 'branch':
          await git.run(['checkout', '-f', '-q', '-B', r.branchName as string, c]);
          break;
        case 'revert': {
          if (typeof s.memo.revertCommit !== 'string') {
            const tree = await git.text(['rev-parse', `${c}^{tree}`]);
            const msg = `Roll back to ${r.target}\n\nThe tree of this commit equals ${c} (${r.target}).\nMade by git-rollback; the state before is ${r.backupTag}.\n`;
            s.memo.revertCommit = await git.commitTree(tree, [frozen.before.commit], msg);
            await s.save();
          }
          await git.run(['checkout', '-f', '-q', frozen.before.branch as string]);
          await git.run(['reset', '-q', '--hard', s.memo.revertCommit as string]);
          break;
        }
        case 'exact': {
          if (frozen.target.branch) await git.run(['checkout', '-f', '-q', '-B', frozen.target.branch, c]);
          else await git.run(['checkout', '-f', '-q', '--detach', c]);
          break;
        }
      }
    },
    async revert(s) {
      await git.run(['checkout', '-f', '-q', '--detach', frozen.before.commit]);
      for (const [ref, oid] of Object.entries((s.memo.refs as Record<string, string | null> | undefined) ?? {})) {
        if (oid) await git.run(['update-ref', ref, oid]);
        else await git.run(['update-ref', '-d', ref], { allowFail: true });
      }
      if (frozen.before.branch) await git.run(['checkout', '-f', '-q', frozen.before.branch]);
      const before = await captured(jc);
      if (before.worktree) await restoreWorktree(git, before.worktree);
    },
  });

  add({
    id: 'worktree',
    async run(s) {
      const wt = jc.snapshot?.worktree;
      if (!wt) return;
      if (!Array.isArray(s.memo.created)) {
        // Untracked files the point brings in that are not here now: the revert removes exactly these.
        const created: string[] = [];
        if (wt.untracked) {
          const names = (await git.run(['ls-tree', '-r', '-z', '--name-only', wt.untracked])).stdout.split('\0').filter(Boolean);
          for (const n of names) if (!(await exists(join(ctx.repo.root, n)))) created.push(n);
        }
        s.memo.created = created;
        await s.save();
      }
      await restoreWorktree(git, wt);
    },
    async revert(s) {
      for (const p of (s.memo.created as string[] | undefined) ?? []) await removePath(ctx.repo.root, p).catch(() => undefined);
    },
  });

  add({
    id: 'files',
    async run(s) {
      const plan = staged();
      if (!Array.isArray(s.memo.absentBefore)) {
        const absent: string[] = [];
        for (const p of plan) if (!(await lstat(p.target).catch(() => null))) absent.push(p.entry.path);
        s.memo.absentBefore = absent;
        await s.save();
      }
      const c = await cipher();
      const ownerLost: string[] = [];
      for (const p of plan) if ((await applyStaged(git, p, job, c)) === 'owner-lost') ownerLost.push(p.entry.path);
      if (ownerLost.length) s.warn(msg('rollback.ownerLost', { paths: ownerLost.join(', ') }));
    },
    async revert(s) {
      await putBack(jc, files.map((f) => f.path), new Set((s.memo.absentBefore as string[] | undefined) ?? []));
    },
  });

  add({
    id: 'remove-extra',
    async run(s) {
      const before = await captured(jc);
      const had = new Set([...before.config, ...before.paths].map((f) => f.path));
      for (const f of frozen.extra) {
        // Only what the backup holds is removed: a file that appeared since cannot be put back.
        if (!had.has(f)) {
          s.warn(msg('rollback.keptNew', { path: f }));
          continue;
        }
        await removePath(ctx.repo.root, f);
      }
    },
    async revert() {
      await putBack(jc, frozen.extra, new Set());
    },
  });

  for (const name of frozen.selection.databases) {
    add({
      id: `swap:${name}`,
      async run(s) {
        await engine(name)
          .swap(restoreJob(jc, name, s, targetEntry(jc, name)))
          .catch((err: unknown) => {
            throw aboutDatabase(err, name);
          });
      },
      async revert(s) {
        const e = engine(name);
        if (e.parks) {
          await e.unswap(restoreJob(jc, name, s, null));
          return;
        }
        // No previous copy to swap back: restore the backup dump taken before the swap.
        const entry = stepMemo(jc, `backup:${name}`).entry as DatabaseEntry | undefined;
        if (!entry) throw new RollbackError(msg('error.inDatabase', { name, text: msg('rollback.backupDumpMissing') }));
        const rj = restoreJob(jc, name, s, entry, '_r');
        const input = entry.absent ? Readable.from([]) : (await store()).read(entry.chunks ?? [], entry.sha256);
        await e.stage(input, rj);
        await e.swap(rj);
        await e.discardStaged(rj);
      },
    });
  }

  hookStep('afterRollback', 'beforeRollback');

  add({
    id: 'health',
    async run(s) {
      const h = await checkHealth(frozen.health as HealthConfig, ctx.repo.root);
      s.memo.result = { ok: h.ok, detail: h.detail };
      s.memo.local = h.local;
      if (!h.ok) throw new RollbackError(msg('deploy.healthFailed', { n: h.attempts, detail: h.local }));
    },
  });

  // The tag, the snapshot ref, the event and the removal of the job ref are
  // one ref transaction: the job went through exactly when that happened.
  const finished = async () => !!(await git.revParse(`refs/tags/${r.backupTag}`)) && !(await git.revParse(JOB_REF(job)));
  add({
    id: 'finish',
    commits: true,
    wentThrough: finished,
    async run(s) {
      const tag = `refs/tags/${r.backupTag}`;
      const captureCommit = stepMemo(jc, 'capture').commit as string;
      if (await finished()) return;
      if (await git.revParse(tag)) {
        throw new ConflictError(msg('rollback.backupTagTaken', { tag: r.backupTag }), msg('rollback.backupTagTakenHint'));
      }
      const entries = frozen.selection.databases.map((n) => stepMemo(jc, `backup:${n}`).entry as DatabaseEntry);
      const { snapshot } = await addDatabases(git, ctx.repo, captureCommit, entries);
      const kept = keptCopies(jc);
      const event = await ctx.log.prepare({
        type: r.action,
        target: r.target,
        reason: r.reason,
        outcome: 'ok',
        ms: Date.now() - new Date(journal.startedAt).getTime(),
        backup: r.backupTag,
        mode: r.mode,
        from: frozen.before,
        to: { commit: r.targetCommit },
        only: r.only,
        skip: r.skip,
        steps: stepSummary(journal).concat([{ id: 'finish', kind: 'finish', title: en('rollback.finishTitle'), local: msg('rollback.finishTitle'), ms: 0, outcome: 'ok' }]),
        health: healthOf(jc),
        commitsUndone: frozen.commitsUndone,
        keptDatabases: kept,
        ...(r.deploy ? { deploy: r.deploy } : {}),
      });
      await ctx.store.create(
        {
          kind: 'backup',
          id: frozen.backupId,
          description: `before ${r.action === 'undo' ? 'undo to' : 'rollback to'} ${r.target}`,
          commit: frozen.before.commit,
          branch: frozen.before.branch,
          dirty: !!snapshot.worktree,
          snapshot,
          release: null,
          date: new Date(stepMemo(jc, 'capture').date as string),
          extra: { action: r.action, target: r.target, clone: await cloneId(ctx.stateDir), ...(frozen.configInUse ? { config: frozen.configInUse } : {}) },
        },
        { alsoUpdate: [event.command, `delete ${JOB_REF(job)} ${captureCommit}`] },
      );
      s.memo.tag = r.backupTag;
    },
  });

  add({
    id: 'cleanup',
    async run(s) {
      await discardStaging(ctx.stateDir, job).catch((e: Error) => s.warn(msg('rollback.couldNotRemove', { path: join(ctx.stateDir, 'tmp'), error: errorMsg(e) })));
      await discardStaging(ctx.stateDir, `${job}_revert`).catch(() => undefined);
      for (const name of frozen.selection.databases) {
        const e = engine(name);
        await e.discardStaged(restoreJob(jc, name, s, null)).catch((err: Error) => s.warn(msg('rollback.couldNotRemoveLoaded', { name, error: errorMsg(err) })));
      }
      const kept = keptCopies(jc);
      if (r.dropOld) {
        for (const name of frozen.selection.databases) {
          await engine(name)
            .dropParked(job)
            .catch((err: Error) => s.warn(msg('rollback.couldNotDrop', { name, error: errorMsg(err) })));
        }
        s.memo.kept = [];
      } else s.memo.kept = kept;
    },
  });

  // The plan's order, restricted to the steps the journal holds.
  return journal.steps.map((j) => {
    const d = defs.get(j.id);
    if (!d) throw new RollbackError(msg('rollback.noStep', { id: j.id }));
    return { ...d, id: j.id, kind: j.kind, title: j.title, ...(j.local ? { local: j.local } : {}) };
  });
}

/** The health check's result for the event log: English, with its catalog message for reports. */
function healthOf(jc: JobContext): { ok: boolean; detail: string; local?: Msg | string } | null {
  const memo = stepMemo(jc, 'health');
  const result = memo.result as { ok: boolean; detail: string } | undefined;
  return result ? { ...result, ...(memo.local ? { local: memo.local as Msg | string } : {}) } : null;
}

/** Test-only: a stream that holds back after its first chunk until `pause` resolves (ROLLBACK_TEST_PAUSE=<step>:mid). */
function pausedAfterFirstChunk(input: Readable, pause: () => Promise<void>): Readable {
  let first = true;
  const held = new Transform({
    transform(chunk, _enc, done) {
      if (!first) return done(null, chunk);
      first = false;
      this.push(chunk);
      pause().then(() => done(), done);
    },
  });
  input.on('error', (e) => held.destroy(e));
  return input.pipe(held);
}

/** Branches a code step may move, per mode: recorded before it runs, put back by its revert. */
function codeRefs(jc: JobContext): string[] {
  const r = jc.journal.request;
  const { before, target } = jc.frozen;
  if ((r.mode === 'reset' || r.mode === 'revert') && before.branch) return [`refs/heads/${before.branch}`];
  if (r.mode === 'branch' && r.branchName) return [`refs/heads/${r.branchName}`];
  if (r.mode === 'exact' && target.branch) return [`refs/heads/${target.branch}`];
  return [];
}

/** Previous database copies left by the job (names), for the event and the output. */
function keptCopies(jc: JobContext): string[] {
  const out: string[] = [];
  for (const name of jc.frozen.selection.databases) {
    const e = jc.engines.get(name);
    if (!e?.parks) continue;
    const entry = stepMemo(jc, `backup:${name}`).entry as DatabaseEntry | undefined;
    if (entry?.absent) continue;
    const parked = e.tempObjects(jc.journal.job).find((t) => t.role === 'parked');
    if (parked) out.push(parked.name);
  }
  return out;
}

/** Puts files back as the capture has them; those absent before the job are removed. */
async function putBack(jc: JobContext, paths: readonly string[], absentBefore: ReadonlySet<string>): Promise<void> {
  const { ctx, journal } = jc;
  const before = await captured(jc);
  const byPath = new Map([...before.config, ...before.paths].map((f) => [f.path, f]));
  const entries: FileEntry[] = [];
  for (const p of paths) {
    const e = byPath.get(p);
    const st = await lstat(join(ctx.repo.root, p)).catch(() => null);
    if (e) entries.push(e);
    // A directory was in the file's place before, and restores never write over one: it is as it was.
    else if (st?.isDirectory()) continue;
    else if (absentBefore.has(p) || !st) await removePath(ctx.repo.root, p);
    else throw new RollbackError(msg('rollback.notInBackup', { path: p }));
  }
  const job = `${journal.job}_revert`;
  const c = await ctx.cipher();
  for (const p of stagingPlan(ctx.stateDir, ctx.repo.root, entries, job)) await applyStaged(ctx.git, p, job, c);
  await discardStaging(ctx.stateDir, job);
}

interface Check {
  what: Msg;
  ok: boolean;
  detail: Msg;
}

/** Compares every resource the job touched with the state captured before it: "nothing changed" is said only from this. */
async function checkReverted(jc: JobContext): Promise<Check[]> {
  const { ctx, frozen, journal } = jc;
  const checks: Check[] = [];
  const ran = (id: string) => {
    const s = journal.steps.find((x) => x.id === id);
    return !!s && s.state !== 'pending';
  };
  const capture = typeof stepMemo(jc, 'capture').commit === 'string' ? await captured(jc) : null;
  const head = await ctx.git.head();
  if (journal.steps.some((s) => s.id === 'code')) {
    const same = head.commit === frozen.before.commit && head.branch === frozen.before.branch;
    const wt = capture && ran('code') ? await worktreeMatches(ctx.git, ctx.repo, capture.worktree) : { ok: true, detail: msg('worktree.asBefore') };
    const on = (branch: string | null | undefined, detached: boolean) => (branch ? msg('check.onBranch', { branch }) : detached ? msg('check.detached') : '');
    checks.push({
      what: msg('check.code'),
      ok: same && wt.ok,
      detail: !same
        ? msg('check.headMoved', { now: head.commit?.slice(0, 12), where: on(head.branch, true), was: frozen.before.commit.slice(0, 12), wasWhere: on(frozen.before.branch, false) })
        : !wt.ok
          ? wt.detail
          : msg('check.headSame', { commit: head.commit?.slice(0, 12), where: on(head.branch, false), worktree: capture?.worktree ? msg('check.worktreeSame') : '' }),
    });
  }
  if (capture && (ran('files') || ran('remove-extra'))) {
    const bad: (string | Msg)[] = [];
    for (const f of [...capture.config, ...capture.paths]) if (!(await matches(join(ctx.repo.root, f.path), f))) bad.push(f.path);
    const absent = (stepMemo(jc, 'files').absentBefore as string[] | undefined) ?? [];
    for (const p of absent) if (await exists(join(ctx.repo.root, p))) bad.push(msg('check.shouldNotExist', { path: p }));
    const n = capture.config.length + capture.paths.length;
    checks.push({
      what: msg('check.files'),
      ok: bad.length === 0,
      detail: bad.length ? msg('check.differ', { paths: joined([...bad.slice(0, 5), ...(bad.length > 5 ? ['…'] : [])]) }) : msg('check.filesSame', { n }),
    });
  }
  const prints = (stepMemo(jc, 'capture').fingerprints as Record<string, string | null> | undefined) ?? {};
  for (const name of frozen.selection.databases) {
    if (!ran(`stage:${name}`) && !ran(`swap:${name}`)) continue;
    const e = jc.engines.get(name);
    const was = prints[name];
    const now = e ? await e.fingerprint().catch(() => null) : null;
    const what = msg('check.database', { name });
    if (!was || !now) checks.push({ what, ok: true, detail: msg(ran(`swap:${name}`) ? 'check.notSwappedPutBack' : 'check.notSwapped') });
    else checks.push({ what, ok: was === now, detail: was === now ? msg('check.sameDb') : msg('check.otherDb', { was, now }) });
  }
  return checks;
}

// ------------------------------------------------------------------ undo
