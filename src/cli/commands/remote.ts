// git rollback push|fetch [remote]: share points, releases, notes, snapshots
// and the event log through a git remote. Never forces anything.
import type { CommandModule } from 'yargs';
import { checkRemote, fetchPoints, pushPoints, type SyncResult } from '../../app/remote.js';
import { ConflictError } from '../../core/errors.js';
import { joined, msg, t } from '../../core/i18n.js';
import { open, withLock, type GlobalArgs } from '../common.js';
import { print, printJSON, warn } from '../output.js';
import { clearSnapshots } from '../../adapters/crypto.js'; // security

interface Args extends GlobalArgs {
  remote: string;
  allowClear?: boolean;
}

export const pushCommand: CommandModule<object, Args> = {
  command: 'push [remote]',
  get describe() {
    return t('cmd.push');
  },
  builder: (y) =>
    y
      .positional('remote', { type: 'string', default: 'origin', describe: t('remote.opt.remote') })
      .option('json', { type: 'boolean', describe: t('opt.json') })
      .option('allow-clear', { type: 'boolean', describe: t('remote.opt.allowClear') })
      .example('$0 push', t('remote.ex.push'))
      .example('$0 push backup-server', t('remote.ex.pushOther')),
  handler: async (args) => {
    const ctx = await open(args);
    // security: secrets in clear leave this machine only when asked.
    await checkRemote(ctx, args.remote);
    const clear = clearSnapshots(await ctx.store.list());
    if (clear.length > 0 && !args.allowClear) {
      const shown = clear.slice(0, 3).map((c) => msg('remote.clearOne', { tag: c.tag, what: joined([...c.what.slice(0, 3), ...(c.what.length > 3 ? ['…'] : [])]) }));
      throw new ConflictError(
        msg('remote.clear', { n: clear.length, list: joined([...shown, ...(clear.length > 3 ? ['…'] : [])], 'semicolon'), remote: args.remote }),
        msg('remote.clearHint'),
      );
    }
    const result = await pushPoints(ctx, args.remote);
    render(result, 'push', !!args.json);
    const rejected = result.updates.filter((u) => u.state === 'rejected');
    if (rejected.length) {
      throw new ConflictError(
        msg('remote.rejected', { n: rejected.length, remote: args.remote, refs: rejected.map((u) => `${u.ref} (${u.detail ?? 'rejected'})`).join(', ') }),
        msg('remote.rejectedHint', { remote: args.remote }),
      );
    }
  },
};

export const fetchCommand: CommandModule<object, Args> = {
  command: 'fetch [remote]',
  get describe() {
    return t('cmd.fetch');
  },
  builder: (y) =>
    y
      .positional('remote', { type: 'string', default: 'origin', describe: t('remote.opt.remote') })
      .option('json', { type: 'boolean', describe: t('opt.json') })
      .example('$0 fetch', t('remote.ex.fetch')),
  handler: async (args) => {
    const ctx = await open(args);
    const result = await withLock(ctx, 'git rollback fetch', 15_000, () => fetchPoints(ctx, args.remote));
    render(result, 'fetch', !!args.json);
    if (result.notes === 'diverged') {
      warn(msg('remote.notesDiverged', { remote: args.remote, ref: result.notesRef }));
    }
    const rejected = result.updates.filter((u) => u.state === 'rejected');
    if (rejected.length) {
      // A point's snapshot ref is rejected with its tag: name the points only.
      const tags = rejected.filter((u) => u.ref.startsWith('refs/tags/')).map((u) => u.ref.slice('refs/tags/'.length));
      const names = tags.length ? tags : rejected.map((u) => u.ref);
      const n = names.length;
      throw new ConflictError(msg(tags.length ? 'remote.differPoints' : 'remote.differRefs', { n, remote: args.remote, names: names.join(', ') }), msg('remote.differHint'));
    }
  },
};

function render(r: SyncResult, verb: 'push' | 'fetch', json: boolean): void {
  if (json) return printJSON(r);
  const count = (s: string) => r.updates.filter((u) => u.state === s).length;
  const tags = (s: string) => r.updates.filter((u) => u.state === s && u.ref.startsWith('refs/tags/')).map((u) => u.ref.slice('refs/tags/'.length));
  const newTags = tags('new');
  const parts = [t('remote.new', { n: count('new') }), t('remote.updated', { n: count('updated') })];
  if (verb === 'push') parts.push(t('remote.same', { n: count('same') }));
  if (count('rejected')) parts.push(t('remote.rejectedCount', { n: count('rejected') }));
  print(t(verb === 'push' ? 'remote.pushed' : 'remote.fetched', { remote: r.remote, parts: parts.join(t('list.sepComma')) }));
  if (newTags.length) print(`  ${t('remote.newPoints', { tags: newTags.slice(0, 10).join(', ') + (newTags.length > 10 ? `, … (${t('remote.inAll', { n: newTags.length })})` : '') })}`);
  if (verb === 'fetch') {
    print(`  ${t('remote.log', { state: t(`remote.log.${r.log ?? 'none'}` as 'remote.log.none') })}`);
    print(`  ${t('remote.notes', { state: t(`remote.notes.${r.notes ?? 'none'}` as 'remote.notes.none') })}`);
  }
}
