// Rollback plans: what `to` and `undo` will do, in order, computed before
// anything is touched. buildPlan() is pure; --dry-run prints renderPlan() of
// the very plan the real run executes.
import { UsageError } from './errors.js';
import { en, localize, msg, type Msg } from './i18n.js';
import { formatBytes } from './text.js';
import type { DatabaseEntry, FileEntry, Point } from './types.js';

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

export type StepKind = 'check' | 'backup' | 'hook' | 'code' | 'worktree' | 'files' | 'remove' | 'database' | 'health';

export interface Step {
  kind: StepKind;
  /** English, for JSON, the journal and the event log. */
  title: string;
  details: string[];
  /** The same title and details as catalog messages, for renderPlan() in the user's language. */
  local?: { title: Msg; details: (Msg | string)[] };
}

/** A step whose text comes from the catalog: English in title/details, the messages in `local`. */
function step(kind: StepKind, title: Msg, details: (Msg | string)[] = []): Step {
  const english = (d: Msg | string) => (typeof d === 'string' ? d : en(d.key, d.params));
  return { kind, title: english(title), details: details.map(english), local: { title, details } };
}

export interface FileChange {
  path: string;
  /** 'same' files are rewritten anyway (cheap) but shown as unchanged. */
  state: 'changed' | 'same' | 'added';
}

export interface DatabasePlan {
  entry: DatabaseEntry;
  strategy: string;
  downtime: string;
  where: string;
}

export interface PlanInput {
  target: Point;
  backupTag: string;
  mode: Mode;
  selection: Selection;
  current: { commit: string; branch: string | null; dirtyFiles: number };
  branchName?: string;
  config: FileChange[];
  paths: FileChange[];
  extra: { config: string[]; paths: string[] };
  removeExtra: boolean;
  databases: DatabasePlan[];
  /** Configured and selected databases the point has no dump of: left as they are. */
  databasesNotInPoint?: string[];
  hooks: { beforeRollback: string | null; afterRollback: string | null };
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

export function buildPlan(input: PlanInput): Plan {
  const { target, selection: sel } = input;
  const snap = target.note?.snapshot ?? null;
  const steps: Step[] = [];
  const dbNames = input.databases.map((d) => d.entry.name);

  steps.push(step('check', msg('plan.verify'), [msg(input.databases.length ? 'plan.verify.detailDb' : 'plan.verify.detail')]));
  const head = input.current.branch
    ? msg('plan.backup.head', { commit: short(input.current.commit), branch: input.current.branch })
    : msg('plan.backup.headDetached', { commit: short(input.current.commit) });
  steps.push(
    step('backup', msg('plan.backup', { tag: input.backupTag }), [
      input.current.dirtyFiles ? msg('plan.backup.headDirty', { head, n: input.current.dirtyFiles }) : head,
      dbNames.length ? msg('plan.backup.partsDb', { names: dbNames.join(', ') }) : msg('plan.backup.parts'),
      msg('plan.backup.undo'),
    ]),
  );
  if (input.hooks.beforeRollback) steps.push(step('hook', msg('plan.hook', { name: 'beforeRollback' }), [input.hooks.beforeRollback]));

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
    steps.push(step('code', title, input.current.dirtyFiles ? [msg('plan.code.dirty')] : []));
    if (snap?.worktree) steps.push(step('worktree', msg('plan.worktree', { n: snap.worktree.files })));
  }
  const fileStep = (label: 'config' | 'paths', changes: FileChange[], entries: FileEntry[]) => {
    if (entries.length === 0) return;
    const changed = changes.filter((c) => c.state !== 'same');
    const size = entries.reduce((n, e) => n + e.size, 0);
    steps.push(
      step(
        'files',
        msg(label === 'config' ? 'plan.files.config' : 'plan.files.paths', { n: entries.length, size: formatBytes(size), changed: changed.length }),
        changes.map((c) => `${c.state === 'same' ? '=' : c.state === 'added' ? '+' : '~'} ${c.path}`),
      ),
    );
  };
  if (sel.config && snap) fileStep('config', input.config, snap.config);
  if (sel.paths && snap) fileStep('paths', input.paths, snap.paths);
  const extra = [...(sel.config ? input.extra.config : []), ...(sel.paths ? input.extra.paths : [])];
  if (extra.length > 0) {
    steps.push(
      input.removeExtra
        ? step('remove', msg('plan.extra.remove', { n: extra.length }), extra.map((p) => `- ${p}`))
        : step('remove', msg('plan.extra.keep', { n: extra.length }), extra.map((p) => `  ${p}`)),
    );
  }
  for (const d of input.databases) {
    steps.push(
      step('database', msg('plan.database', { name: d.entry.name, engine: d.entry.engine, size: formatBytes(d.entry.size), where: d.where }), [
        msg('plan.database.strategy', { text: d.strategy }),
        msg('plan.database.downtime', { text: d.downtime }),
        msg('plan.database.dump', { format: d.entry.format, tool: d.entry.tool, sha: d.entry.sha256.slice(0, 12) }),
      ]),
    );
  }
  for (const name of input.databasesNotInPoint ?? []) steps.push(step('database', msg('plan.database.notInPoint', { name })));
  if (input.hooks.afterRollback) steps.push(step('hook', msg('plan.hook', { name: 'afterRollback' }), [input.hooks.afterRollback]));
  if (input.health) steps.push(step('health', msg('plan.health'), [input.health]));

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

/** Each step's English title → its catalog message, so progress lines can be shown in the user's language. */
export function localTitles(plan: Plan): Map<string, Msg> {
  return new Map(plan.steps.filter((s) => s.local).map((s) => [s.title, s.local!.title]));
}

export function planToJSON(plan: Plan): unknown {
  return {
    target: plan.target,
    targetCommit: plan.targetCommit,
    backup: plan.backupTag,
    mode: plan.mode,
    steps: plan.steps.map((s) => ({ kind: s.kind, title: s.title, details: s.details })),
  };
}
