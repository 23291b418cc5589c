// Rollback plans: what `to` and `undo` will do, in order, computed before
// anything is touched. buildPlan() is pure; --dry-run prints renderPlan() of
// the very plan the real run executes.
import { UsageError } from './errors.js';
import { en, localize, msg, type Msg } from './i18n.js';
import { formatBytes } from './text.js';
import type { DatabaseEntry, Point, SnapshotInfo } from './types.js';

export const MODES = ['checkout', 'reset', 'branch', 'revert'] as const;
export type Mode = (typeof MODES)[number] | 'exact';

/** What to restore: --only / --skip over code, config, paths, db, db:<name>. */
export interface Selection {
  code: boolean;
  config: boolean;
  paths: boolean;
  /** Database names to restore. */
  databases: Set<string>;
}

const PARTS = ['code', 'config', 'paths', 'db'] as const;

export function parseSelection(only: string[] | undefined, skip: string[] | undefined, databaseNames: readonly string[]): Selection {
  const split = (list: string[] | undefined) => (list ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const check = (item: string, flag: string) => {
    if ((PARTS as readonly string[]).includes(item)) return;
    const m = /^db:(.+)$/.exec(item);
    if (m && databaseNames.includes(m[1] as string)) return;
    if (m) throw new UsageError(msg('plan.select.noDb', { flag, item, name: m[1] }), databaseNames.length ? msg('plan.select.dbs', { names: databaseNames.join(', ') }) : msg('plan.select.noDbs'));
    throw new UsageError(msg('plan.select.unknown', { flag, item }), msg('plan.select.parts'));
  };
  const o = split(only);
  const s = split(skip);
  o.forEach((i) => check(i, '--only'));
  s.forEach((i) => check(i, '--skip'));
  const has = (list: string[], part: string) => list.includes(part);
  const sel: Selection = { code: true, config: true, paths: true, databases: new Set(databaseNames) };
  if (o.length > 0) {
    sel.code = has(o, 'code');
    sel.config = has(o, 'config');
    sel.paths = has(o, 'paths');
    sel.databases = new Set(has(o, 'db') ? databaseNames : o.filter((i) => i.startsWith('db:')).map((i) => i.slice(3)));
  }
  if (has(s, 'code')) sel.code = false;
  if (has(s, 'config')) sel.config = false;
  if (has(s, 'paths')) sel.paths = false;
  if (has(s, 'db')) sel.databases.clear();
  for (const i of s) if (i.startsWith('db:')) sel.databases.delete(i.slice(3));
  return sel;
}

export type StepKind = 'check' | 'backup' | 'hook' | 'code' | 'worktree' | 'files' | 'remove' | 'database' | 'health' | 'finish';

export interface Step {
  /** Stable id: the journal records the step under it ("capture", "stage:main", "swap:main", …). */
  id: string;
  kind: StepKind;
  /** English, for JSON, the journal and the event log. */
  title: string;
  details: string[];
  /** The same title and details as catalog messages, for renderPlan() in the user's language. */
  local?: { title: Msg; details: (Msg | string)[] };
}

/** A step whose text comes from the catalog: English in title/details, the messages in `local`. */
function step(id: string, kind: StepKind, title: Msg, details: (Msg | string)[] = []): Step {
  const english = (d: Msg | string) => (typeof d === 'string' ? d : en(d.key, d.params));
  return { id, kind, title: english(title), details: details.map(english), local: { title, details } };
}

export interface FileChange {
  path: string;
  /** 'same' files are rewritten anyway (cheap) but shown as unchanged. */
  state: 'changed' | 'same' | 'added';
}

export interface DatabasePlan {
  entry: DatabaseEntry;
  /** From the engine: a catalog message, or plain text. */
  strategy: string | Msg;
  downtime: string | Msg;
  where: string;
  /** From the engine's verify: what is carried, sessions it will end or wait for… */
  notes?: (string | Msg)[];
  /** The engine keeps the previous copy whole at the swap, so its backup dump can wait until after. */
  parks: boolean;
  /** Fast undo: an earlier job's parked copy to take back instead of loading the dump. */
  adoptFrom?: string | null;
  /** Names of the staged and parked copies, for the plan. */
  staged?: string;
  parked?: string;
}

export interface Hooks {
  beforeRollback: string | null;
  afterRollback: string | null;
  onFailure?: string | null;
}

export interface PlanInput {
  target: Point;
  /**
   * The target's snapshot as loaded (its note's, or the manifest of the
   * snapshot its tag names when the note is missing or damaged): the steps
   * come from this, never from the note alone.
   */
  snapshot: SnapshotInfo | null;
  backupTag: string;
  mode: Mode;
  selection: Selection;
  current: { commit: string; branch: string | null; dirtyFiles: number };
  branchName?: string;
  config: FileChange[];
  paths: FileChange[];
  /** Files that match the configured patterns now but are not in the point (computed locally). */
  extra: { config: string[]; paths: string[] };
  removeExtra: boolean;
  dropOld?: boolean;
  databases: DatabasePlan[];
  /** Configured and selected databases the point has no dump of: left as they are. */
  databasesNotInPoint?: string[];
  hooks: Hooks;
  health: string | null;
  /** Commits between target and current HEAD, for the summary line. */
  commitsUndone?: number | null;
}

export interface Plan {
  target: string;
  targetCommit: string;
  backupTag: string;
  mode: Mode;
  steps: Step[];
  input: PlanInput;
}

const short = (sha: string) => sha.slice(0, 12);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The plan is the job: every step after "verify" is run by the step runner
 * under its id, in this order (src/app/rollback.ts gives each id its run and
 * revert). Order: nothing live changes until every dump is loaded beside its
 * database and every file is staged; databases whose engine cannot keep the
 * previous copy are backed up first; the others are backed up from their
 * parked previous copy after the swap, so service comes back without waiting
 * for the backup dump.
 */
export function buildPlan(input: PlanInput): Plan {
  const { target, selection: sel } = input;
  const snap = input.snapshot;
  const steps: Step[] = [];
  const dbs = input.databases;

  steps.push(
    step('verify', 'check', msg('plan.verify'), [
      msg(dbs.length ? 'plan.verify.detailDb' : 'plan.verify.detail'),
      ...(input.databasesNotInPoint ?? []).map((name) => msg('plan.database.notInPoint', { name })),
    ]),
  );

  const head = input.current.branch
    ? msg('plan.backup.head', { commit: short(input.current.commit), branch: input.current.branch })
    : msg('plan.backup.headDetached', { commit: short(input.current.commit) });
  const parkedLater = dbs.filter((d) => d.parks).map((d) => d.entry.name);
  steps.push(
    step('capture', 'backup', msg('plan.capture', { tag: input.backupTag }), [
      input.current.dirtyFiles ? msg('plan.backup.headDirty', { head, n: input.current.dirtyFiles }) : head,
      msg('plan.capture.files'),
      ...(parkedLater.length ? [msg('plan.capture.parked', { names: parkedLater.join(', '), n: parkedLater.length })] : []),
    ]),
  );
  for (const d of dbs.filter((x) => !x.parks)) {
    steps.push(step(`backup:${d.entry.name}`, 'backup', msg('plan.backupFirst', { name: d.entry.name }), [msg('plan.backupFirst.why')]));
  }

  const files = [...(sel.config && snap ? snap.config : []), ...(sel.paths && snap ? snap.paths : [])];
  if (files.length > 0) {
    const size = files.reduce((n, e) => n + e.size, 0);
    steps.push(step('stage-files', 'files', msg('plan.stageFiles', { n: files.length, size: formatBytes(size) })));
  }
  for (const d of dbs) {
    steps.push(
      step(
        `stage:${d.entry.name}`,
        'database',
        d.adoptFrom
          ? msg('plan.stage.adopt', { name: d.entry.name })
          : msg('plan.stage', { name: d.entry.name, engine: d.entry.engine, size: formatBytes(d.entry.size), where: d.where }),
        [
          msg('plan.database.strategy', { text: d.strategy }),
          d.entry.absent ? msg('plan.stage.absent') : msg('plan.database.dump', { format: d.entry.format, tool: d.entry.tool, sha: d.entry.sha256.slice(0, 12) }),
          ...(d.notes ?? []),
        ],
      ),
    );
  }

  if (input.hooks.beforeRollback) steps.push(step('hook:beforeRollback', 'hook', msg('plan.hook', { name: 'beforeRollback' }), [input.hooks.beforeRollback]));

  if (sel.code) {
    const t = short(input.target.commit);
    const undone = input.commitsUndone ? msg('plan.code.undone', { n: input.commitsUndone }) : '';
    const branch = input.current.branch ?? 'HEAD';
    const title = {
      checkout: msg('plan.code.checkout', { commit: t, undone }),
      reset: msg('plan.code.reset', { branch, commit: t, undone }),
      branch: msg('plan.code.branch', { branch: input.branchName ?? '?', commit: t }),
      revert: msg('plan.code.revert', { branch, commit: t }),
      exact: target.note?.branch ? msg('plan.code.exactBranch', { branch: target.note.branch, commit: t }) : msg('plan.code.checkout', { commit: t, undone: '' }),
    }[input.mode];
    steps.push(step('code', 'code', title, input.current.dirtyFiles ? [msg('plan.code.dirty')] : []));
    if (snap?.worktree) steps.push(step('worktree', 'worktree', msg('plan.worktree', { n: snap.worktree.files })));
  }

  const extra = [...(sel.config ? input.extra.config : []), ...(sel.paths ? input.extra.paths : [])];
  if (files.length > 0) {
    const details: (Msg | string)[] = [];
    const group = (key: 'plan.files.configGroup' | 'plan.files.pathsGroup', changes: FileChange[], count: number) => {
      if (count === 0) return;
      details.push(msg(key, { n: count, changed: changes.filter((c) => c.state !== 'same').length }));
      for (const c of changes) details.push(`  ${c.state === 'same' ? '=' : c.state === 'added' ? '+' : '~'} ${c.path}`);
    };
    group('plan.files.configGroup', input.config, sel.config && snap ? snap.config.length : 0);
    group('plan.files.pathsGroup', input.paths, sel.paths && snap ? snap.paths.length : 0);
    if (extra.length > 0 && !input.removeExtra) details.push(msg('plan.extra.keepNote', { n: extra.length }), ...extra.map((p) => `  ${p}`));
    steps.push(step('files', 'files', msg('plan.files', { n: files.length }), details));
  }
  if (extra.length > 0 && input.removeExtra) {
    steps.push(step('remove-extra', 'remove', msg('plan.extra.remove', { n: extra.length }), extra.map((p) => `- ${p}`)));
  }

  for (const d of dbs) {
    steps.push(
      step(`swap:${d.entry.name}`, 'database', msg('plan.swap', { name: d.entry.name }), [
        msg('plan.database.downtime', { text: d.downtime }),
        ...(d.parks && d.parked && !d.entry.absent ? [msg('plan.swap.kept', { name: d.parked })] : []),
      ]),
    );
  }
  if (input.hooks.afterRollback) steps.push(step('hook:afterRollback', 'hook', msg('plan.hook', { name: 'afterRollback' }), [input.hooks.afterRollback]));
  if (input.health) steps.push(step('health', 'health', msg('plan.health'), [input.health]));
  for (const d of dbs.filter((x) => x.parks)) {
    steps.push(step(`backup:${d.entry.name}`, 'backup', msg('plan.backupAfter', { name: d.entry.name })));
  }
  steps.push(step('finish', 'finish', msg('plan.finish', { tag: input.backupTag }), [msg('plan.backup.undo')]));
  const kept = dbs.filter((d) => d.parks && d.parked).map((d) => d.parked as string);
  steps.push(
    step(
      'cleanup',
      'finish',
      msg('plan.cleanup'),
      kept.length === 0 ? [] : [msg(input.dropOld ? 'plan.cleanup.drop' : 'plan.cleanup.keep', { names: kept.join(', ') })],
    ),
  );

  return { target: target.tag, targetCommit: target.commit, backupTag: input.backupTag, mode: input.mode, steps, input };
}

/** The plan as text lines (without colour). */
export function renderPlan(plan: Plan): string[] {
  const lines: string[] = [];
  plan.steps.forEach((s, i) => {
    lines.push(`${String(i + 1).padStart(2)}. ${s.local ? localize(s.local.title) : s.title}`);
    for (const d of s.local ? s.local.details.map(localize) : s.details) lines.push(`      ${d}`);
  });
  return lines;
}

export function planToJSON(plan: Plan): unknown {
  return {
    target: plan.target,
    targetCommit: plan.targetCommit,
    backup: plan.backupTag,
    mode: plan.mode,
    steps: plan.steps.map((s) => ({ id: s.id, kind: s.kind, title: s.title, details: s.details })),
  };
}
