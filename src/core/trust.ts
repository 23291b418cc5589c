// Which settings of a config make git-rollback act beyond the repository's
// files — commands it runs, databases it dumps and overwrites, where it sends
// health checks, who it encrypts for, whether it deletes — and how two
// versions of them differ. Pure: works on the parsed (unexpanded) config.

import { msg, type Msg } from './i18n.js';

/** Setting key ("hooks.afterRollback", "databases.main.url") → its value as written. */
export type ActiveSettings = Record<string, string>;

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? String(v));

/**
 * The settings a user must approve before git-rollback acts on them: every
 * command (capture, hooks, health, command engines), every database setting,
 * the health URL, the encryption block (a new recipient could read every
 * future snapshot), and restore.removeExtra when on.
 */
export function activeSettings(raw: unknown): ActiveSettings {
  const out: ActiveSettings = {};
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return out;
  const obj = raw as Record<string, unknown>;
  const walk = (prefix: string, value: unknown) => {
    if (value === null || value === undefined) return;
    if (typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) walk(`${prefix}.${k}`, v);
      return;
    }
    out[prefix] = show(value);
  };
  for (const key of ['capture', 'hooks', 'health', 'databases', 'encryption']) walk(key, obj[key]);
  const restore = obj.restore as Record<string, unknown> | undefined;
  if (restore && typeof restore === 'object' && restore.removeExtra === true) out['restore.removeExtra'] = 'true';
  // health.retries/interval/timeout run nothing: a change there needs no new approval to be shown.
  for (const k of ['health.retries', 'health.interval', 'health.timeout']) delete out[k];
  return out;
}

/** Whether a config has anything that needs approval. */
export function needsApproval(settings: ActiveSettings): boolean {
  return Object.keys(settings).length > 0;
}

/** "hooks.afterRollback added", "capture.schema changed", "databases.old.url removed", in key order. */
export function describeChanges(before: ActiveSettings, after: ActiveSettings): Msg[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const out: Msg[] = [];
  for (const k of keys) {
    if (!(k in before)) out.push(msg('trust.keyAdded', { key: k }));
    else if (!(k in after)) out.push(msg('trust.keyRemoved', { key: k }));
    else if (before[k] !== after[k]) out.push(msg('trust.keyChanged', { key: k }));
  }
  return out;
}
