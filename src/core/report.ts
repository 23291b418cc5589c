// The incident report: a rollback event from the log as a Markdown document in
// the shape of a post-rollback analysis, with the facts filled in and the
// sections only people can write (impact, root cause, follow-ups) left empty.
import { formatMs } from './duration.js';
import { formatBytes } from './text.js';
import { localOr, t, type Msg } from './i18n.js';
import type { SnapshotInfo } from './types.js';

export interface ReportStep {
  /** English, as recorded. */
  title: string;
  /** The title's catalog message, recorded beside it (events from before it have none). */
  local?: Msg;
  kind?: string;
  ms: number;
  outcome: string;
}

export interface ReportInput {
  event: {
    id: string;
    type: string;
    time: string;
    user: { name: string; email: string };
    host: string;
    reason: string | null;
    target: string | null;
    outcome: string;
    ms: number;
    backup?: string;
    mode?: string;
    from?: { commit: string | null; branch: string | null };
    to?: { commit: string };
    only?: string[];
    skip?: string[];
    steps?: ReportStep[];
    health?: { ok: boolean; detail: string; local?: Msg | string } | null;
    error?: string;
    errorLocal?: Msg;
    keptDatabases?: string[];
  };
  /** The target point's description and snapshot, when it still exists. */
  target: { description: string; kind: string; snapshot: SnapshotInfo | null } | null;
  /** Commits undone (in from, not in to), newest first, and how many in all. */
  undone: { hash: string; subject: string }[];
  undoneTotal: number;
  /** Local time zone rendering of a date, e.g. "2025-09-06 13:10:58 +08:00". */
  formatTime: (d: Date) => string;
}

const code = (s: string) => '`' + s.replace(/`/g, "'") + '`';
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function incidentReport(r: ReportInput): string {
  const e = r.event;
  const start = new Date(new Date(e.time).getTime() - e.ms);
  const what = t(e.type === 'undo' ? 'report.whatUndo' : 'report.whatRollback');
  const outcome = e.outcome === 'ok' ? t('report.succeeded') : e.outcome === 'reverted' ? t('report.reverted') : e.outcome;
  const restored = restoredParts(e.only ?? [], e.skip ?? []);
  const target = code(e.target ?? '?');
  const lines: string[] = [];
  lines.push(`# ${t(e.type === 'undo' ? 'report.titleUndo' : 'report.title', { target: e.target ?? '?' })}`, '');
  lines.push(`_${t('report.generated', { id: e.id.slice(0, 12) })}_`, '');

  lines.push(`## ${t('report.summary')}`, '');
  const description = r.target?.description ? t('report.described', { description: r.target.description.split('\n')[0] ?? '' }) : '';
  lines.push(
    t(e.reason ? 'report.summaryLineReason' : 'report.summaryLine', { what, restored, target, description, outcome, time: formatMs(e.ms), reason: e.reason ?? '' }),
    '',
  );

  lines.push('| | |', '| --- | --- |');
  const row = (k: string, v: string) => lines.push(`| ${k} | ${cell(v)} |`);
  row(t('report.when'), `${r.formatTime(start)} → ${r.formatTime(new Date(e.time))} (${formatMs(e.ms)})`);
  row(t('report.who'), t('report.whoValue', { name: e.user.name, email: e.user.email, host: e.host }));
  row(t('report.reason'), e.reason ?? `_${t('report.noReason')}_`);
  if (e.from) row(t('report.from'), `${e.from.branch ? t('report.fromBranch', { branch: code(e.from.branch) }) : ''}${code((e.from.commit ?? '?').slice(0, 12))}`);
  row(t('report.to'), `${target}${e.to ? t('report.toCommit', { commit: code(e.to.commit.slice(0, 12)) }) : ''}`);
  if (e.mode) row(t('report.mode'), e.mode);
  row(t('report.restored'), restored);
  row(t('report.outcome'), outcome + (e.error ? `: ${localOr(e.errorLocal, e.error)}` : ''));
  if (e.backup) row(t('report.backup'), `${code(e.backup)} — ${e.outcome === 'ok' ? t('report.backupUndo') : t('report.backupKept')}`);
  if (e.keptDatabases?.length) row(t('report.keptDatabases'), e.keptDatabases.map(code).join(', '));
  lines.push('');

  lines.push(`## ${t('report.steps')}`, '');
  const steps = e.steps ?? [];
  if (steps.length === 0) lines.push(`_${t('report.noSteps')}_`, '');
  else {
    lines.push(`| # | ${t('report.col.started')} | ${t('report.col.step')} | ${t('report.col.took')} | ${t('report.col.outcome')} |`, '| ---: | --- | --- | ---: | --- |');
    let at = start.getTime();
    steps.forEach((s, i) => {
      lines.push(`| ${i + 1} | ${r.formatTime(new Date(at)).slice(11)} | ${cell(localOr(s.local, s.title))} | ${formatMs(s.ms)} | ${s.outcome} |`);
      at += s.ms;
    });
    lines.push('');
  }

  lines.push(`## ${t('report.health')}`, '');
  if (e.health) lines.push(`${t(e.health.ok ? 'report.healthPassed' : 'report.healthFailed')}: ${typeof e.health.local === 'object' ? localOr(e.health.local, e.health.detail) : e.health.detail}`, '');
  else lines.push(`_${t('report.noHealth')}_`, '');

  lines.push(`## ${t('report.undone', { n: r.undoneTotal })}`, '');
  if (e.outcome !== 'ok') lines.push(`_${t('report.undoneNotThrough')}_`, '');
  else if (r.undoneTotal === 0) lines.push(`_${t('report.undoneNone')}_`, '');
  else {
    lines.push('```', ...r.undone.map((c) => `${c.hash} ${c.subject}`));
    if (r.undoneTotal > r.undone.length) lines.push(t('diff.more', { n: r.undoneTotal - r.undone.length }));
    lines.push('```', '');
  }

  const s = r.target?.snapshot;
  if (s) {
    lines.push(`## ${t('report.holds', { target })}`, '');
    lines.push(`- ${t('report.holdsConfig', { n: s.config.length, files: s.config.map((f) => code(f.path)).join(', ') || '—' })}`);
    if (s.paths.length) lines.push(`- ${t('report.holdsPaths', { n: s.paths.length, size: formatBytes(s.paths.reduce((n, f) => n + f.size, 0)) })}`);
    for (const d of s.databases) lines.push(`- ${t('report.holdsDatabase', { name: code(d.name), engine: d.engine, size: formatBytes(d.size), tool: d.tool })}`);
    if (s.captures.length) lines.push(`- ${t('report.holdsCaptures', { names: s.captures.map((c) => code(c.name)).join(', ') })}`);
    lines.push('');
  } else if (r.target) {
    lines.push(`## ${t('report.holds', { target })}`, '', `- ${t('report.holdsCodeOnly')}`, '');
  }

  lines.push(`## ${t('report.impact')}`, '', `_${t('report.impactTodo')}_`, '');
  lines.push(`## ${t('report.rootCause')}`, '', `_${t('report.todo')}_`, '');
  lines.push(`## ${t('report.followUps')}`, '', `- [ ] _${t('report.followUpsTodo')}_`, '');
  return lines.join('\n');
}

function restoredParts(only: readonly string[], skip: readonly string[]): string {
  const o = only.flatMap((x) => x.split(',')).filter(Boolean);
  const s = skip.flatMap((x) => x.split(',')).filter(Boolean);
  if (o.length) return t('report.restoredOnly', { parts: o.join(', ') });
  if (s.length) return t('report.restoredExcept', { parts: s.join(', ') });
  return t('report.restoredAll');
}
