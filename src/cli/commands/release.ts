// git rollback release <version|major|minor|patch|prerelease>: a semver release
// point with release notes made from the commits since the previous release.
import type { CommandModule } from 'yargs';
import { makeRelease } from '../../app/release.js';
import { formatMs } from '../../core/duration.js';
import { BUMPS } from '../../core/release.js';
import { open, reasonOption, withLock, type GlobalArgs } from '../common.js';
import { color, print, printJSON, spinner, warn } from '../output.js';
import { describeNote } from './point.js';

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
  describe: 'Make a release: tag release/v<version> with a full snapshot and release notes from the commits since the previous release',
  builder: (y) =>
    y
      .positional('new-version', { type: 'string', demandOption: true, describe: `A version (0.9.0, 1.0.0-rc.1) or a bump of the highest release: ${BUMPS.join(', ')}` })
      .option('preid', { type: 'string', describe: 'Prerelease id for prerelease/premajor/preminor/prepatch (beta → 0.9.0-beta.0)' })
      .option('at', { type: 'string', describe: 'Release this commit instead of HEAD (code only: no snapshot is taken)' })
      .option('notes', { type: 'string', describe: 'Release notes from this file instead of the commit subjects' })
      .option('message', { alias: 'm', type: 'string', describe: 'Release notes text instead of the commit subjects' })
      .option('allow-lower', { type: 'boolean', describe: 'Allow a version lower than the latest release (maintenance of an older line)' })
      .option('reason', reasonOption)
      .option('json', { type: 'boolean', describe: 'Print the release as JSON' })
      .conflicts('notes', 'message')
      .example('$0 release minor', 'the next minor version, e.g. 0.8.2 → 0.9.0')
      .example('$0 release 0.9.0-rc.1', 'an explicit version')
      .example('$0 release prerelease --preid beta', '0.8.2 → 0.8.3-beta.0, then 0.8.3-beta.1…')
      .example('$0 release patch --at main~2 -m "热修复"', 'release an earlier commit, code only'),
  handler: async (args) => {
    const ctx = await open(args);
    const spin = await spinner(!args.json);
    const made = await withLock(ctx, 'git rollback release', 15_000, async () => {
      spin.start('making release');
      try {
        return await makeRelease(ctx, {
          spec: String(args.newVersion),
          allowLower: !!args.allowLower,
          reason: args.reason ?? null,
          ...(args.preid !== undefined ? { preid: args.preid } : {}),
          ...(args.at !== undefined ? { at: args.at } : {}),
          ...(args.notes !== undefined ? { notesFile: args.notes } : {}),
          ...(args.message !== undefined ? { message: args.message } : {}),
          onProgress: (t) => spin.start(`snapshot: ${t}`),
        });
      } finally {
        spin.stop();
      }
    });
    for (const w of made.warnings) warn(w);
    const { next } = made;
    if (args.json) {
      return printJSON({ tag: made.point.tag, version: next.version, previous: next.previous, change: next.change, codeOnly: made.codeOnly, commits: made.commits, ...made.note, ms: made.ms });
    }
    const after = next.previous ? `${next.change} after ${next.previous}` : 'first release';
    print(`Made release ${color.bold(made.point.tag)} (${after}; ${made.commits} commit${made.commits === 1 ? '' : 's'})`);
    if (next.lowerThan) print(`  note       lower than the latest release ${next.lowerThan} (--allow-lower)`);
    if (made.codeOnly) {
      print(`  code only  tags ${made.point.commit.slice(0, 12)} (--at ${args.at}), not HEAD: no snapshot was taken, so rolling back to it restores code only`);
    }
    for (const line of describeNote(made.note)) print(`  ${line}`);
    print(`  ${color.dim(`took ${formatMs(made.ms)}`)}`);
    print('');
    for (const line of made.note.description.split('\n')) print(line ? `  ${line}` : '');
  },
};
