// git rollback status: where HEAD is among points and releases, what drifted
// since the state was last set, whether a rollback is in progress or can be undone.
import type { CommandModule } from 'yargs';
import { collectStatus, statusToJSON, type Status } from '../../app/history.js';
import { age } from '../../core/duration.js';
import { describePosition, type FileDiff } from '../../core/diff.js';
import { formatBytes } from '../../core/text.js';
import { joined, localize, msg, t, type MessageKey } from '../../core/i18n.js';
import { open, type GlobalArgs } from '../common.js';
import { color, pad, print, printJSON, width } from '../output.js';

interface Args extends GlobalArgs {
  deep?: boolean;
}

export const statusCommand: CommandModule<object, Args> = {
  command: 'status',
  get describe() {
    return t('cmd.status');
  },
  builder: (y) =>
    y
      .option('deep', { type: 'boolean', describe: t('status.opt.deep') })
      .option('json', { type: 'boolean', describe: t('opt.json') })
      .example('$0 status', t('status.ex.status'))
      .example('$0 status --deep --json', t('status.ex.deep')),
  handler: async (args) => {
    const ctx = await open(args);
    const s = await collectStatus(ctx, { deep: !!args.deep });
    if (args.json) return printJSON(statusToJSON(s));
    for (const line of renderStatus(s)) print(line);
  },
};

export function renderStatus(s: Status, now = new Date()): string[] {
  const out: string[] = [];
  const labels: MessageKey[] = ['status.head', 'status.release', 'status.point', 'status.latest', 'status.drift', 'status.inProgress', 'status.undo', 'status.config', 'status.paths', 'status.database'];
  const w = Math.max(...labels.map((k) => width(t(k)))) + 2;
  const label = (k: MessageKey | '') => pad(k ? t(k) : '', w);
  const sub = (k: MessageKey) => pad(`  ${t(k)}`, w);
  const where = s.head.branch ? t('status.onBranch', { branch: s.head.branch, commit: s.head.commit.slice(0, 12) }) : t('status.detached', { commit: s.head.commit.slice(0, 12) });
  out.push(`${label('status.head')}${where}` + (s.head.uncommitted ? t('status.uncommitted', { n: s.head.uncommitted }) : ''));
  out.push(`${label('status.release')}${s.nearestRelease ? describePosition(s.nearestRelease) : t('status.noRelease')}`);
  if (s.nearestPoint && s.nearestPoint.tag !== s.nearestRelease?.tag) out.push(`${label('status.point')}${describePosition(s.nearestPoint)}`);
  if (s.latestRelease && !s.latestRelease.inHead) {
    out.push(`${label('status.latest')}${t('status.latestNotInHead', { tag: s.latestRelease.tag, not: color.yellow(t('status.not')) })}`);
  }

  if (!s.baseline) out.push(`${label('status.drift')}${t('status.noPoints')}`);
  else {
    const when = age(new Date(s.baseline.since), now);
    const since =
      s.baseline.why === 'point' ? t('status.sincePoint', { tag: s.baseline.tag, age: when }) : t('status.sinceAction', { action: act(s.baseline.why), tag: s.baseline.tag, age: when });
    out.push(`${label('status.drift')}${since}`);
    const d = s.drift;
    if (!d) out.push(`${label('')}${t('status.codeOnly', { tag: s.baseline.tag })}`);
    else {
      out.push(`${sub('status.config')}${fileDrift(d.config, true)}`);
      if (d.paths.added.length + d.paths.removed.length + d.paths.changed.length + d.paths.same > 0) {
        out.push(`${sub('status.paths')}${fileDrift(d.paths, false)}${d.unhashed ? color.dim(t('status.unhashed', { n: d.unhashed })) : ''}`);
      }
      for (const db of d.databases) {
        const state = db.state === 'same' ? t('status.unchanged') : db.state === 'changed' ? color.yellow(t('status.changed')) : db.state === 'unknown' ? t('status.cannotTell') : color.yellow(t(db.state === 'new' ? 'status.dbNew' : 'status.dbMissing'));
        out.push(`${sub('status.database')}${db.name} (${db.engine}): ${state} — ${localize(db.local)}`);
      }
    }
  }

  if (s.inProgress) {
    const j = s.inProgress;
    if (j.running) out.push(`${label('status.inProgress')}${t('status.running', { action: act(j.action), target: j.target, pid: j.pid, host: j.host, started: j.startedAt })}`);
    else {
      const what = j.direction === 'revert' ? t('status.stoppedReverting', { action: act(j.action), target: j.target, error: j.local.error ?? j.error ?? '?' }) : t('status.interrupted', { action: act(j.action), target: j.target });
      out.push(`${label('status.inProgress')}${color.red(what)}${t('status.inProgressHint', { started: j.startedAt, pid: j.pid })}`);
      out.push(`${label('')}${t('status.where', { where: j.local.where.length ? joined(j.local.where, 'semicolon') : msg('status.nothingYet') })}`);
      if (j.leftovers.length) out.push(`${label('')}${t('status.leftOver', { what: j.leftovers.join(', ') })}`);
      out.push(`${label('')}${t(j.direction === 'revert' ? 'status.finishAbort' : 'status.finishEither')}`);
    }
  } else if (s.lock) {
    out.push(`${label('status.inProgress')}${s.lock.command} (pid ${s.lock.pid} ${t('status.onHost', { host: s.lock.host })})`);
  } else out.push(`${label('status.inProgress')}${t('status.nothing')}`);

  if (!s.undo) out.push(`${label('status.undo')}${t('status.nothingToUndo')}`);
  else if (s.undo.kind === 'delete') {
    const shown = s.undo.points.slice(0, 3).join(', ') + (s.undo.points.length > 3 ? ', …' : '');
    out.push(`${label('status.undo')}${t('status.undoRestores', { n: s.undo.points.length, type: act(s.undo.type), age: age(new Date(s.undo.time), now), points: shown })}`);
  } else if (!s.undo.exists) out.push(`${label('status.undo')}${t('status.undoGone', { backup: s.undo.backup, type: act(s.undo.type) })}`);
  else out.push(`${label('status.undo')}${t('status.undoReturns', { backup: s.undo.backup, type: act(s.undo.type), target: s.undo.target ?? '?', age: age(new Date(s.undo.time), now) })}`);
  return out;
}

function fileDrift(d: FileDiff, named: boolean): string {
  const total = d.same + d.changed.length + d.removed.length;
  if (d.added.length + d.removed.length + d.changed.length === 0) return t('status.filesUnchanged', { n: total });
  if (!named || d.added.length + d.removed.length + d.changed.length > 6) {
    return color.yellow(t('status.counts', { changed: d.changed.length, added: d.added.length, removed: d.removed.length })) + t('status.sameCount', { n: d.same });
  }
  const parts = [
    ...d.changed.map((c) => {
      const what = c.modeOnly
        ? t('status.mode', { from: c.from.mode.slice(-4), to: c.to.mode.slice(-4) })
        : c.from.size === c.to.size
          ? t('status.sameSize', { size: formatBytes(c.to.size) })
          : `${formatBytes(c.from.size)} → ${formatBytes(c.to.size)}`;
      return `~ ${c.path} (${what})`;
    }),
    ...d.added.map((f) => `+ ${f.path}`),
    ...d.removed.map((f) => `- ${f.path}`),
  ];
  return color.yellow(parts.join('  ')) + (d.same ? t('status.sameCount', { n: d.same }) : '');
}

/** "rollback" / "undo" in the user's language (other words as they are). */
export function act(action: string): string {
  return action === 'rollback' || action === 'undo' || action === 'deploy' ? t(`action.${action}`) : action;
}
