// git rollback adopt <tag>…: plain version tags (v0.7.0) made before
// git-rollback become code-only release points (release/v0.7.0), so `to`,
// `previous-release` and `list --kind release` see them.
import type { CommandModule } from 'yargs';
import { adopt, planAdoption, plainVersionTags } from '../../app/adopt.js';
import { UsageError } from '../../core/errors.js';
import { msg, t } from '../../core/i18n.js';
import { open, reasonOption, withLock, type GlobalArgs } from '../common.js';
import { color, print, printJSON } from '../output.js';

interface Args extends GlobalArgs {
  tags?: string[];
  all?: boolean;
  dryRun?: boolean;
  reason?: string;
}

export const adoptCommand: CommandModule<object, Args> = {
  command: 'adopt [tags..]',
  get describe() {
    return t('cmd.adopt');
  },
  builder: (y) =>
    y
      .positional('tags', { type: 'string', array: true, describe: t('adopt.opt.tags') })
      .option('all', { type: 'boolean', describe: t('adopt.opt.all') })
      .option('dry-run', { alias: 'n', type: 'boolean', describe: t('adopt.opt.dryRun') })
      .option('reason', reasonOption())
      .option('json', { type: 'boolean', describe: t('opt.json') })
      .example('$0 adopt v0.7.0 v0.6.2', t('adopt.ex.tags'))
      .example('$0 adopt --all --dry-run', t('adopt.ex.all')),
  handler: async (args) => {
    if (args.all && args.tags?.length) throw new UsageError(msg('adopt.both'));
    const ctx = await open(args);
    const tags = args.all ? await plainVersionTags(ctx) : (args.tags ?? []);
    if (!tags.length) throw new UsageError(msg(args.all ? 'adopt.noneFound' : 'adopt.needTags'), msg('adopt.needTagsHint'));
    await withLock(ctx, 'git rollback adopt', 15_000, async () => {
      const points = await ctx.store.list();
      const plan = await planAdoption(ctx, tags, points);
      if (args.json && args.dryRun) return printJSON({ dryRun: true, adopt: plan.map((a) => ({ from: a.from, tag: a.tag, commit: a.commit, existing: a.existing })) });
      const made = args.dryRun ? [] : await adopt(ctx, plan, args.reason ?? null);
      if (args.json) return printJSON({ adopted: made.map((p) => p.tag), skipped: plan.filter((a) => a.existing).map((a) => a.tag) });
      for (const a of plan) {
        const line = a.existing ? t('adopt.exists', { from: a.from, tag: a.tag }) : t(args.dryRun ? 'adopt.would' : 'adopt.done', { from: a.from, tag: color.bold(a.tag), commit: a.commit.slice(0, 12) });
        print(line);
      }
      if (args.dryRun) print(color.dim(t('out.dryRun')));
      else if (made.length) print(t('adopt.codeOnly'));
    });
  },
};
