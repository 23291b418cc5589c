// git rollback release <version|major|minor|patch|prerelease>: a semver release
// point with release notes made from the commits since the previous release.
import type { CommandModule } from 'yargs';
import { makeRelease } from '../../app/release.js';
import { formatMs } from '../../core/duration.js';
import { BUMPS } from '../../core/release.js';
import { t } from '../../core/i18n.js';
import { open, reasonOption, withLock, type GlobalArgs } from '../common.js';
import { color, print, printJSON, stepReporter, warn } from '../output.js';
import { describeNote, labelled } from './point.js';

interface Args extends GlobalArgs {
  newVersion?: string;
  preid?: string;
  at?: string;
  notes?: string;
  message?: string;
  allowLower?: boolean;
  reason?: string;
}

export const releaseCommand: CommandModule<object, Args> = {
  command: 'release <new-version>',
  get describe() {
    return t('cmd.release');
  },
  builder: (y) =>
    y
      .positional('new-version', { type: 'string', demandOption: true, describe: t('release.opt.version', { bumps: BUMPS.join(', ') }) })
      .option('preid', { type: 'string', describe: t('release.opt.preid') })
      .option('at', { type: 'string', describe: t('release.opt.at') })
      .option('notes', { type: 'string', describe: t('release.opt.notes') })
      .option('message', { alias: 'm', type: 'string', describe: t('release.opt.message') })
      .option('allow-lower', { type: 'boolean', describe: t('release.opt.allowLower') })
      .option('reason', reasonOption())
      .option('json', { type: 'boolean', describe: t('release.opt.json') })
      .conflicts('notes', 'message')
      .example('$0 release minor', t('release.ex.minor'))
      .example('$0 release 0.9.0-rc.1', t('release.ex.explicit'))
      .example('$0 release prerelease --preid beta', t('release.ex.pre'))
      .example('$0 release patch --at main~2 -m "热修复"', t('release.ex.at')),
  handler: async (args) => {
    const ctx = await open(args);
    const spin = await stepReporter(!!args.json);
    const made = await withLock(ctx, 'git rollback release', 15_000, async () => {
      spin.step(t('release.making'));
      ctx.onTransfer = (x) => spin.transfer(x);
      try {
        return await makeRelease(ctx, {
          spec: String(args.newVersion),
          allowLower: !!args.allowLower,
          reason: args.reason ?? null,
          ...(args.preid !== undefined ? { preid: args.preid } : {}),
          ...(args.at !== undefined ? { at: args.at } : {}),
          ...(args.notes !== undefined ? { notesFile: args.notes } : {}),
          ...(args.message !== undefined ? { message: args.message } : {}),
          onProgress: (x) => spin.step(t('point.snapshotStep', { what: x })),
        });
      } finally {
        ctx.onTransfer = null;
        spin.stop();
      }
    });
    for (const w of made.warnings) warn(w);
    const { next } = made;
    if (args.json) {
      return printJSON({ tag: made.point.tag, version: next.version, previous: next.previous, change: next.change, codeOnly: made.codeOnly, commits: made.commits, ...made.note, ms: made.ms });
    }
    const after = next.previous ? t('release.after', { change: next.change, previous: next.previous }) : t('release.first');
    print(t('release.made', { tag: color.bold(made.point.tag), after, n: made.commits }));
    if (next.lowerThan) print(`  ${labelled(t('release.note'))}${t('release.lower', { latest: next.lowerThan })}`);
    if (made.codeOnly) print(`  ${labelled(t('release.codeOnly'))}${t('release.codeOnlyLine', { commit: made.point.commit.slice(0, 12), at: args.at })}`);
    for (const line of describeNote(made.note)) print(`  ${line}`);
    print(`  ${color.dim(t('point.took', { time: formatMs(made.ms) }))}`);
    print('');
    for (const line of made.note.description.split('\n')) print(line ? `  ${line}` : '');
  },
};
