// Rollback plans: what `to` and `undo` will do, in order, computed before
// anything is touched. buildPlan() is pure; --dry-run prints renderPlan() of
// the very plan the real run executes.
import { UsageError } from './errors.js';
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
    if (m) throw new UsageError(`${flag} ${item}: no database named "${m[1]}"`, databaseNames.length ? `configured databases: ${databaseNames.join(', ')}` : 'no databases are configured');
    throw new UsageError(`${flag} ${item}: unknown part`, 'use code, config, paths, db or db:<name>');
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
  title: string;
  details: string[];
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

  steps.push({
    kind: 'check',
    title: 'verify the snapshot',
    details: [
      `every stored object exists and matches its sha256${input.databases.length ? '; database servers answer and client tools fit the dumps' : ''}`,
    ],
  });
  steps.push({
    kind: 'backup',
    title: `back up the current state as ${input.backupTag}`,
    details: [
      `HEAD ${short(input.current.commit)}${input.current.branch ? ` on ${input.current.branch}` : ' (detached)'}` +
        (input.current.dirtyFiles ? `, ${input.current.dirtyFiles} uncommitted file${input.current.dirtyFiles === 1 ? '' : 's'}` : ''),
      'config files, data paths' + (dbNames.length ? `, databases ${dbNames.join(', ')}` : ''),
      'undo with: git rollback undo',
    ],
  });
  if (input.hooks.beforeRollback) steps.push({ kind: 'hook', title: 'run hook beforeRollback', details: [input.hooks.beforeRollback] });

  if (sel.code) {
    const t = short(input.target.commit);
    const undone = input.commitsUndone ? ` (${input.commitsUndone} commit${input.commitsUndone === 1 ? '' : 's'} undone)` : '';
    const title = {
      checkout: `check out ${t} (detached HEAD)${undone}`,
      reset: `reset ${input.current.branch ?? 'HEAD'} to ${t} (as git reset --hard)${undone}`,
      branch: `create branch ${input.branchName ?? '?'} at ${t} and switch to it`,
      revert: `commit on ${input.current.branch ?? 'HEAD'} a revert whose tree equals ${t} (history kept)`,
      exact: `${target.note?.branch ? `put branch ${target.note.branch} back at ${t} and check it out` : `check out ${t} (detached HEAD)`}`,
    }[input.mode];
    steps.push({ kind: 'code', title, details: input.current.dirtyFiles ? ['uncommitted changes are replaced (they are in the backup)'] : [] });
    if (snap?.worktree) {
      steps.push({ kind: 'worktree', title: `restore the point's uncommitted work (${snap.worktree.files} file${snap.worktree.files === 1 ? '' : 's'})`, details: [] });
    }
  }
  const fileStep = (label: string, changes: FileChange[], entries: FileEntry[]) => {
    if (entries.length === 0) return;
    const changed = changes.filter((c) => c.state !== 'same');
    const size = entries.reduce((n, e) => n + e.size, 0);
    steps.push({
      kind: 'files',
      title: `restore ${entries.length} ${label} file${entries.length === 1 ? '' : 's'} (${formatBytes(size)}; ${changed.length} differ from now)`,
      details: changes.map((c) => `${c.state === 'same' ? '=' : c.state === 'added' ? '+' : '~'} ${c.path}`),
    });
  };
  if (sel.config && snap) fileStep('config', input.config, snap.config);
  if (sel.paths && snap) fileStep('data path', input.paths, snap.paths);
  const extra = [...(sel.config ? input.extra.config : []), ...(sel.paths ? input.extra.paths : [])];
  if (extra.length > 0) {
    steps.push(
      input.removeExtra
        ? { kind: 'remove', title: `remove ${extra.length} file${extra.length === 1 ? '' : 's'} that did not exist at the point`, details: extra.map((p) => `- ${p}`) }
        : { kind: 'remove', title: `keep ${extra.length} file${extra.length === 1 ? '' : 's'} that did not exist at the point (restore.removeExtra is off)`, details: extra.map((p) => `  ${p}`) },
    );
  }
  for (const d of input.databases) {
    steps.push({
      kind: 'database',
      title: `restore database ${d.entry.name} (${d.entry.engine}, ${formatBytes(d.entry.size)}) into ${d.where}`,
      details: [`strategy: ${d.strategy}`, `downtime: ${d.downtime}`, `dump: ${d.entry.format} by ${d.entry.tool}, sha256 ${d.entry.sha256.slice(0, 12)}`],
    });
  }
  for (const name of input.databasesNotInPoint ?? []) {
    steps.push({ kind: 'database', title: `leave database ${name} as it is: the point has no dump of it`, details: [] });
  }
  if (input.hooks.afterRollback) steps.push({ kind: 'hook', title: 'run hook afterRollback', details: [input.hooks.afterRollback] });
  if (input.health) steps.push({ kind: 'health', title: 'check health', details: [input.health] });

  return { target: target.tag, targetCommit: target.commit, backupTag: input.backupTag, mode: input.mode, steps, input };
}

/** The plan as text lines (without colour). */
export function renderPlan(plan: Plan): string[] {
  const lines: string[] = [];
  plan.steps.forEach((s, i) => {
    lines.push(`${String(i + 1).padStart(2)}. ${s.title}`);
    for (const d of s.details) lines.push(`      ${d}`);
  });
  return lines;
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
