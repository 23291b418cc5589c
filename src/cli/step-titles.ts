// Interim (until the i18n second pass): the runner (app/rollback.ts) reports
// its steps by English title. Plan steps are matched exactly (the plan holds
// their catalog messages); the runner's own steps by these patterns. When the
// runner passes catalog messages itself, this module goes.
import { localize, t, type Msg } from '../core/i18n.js';
import { getLang } from '../core/i18n.js';

const PATTERNS: [RegExp, (m: RegExpExecArray) => string][] = [
  [/^stage database (.+)$/, (m) => t('run.stage', { name: m[1] })],
  [/^swap in database (.+)$/, (m) => t('run.swap', { name: m[1] })],
  [/^restore (\d+) files?$/, (m) => t('run.files', { n: Number(m[1]) })],
  [/^remove (\d+) files? that did not exist at the point$/, (m) => t('plan.extra.remove', { n: Number(m[1]) })],
  [/^restore the point's uncommitted work$/, () => t('run.worktree')],
  [/^save the current state for undo \(backup (.+)\)$/, (m) => t('plan.capture', { tag: m[1] })],
  [/^run hook (\w+)$/, (m) => t('plan.hook', { name: m[1] })],
  [/^verify the snapshot$/, () => t('plan.verify')],
  [/^check health$/, () => t('plan.health')],
  [/^move code$/, () => t('run.moveCode')],
];

export function localStepTitle(title: string, plan: Map<string, Msg>): string {
  if (getLang() === 'en') return title;
  const known = plan.get(title);
  if (known) return localize(known);
  for (const [re, render] of PATTERNS) {
    const m = re.exec(title);
    if (m) return render(m);
  }
  return title;
}

const SNAPSHOT: [RegExp, (m: RegExpExecArray) => string][] = [
  [/^config files$/, () => t('snap.config')],
  [/^data paths$/, () => t('snap.paths')],
  [/^database (\S+) \((\S+)\)$/, (m) => t('snap.database', { name: m[1], engine: m[2] })],
  [/^capture (.+)$/, (m) => t('snap.capture', { name: m[1] })],
  [/^hook (\w+)$/, (m) => t('snap.hook', { name: m[1] })],
];

/** The snapshot's progress text (adapters/snapshot.ts reports it in English) in the user's language. */
export function localSnapshotStep(text: string): string {
  if (getLang() === 'en') return text;
  for (const [re, render] of SNAPSHOT) {
    const m = re.exec(text);
    if (m) return render(m);
  }
  return text;
}
