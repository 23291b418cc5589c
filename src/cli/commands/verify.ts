// git rollback verify [<point>…|--all]: checks snapshots the way `to` does
// before a rollback, and records the result in each point's note.
import type { CommandModule } from 'yargs';
import { verifyPoint, type Verification } from '../../app/verify.js';
import { formatMs } from '../../core/duration.js';
import { CorruptSnapshotError, UsageError } from '../../core/errors.js';
import { resolvePoint, sortNewestFirst } from '../../core/points.js';
import { formatBytes } from '../../core/text.js';
import { localize, msg, t } from '../../core/i18n.js';
import type { Point } from '../../core/types.js';
import { open, withLock, type GlobalArgs } from '../common.js';
import { color, print, printJSON } from '../output.js';

interface Args extends GlobalArgs {
  points?: string[];
  all?: boolean;
}

export const verifyCommand: CommandModule<object, Args> = {
  command: 'verify [points..]',
  get describe() {
    return t('cmd.verify');
  },
  builder: (y) =>
    y
      .positional('points', { type: 'string', array: true, describe: t('verify.opt.points') })
      .option('all', { type: 'boolean', describe: t('verify.opt.all') })
      .option('json', { type: 'boolean', describe: t('opt.json') })
      .example('$0 verify', t('verify.ex.latest'))
      .example('$0 verify --all', t('verify.ex.all'))
      .example('$0 verify release/v0.8.1 --json', t('verify.ex.json')),
  handler: async (args) => {
    if (args.all && args.points?.length) throw new UsageError(msg('verify.both'));
    const ctx = await open(args);
    const all = await ctx.store.list();
    let targets: Point[];
    if (args.all) targets = sortNewestFirst(all);
    else {
      targets = [];
      for (const spec of args.points?.length ? args.points : ['latest']) {
        targets.push(await resolvePoint(spec, { points: all, prefixes: ctx.config.tags, commitOf: (r) => ctx.git.revParse(`${r}^{commit}`) }));
      }
    }
    const results: Verification[] = [];
    await withLock(ctx, 'git rollback verify', 15_000, async () => {
      for (const p of targets) {
        const v = await verifyPoint(ctx, p);
        results.push(v);
        if (p.note) await ctx.store.writeNote(p, { ...p.note, verified: { at: new Date().toISOString(), ok: v.ok, problems: v.problems } });
        if (!args.json) {
          print(`${v.ok ? color.green('ok') : color.red('BAD')}  ${p.tag}  ${t('verify.line', { n: v.checked, size: formatBytes(v.bytes), time: formatMs(v.ms) })}`);
          for (const problem of v.local) print(`      ${localize(problem)}`);
        }
      }
      const bad = results.filter((r) => !r.ok);
      await ctx.log.append({ type: 'verify', target: targets.length === 1 ? (targets[0] as Point).tag : `${targets.length} points`, reason: null, outcome: bad.length ? 'failed' : 'ok', ms: results.reduce((n, r) => n + r.ms, 0), bad: bad.map((b) => b.tag) });
    });
    if (args.json) printJSON(results.map(({ local: _, ...v }) => v));
    const bad = results.filter((r) => !r.ok);
    if (bad.length) throw new CorruptSnapshotError(msg('verify.failed', { bad: bad.length, n: results.length, tags: bad.map((b) => b.tag).join(', ') }), msg('verify.failedHint'));
  },
};
