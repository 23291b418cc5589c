// git rollback push|fetch [remote]: share points, releases, notes, snapshots
// and the event log through a git remote. Never forces anything.
import type { CommandModule } from 'yargs';
import { checkRemote, fetchPoints, pushPoints, type SyncResult } from '../../app/remote.js';
import { ConflictError } from '../../core/errors.js';
import { open, withLock, type GlobalArgs } from '../common.js';
import { print, printJSON, warn } from '../output.js';
import { clearSnapshots } from '../../adapters/crypto.js'; // security

interface Args extends GlobalArgs {
  remote: string;
  allowClear?: boolean;
}

export const pushCommand: CommandModule<object, Args> = {
  command: 'push [remote]',
  describe: "Push points, releases, backups, their notes and snapshots, and the event log to a remote (never forced)",
  builder: (y) =>
    y
      .positional('remote', { type: 'string', default: 'origin', describe: 'Remote name, URL or path' })
      .option('json', { type: 'boolean', describe: 'Print JSON' })
      .option('allow-clear', { type: 'boolean', describe: 'Push even though some snapshots hold config files or database dumps in clear (not encrypted)' })
      .example('$0 push', 'to origin')
      .example('$0 push backup-server', 'to another remote'),
  handler: async (args) => {
    const ctx = await open(args);
    // security: secrets in clear leave this machine only when asked.
    await checkRemote(ctx, args.remote);
    const clear = clearSnapshots(await ctx.store.list());
    if (clear.length > 0 && !args.allowClear) {
      const shown = clear.slice(0, 3).map((c) => `${c.tag} (${c.what.slice(0, 3).join(', ')}${c.what.length > 3 ? ', …' : ''})`);
      throw new ConflictError(
        `${clear.length} snapshot${clear.length === 1 ? ' holds' : 's hold'} config files or database dumps in clear: ${shown.join('; ')}${clear.length > 3 ? '; …' : ''}. Anyone who can read ${args.remote} could read them; nothing was pushed`,
        'encrypt new points (encryption.recipients, docs/security.md) and delete the clear ones, or push them anyway: git rollback push --allow-clear',
      );
    }
    const result = await pushPoints(ctx, args.remote);
    render(result, 'push', !!args.json);
    const rejected = result.updates.filter((u) => u.state === 'rejected');
    if (rejected.length) {
      throw new ConflictError(
        `${rejected.length} ref${rejected.length === 1 ? ' was' : 's were'} rejected by ${args.remote}: ${rejected.map((u) => `${u.ref} (${u.detail ?? 'rejected'})`).join(', ')}`,
        `take in what the remote has first: git rollback fetch ${args.remote}, then push again`,
      );
    }
  },
};

export const fetchCommand: CommandModule<object, Args> = {
  command: 'fetch [remote]',
  describe: 'Fetch points, releases, notes, snapshots and the event log from a remote; the event logs of both sides are joined',
  builder: (y) =>
    y
      .positional('remote', { type: 'string', default: 'origin', describe: 'Remote name, URL or path' })
      .option('json', { type: 'boolean', describe: 'Print JSON' })
      .example('$0 fetch', 'from origin'),
  handler: async (args) => {
    const ctx = await open(args);
    const result = await withLock(ctx, 'git rollback fetch', 15_000, () => fetchPoints(ctx, args.remote));
    render(result, 'fetch', !!args.json);
    if (result.notes === 'diverged') {
      warn(
        `the notes of ${args.remote} and the local notes have both changed, so the local ones were kept; the remote's are in ${result.notesRef}. ` +
          `Merge them (local wins where both have a note): git notes --ref=rollback merge -s ours ${result.notesRef}`,
      );
    }
    const rejected = result.updates.filter((u) => u.state === 'rejected');
    if (rejected.length) {
      // A point's snapshot ref is rejected with its tag: name the points only.
      const tags = rejected.filter((u) => u.ref.startsWith('refs/tags/')).map((u) => u.ref.slice('refs/tags/'.length));
      const names = tags.length ? tags : rejected.map((u) => u.ref);
      const n = names.length;
      throw new ConflictError(
        `${n} ${tags.length ? 'point' : 'ref'}${n === 1 ? '' : 's'} of ${args.remote} differ${n === 1 ? 's' : ''} from the local one${n === 1 ? '' : 's'} and ${n === 1 ? 'was' : 'were'} not taken: ${names.join(', ')}`,
        'the same tag name was made on both sides; delete one side (git rollback delete <point>) and fetch again',
      );
    }
  },
};

function render(r: SyncResult, verb: 'push' | 'fetch', json: boolean): void {
  if (json) return printJSON(r);
  const count = (s: string) => r.updates.filter((u) => u.state === s).length;
  const tags = (s: string) => r.updates.filter((u) => u.state === s && u.ref.startsWith('refs/tags/')).map((u) => u.ref.slice('refs/tags/'.length));
  const newTags = tags('new');
  const parts = [`${count('new')} new`, `${count('updated')} updated`];
  if (verb === 'push') parts.push(`${count('same')} already there`);
  if (count('rejected')) parts.push(`${count('rejected')} rejected`);
  print(`${verb === 'push' ? 'Pushed to' : 'Fetched from'} ${r.remote}: ${parts.join(', ')}.`);
  if (newTags.length) print(`  new points: ${newTags.slice(0, 10).join(', ')}${newTags.length > 10 ? `, … (${newTags.length} in all)` : ''}`);
  if (verb === 'fetch') {
    const log = { none: 'the remote has none', same: 'nothing new', 'fast-forward': 'new events taken in', merged: 'joined with the local log (both kept)', new: 'taken in' }[r.log ?? 'none'];
    const notes = { none: 'the remote has none', same: 'nothing new', 'fast-forward': 'updated', diverged: 'not updated (both sides changed; see the warning)', new: 'taken in' }[r.notes ?? 'none'];
    print(`  event log: ${log}`);
    print(`  notes: ${notes}`);
  }
}
