// Rollback plans: what `to` and `undo` will do, in order, computed before
// anything is touched. buildPlan() is pure; --dry-run prints renderPlan() of
// the very plan the real run executes.
import { UsageError } from './errors.js';
import { formatBytes } from './text.js';
import type { DatabaseEntry, Point } from './types.js';

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

export type StepKind = 'check' | 'backup' | 'hook' | 'code' | 'worktree' | 'files' | 'remove' | 'database' | 'health' | 'finish';

export interface Step {
  /** Stable id: the journal records the step under it ("capture", "stage:main", "swap:main", …). */
  id: string;
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
  /** From the engine's verify: what is carried, sessions it will end or wait for… */
  notes?: string[];
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
  const snap = target.note?.snapshot ?? null;
  const steps: Step[] = [];
  const dbs = input.databases;

  const verifyDetails = [
    `every stored object exists and matches its checksum${dbs.length ? '; database servers answer, privileges and client tools fit the dumps' : ''}`,
  ];
  for (const name of input.databasesNotInPoint ?? []) verifyDetails.push(`database ${name} is left as it is: the point has no dump of it`);
  steps.push({ id: 'verify', kind: 'check', title: 'verify the point and the servers (nothing changes yet)', details: verifyDetails });

  const parkedLater = dbs.filter((d) => d.parks).map((d) => d.entry.name);
  steps.push({
    id: 'capture',
    kind: 'backup',
    title: `save the current state for undo (backup ${input.backupTag})`,
    details: [
      `HEAD ${short(input.current.commit)}${input.current.branch ? ` on ${input.current.branch}` : ' (detached)'}` +
        (input.current.dirtyFiles ? `, ${plural(input.current.dirtyFiles, 'uncommitted file')}` : ''),
      'config files and data paths as they are now',
      ...(parkedLater.length ? [`database${parkedLater.length === 1 ? '' : 's'} ${parkedLater.join(', ')}: kept whole at the swap, dumped into the backup right after`] : []),
    ],
  });
  for (const d of dbs.filter((x) => !x.parks)) {
    steps.push({ id: `backup:${d.entry.name}`, kind: 'backup', title: `back up database ${d.entry.name} before restoring it`, details: ['its engine cannot keep the previous copy at the swap'] });
  }

  const files = [...(sel.config && snap ? snap.config : []), ...(sel.paths && snap ? snap.paths : [])];
  if (files.length > 0) {
    const size = files.reduce((n, e) => n + e.size, 0);
    steps.push({ id: 'stage-files', kind: 'files', title: `stage ${plural(files.length, 'file')} (${formatBytes(size)}) and check their checksums`, details: [] });
  }
  for (const d of dbs) {
    steps.push({
      id: `stage:${d.entry.name}`,
      kind: 'database',
      title: d.adoptFrom
        ? `take back the previous copy of database ${d.entry.name} (fast undo, no restore)`
        : `load database ${d.entry.name} (${d.entry.engine}, ${formatBytes(d.entry.size)}) beside ${d.where}`,
      details: [
        `strategy: ${d.strategy}`,
        ...(d.entry.absent ? ['the point has no such database: it will be made absent (the current one is kept aside)'] : [`dump: ${d.entry.format} by ${d.entry.tool}, sha256 ${d.entry.sha256.slice(0, 12)}`]),
        ...(d.notes ?? []),
      ],
    });
  }

  if (input.hooks.beforeRollback) steps.push({ id: 'hook:beforeRollback', kind: 'hook', title: 'run hook beforeRollback', details: [input.hooks.beforeRollback] });

  if (sel.code) {
    const t = short(input.target.commit);
    const undone = input.commitsUndone ? ` (${plural(input.commitsUndone, 'commit')} undone)` : '';
    const title = {
      checkout: `check out ${t} (detached HEAD)${undone}`,
      reset: `reset ${input.current.branch ?? 'HEAD'} to ${t} (as git reset --hard)${undone}`,
      branch: `create branch ${input.branchName ?? '?'} at ${t} and switch to it`,
      revert: `commit on ${input.current.branch ?? 'HEAD'} a revert whose tree equals ${t} (history kept)`,
      exact: `${target.note?.branch ? `put branch ${target.note.branch} back at ${t} and check it out` : `check out ${t} (detached HEAD)`}`,
    }[input.mode];
    steps.push({ id: 'code', kind: 'code', title, details: input.current.dirtyFiles ? ['uncommitted changes are replaced (they are in the backup)'] : [] });
    if (snap?.worktree) {
      steps.push({ id: 'worktree', kind: 'worktree', title: `restore the point's uncommitted work (${plural(snap.worktree.files, 'file')})`, details: [] });
    }
  }
  if (files.length > 0) {
    const details: string[] = [];
    const list = (label: string, changes: FileChange[], entries: readonly { path: string }[]) => {
      if (entries.length === 0) return;
      const changed = changes.filter((c) => c.state !== 'same').length;
      details.push(`${label}: ${entries.length} (${changed} differ from now)`);
      for (const c of changes) details.push(`  ${c.state === 'same' ? '=' : c.state === 'added' ? '+' : '~'} ${c.path}`);
    };
    list('config files', input.config, sel.config && snap ? snap.config : []);
    list('data path files', input.paths, sel.paths && snap ? snap.paths : []);
    steps.push({ id: 'files', kind: 'files', title: `restore ${plural(files.length, 'file')}`, details });
  }
  const extra = [...(sel.config ? input.extra.config : []), ...(sel.paths ? input.extra.paths : [])];
  if (extra.length > 0 && input.removeExtra) {
    steps.push({ id: 'remove-extra', kind: 'remove', title: `remove ${plural(extra.length, 'file')} that did not exist at the point`, details: extra.map((p) => `- ${p}`) });
  } else if (extra.length > 0 && files.length > 0) {
    const step = steps.find((s) => s.id === 'files') as Step;
    step.details.push(`keeping ${plural(extra.length, 'file')} that did not exist at the point (--remove-extra removes them):`, ...extra.map((p) => `  ${p}`));
  }
  for (const d of dbs) {
    steps.push({
      id: `swap:${d.entry.name}`,
      kind: 'database',
      title: `swap in database ${d.entry.name}`,
      details: [`downtime: ${d.downtime}`, ...(d.parks && d.parked ? [`the current copy is kept as ${d.parked}`] : [])],
    });
  }
  if (input.hooks.afterRollback) steps.push({ id: 'hook:afterRollback', kind: 'hook', title: 'run hook afterRollback', details: [input.hooks.afterRollback] });
  if (input.health) steps.push({ id: 'health', kind: 'health', title: 'check health', details: [input.health] });
  for (const d of dbs.filter((x) => x.parks)) {
    steps.push({ id: `backup:${d.entry.name}`, kind: 'backup', title: `store the backup of database ${d.entry.name} from its previous copy`, details: [] });
  }
  steps.push({ id: 'finish', kind: 'finish', title: `record the backup ${input.backupTag} and the event`, details: ['undo with: git rollback undo'] });
  const kept = dbs.filter((d) => d.parks && d.parked && !d.entry.absent).map((d) => d.parked as string);
  steps.push({
    id: 'cleanup',
    kind: 'finish',
    title: 'remove temporary copies',
    details: kept.length === 0 ? [] : input.dropOld ? [`drop the previous database copies ${kept.join(', ')} (--drop-old)`] : [`keep the previous database copies ${kept.join(', ')} for a fast undo (git rollback prune removes them)`],
  });

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
    steps: plan.steps.map((s) => ({ id: s.id, kind: s.kind, title: s.title, details: s.details })),
  };
}
