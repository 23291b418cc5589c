// git rollback status: where HEAD is among points and releases, what drifted
// since the state was last set, whether a rollback is in progress or can be undone.
import type { CommandModule } from 'yargs';
import { collectStatus, type Status } from '../../app/history.js';
import { age } from '../../core/duration.js';
import { describePosition, type FileDiff } from '../../core/diff.js';
import { formatBytes } from '../../core/text.js';
import { open, type GlobalArgs } from '../common.js';
import { color, print, printJSON } from '../output.js';

interface Args extends GlobalArgs {
  deep?: boolean;
}

export const statusCommand: CommandModule<object, Args> = {
  command: 'status',
  describe: 'Show where HEAD is among points and releases, what drifted since the latest point, and whether a rollback is in progress or can be undone',
  builder: (y) =>
    y
      .option('deep', { type: 'boolean', describe: 'Also hash big data files and dump each database to compare it with the snapshot (slow)' })
      .option('json', { type: 'boolean', describe: 'Print JSON' })
      .example('$0 status', 'the state at a glance')
      .example('$0 status --deep --json', 'compare databases by a fresh dump, as JSON'),
  handler: async (args) => {
    const ctx = await open(args);
    const s = await collectStatus(ctx, { deep: !!args.deep });
    if (args.json) return printJSON(s);
    for (const line of renderStatus(s)) print(line);
  },
};

export function renderStatus(s: Status, now = new Date()): string[] {
  const out: string[] = [];
  const label = (k: string) => k.padEnd(12);
  out.push(
    `${label('HEAD')}${s.head.branch ? `on ${s.head.branch}` : 'detached'} at ${s.head.commit.slice(0, 12)}` +
      (s.head.uncommitted ? `, ${s.head.uncommitted} uncommitted file${s.head.uncommitted === 1 ? '' : 's'}` : ''),
  );
  out.push(`${label('Release')}${s.nearestRelease ? describePosition(s.nearestRelease) : 'no release in HEAD\'s history'}`);
  if (s.nearestPoint && s.nearestPoint.tag !== s.nearestRelease?.tag) out.push(`${label('Point')}${describePosition(s.nearestPoint)}`);
  if (s.latestRelease && !s.latestRelease.inHead) {
    out.push(`${label('Latest')}${s.latestRelease.tag} is ${color.yellow('not')} in HEAD's history (rolled back, or on another branch)`);
  }

  if (!s.baseline) out.push(`${label('Drift')}no points yet: git rollback point "description"`);
  else {
    const since =
      s.baseline.why === 'point'
        ? `the latest point ${s.baseline.tag} (${age(new Date(s.baseline.since), now)})`
        : `the ${s.baseline.why} to ${s.baseline.tag} (${age(new Date(s.baseline.since), now)})`;
    out.push(`${label('Drift')}since ${since}:`);
    const d = s.drift;
    if (!d) out.push(`${label('')}nothing to compare: ${s.baseline.tag} has no snapshot (code only)`);
    else {
      out.push(`${label('  config')}${fileDrift(d.config, true)}`);
      if (d.paths.added.length + d.paths.removed.length + d.paths.changed.length + d.paths.same > 0) {
        out.push(`${label('  paths')}${fileDrift(d.paths, false)}${d.unhashed ? color.dim(` (${d.unhashed} big file${d.unhashed === 1 ? '' : 's'} compared by size; --deep hashes them)`) : ''}`);
      }
      for (const db of d.databases) {
        const state = db.state === 'same' ? 'unchanged' : db.state === 'changed' ? color.yellow('changed') : db.state;
        out.push(`${label('  database')}${db.name} (${db.engine}): ${state} — ${db.detail}`);
      }
    }
  }

  if (s.inProgress) {
    const j = s.inProgress;
    if (j.running) out.push(`${label('In progress')}${j.action} to ${j.target} (pid ${j.pid} on ${j.host}, started ${j.startedAt})`);
    else {
      const why = j.direction === 'revert' ? `failed (${j.error ?? '?'}) and was being put back when it stopped` : 'was interrupted';
      out.push(`${label('In progress')}${color.red(`${j.action} to ${j.target} ${why}`)} (started ${j.startedAt}, pid ${j.pid} is gone)`);
      out.push(`${label('')}where things are: ${j.where.join('; ') || 'nothing changed yet'}`);
      if (j.leftovers.length) out.push(`${label('')}left over: ${j.leftovers.join(', ')}`);
      out.push(`${label('')}${j.direction === 'revert' ? 'finish putting it back' : 'finish it: git rollback to --continue, or put it back'}: git rollback to --abort`);
    }
  } else if (s.lock) {
    out.push(`${label('In progress')}${s.lock.command} (pid ${s.lock.pid} on ${s.lock.host})`);
  } else out.push(`${label('In progress')}nothing`);

  if (!s.undo) out.push(`${label('Undo')}nothing to undo`);
  else if (s.undo.kind === 'delete') {
    out.push(`${label('Undo')}git rollback undo brings back ${s.undo.points.length} point${s.undo.points.length === 1 ? '' : 's'} removed by the ${s.undo.type} (${age(new Date(s.undo.time), now)}): ${s.undo.points.slice(0, 3).join(', ')}${s.undo.points.length > 3 ? ', …' : ''}`);
  } else if (!s.undo.exists) out.push(`${label('Undo')}not possible: the backup ${s.undo.backup} of the last ${s.undo.type} is gone`);
  else {
    out.push(`${label('Undo')}git rollback undo returns to ${s.undo.backup} (the state before the ${s.undo.type} to ${s.undo.target ?? '?'}, ${age(new Date(s.undo.time), now)})`);
  }
  return out;
}

function fileDrift(d: FileDiff, named: boolean): string {
  const total = d.same + d.changed.length + d.removed.length;
  if (d.added.length + d.removed.length + d.changed.length === 0) return `unchanged (${total} file${total === 1 ? '' : 's'})`;
  if (!named || d.added.length + d.removed.length + d.changed.length > 6) {
    return color.yellow(`${d.changed.length} changed, ${d.added.length} added, ${d.removed.length} removed`) + `, ${d.same} unchanged`;
  }
  const parts = [
    ...d.changed.map((c) => `~ ${c.path} (${c.modeOnly ? `mode ${c.from.mode.slice(-4)} → ${c.to.mode.slice(-4)}` : c.from.size === c.to.size ? `content changed, same size ${formatBytes(c.to.size)}` : `${formatBytes(c.from.size)} → ${formatBytes(c.to.size)}`})`),
    ...d.added.map((f) => `+ ${f.path}`),
    ...d.removed.map((f) => `- ${f.path}`),
  ];
  return color.yellow(parts.join('  ')) + (d.same ? `, ${d.same} unchanged` : '');
}
