// git rollback report [<event>]: an incident report in Markdown for a rollback
// (default: the latest), ready to paste into the post-rollback analysis.
import { writeFile } from 'node:fs/promises';
import type { CommandModule } from 'yargs';
import type { LoggedEvent } from '../../adapters/eventlog.js';
import { loadSnapshot } from '../../app/state.js';
import { NotFoundError, UsageError } from '../../core/errors.js';
import { incidentReport, type ReportInput } from '../../core/report.js';
import { msg, t } from '../../core/i18n.js';
import { open, type GlobalArgs } from '../common.js';
import { info, print } from '../output.js';

interface Args extends GlobalArgs {
  event?: string;
  output?: string;
}

export const reportCommand: CommandModule<object, Args> = {
  command: 'report [event]',
  get describe() {
    return t('cmd.report');
  },
  builder: (y) =>
    y
      .positional('event', { type: 'string', describe: t('report.opt.event') })
      .option('output', { alias: 'o', type: 'string', describe: t('report.opt.output') })
      .example('$0 report', t('report.ex.latest'))
      .example('$0 report 3f2a9c1e -o incident-2025-09-06.md', t('report.ex.file')),
  handler: async (args) => {
    const ctx = await open(args);
    const events = await ctx.log.read();
    const rollbacks = events.filter((e) => e.event.type === 'rollback' || e.event.type === 'undo');
    let chosen: LoggedEvent | undefined;
    if (args.event === undefined || args.event === 'latest') {
      chosen = rollbacks[0];
      if (!chosen) throw new NotFoundError(msg('report.noRollback'), msg('undo.nothingHint'));
    } else {
      const spec = args.event;
      const byId = /^[0-9a-f]{4,64}$/i.test(spec) ? events.filter((e) => e.commit.startsWith(spec.toLowerCase())) : [];
      if (byId.length > 1) throw new UsageError(msg('report.ambiguous', { id: spec, n: byId.length }), msg('report.ambiguousHint'));
      const hit = byId[0];
      if (hit && hit.event.type !== 'rollback' && hit.event.type !== 'undo') {
        throw new UsageError(msg('report.notRollback', { id: spec, type: hit.event.type }), msg('report.notRollbackHint'));
      }
      chosen = hit ?? rollbacks.find((e) => e.event.target === spec || e.event.target?.endsWith(`/${spec}`) || e.event.target?.endsWith(`/v${spec.replace(/^v/, '')}`));
      if (!chosen) throw new NotFoundError(msg('report.noMatch', { spec }), msg('report.noMatchHint'));
    }

    const e = chosen.event;
    const points = await ctx.store.list();
    const target = points.find((p) => p.tag === e.target);
    const from = (e.from as { commit?: string | null } | undefined)?.commit;
    const to = (e.to as { commit?: string } | undefined)?.commit;
    let undone: ReportInput['undone'] = [];
    let undoneTotal = 0;
    if (e.outcome === 'ok' && from && to) {
      const r = await ctx.git.run(['log', '-n50', '--format=%h%x00%s', `${to}..${from}`], { allowFail: true });
      undone = r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [hash = '', subject = ''] = l.split('\0');
          return { hash, subject };
        });
      const c = await ctx.git.run(['rev-list', '--count', `${to}..${from}`], { allowFail: true });
      undoneTotal = c.exitCode === 0 ? Number(c.stdout.trim()) : undone.length;
    }
    const markdown = incidentReport({
      event: { ...(e as unknown as ReportInput['event']), id: chosen.commit },
      target: target ? { description: target.description, kind: target.kind, snapshot: await loadSnapshot(ctx, target).catch(() => null) } : null,
      undone,
      undoneTotal,
      formatTime,
    });
    if (args.output) {
      await writeFile(args.output, markdown + '\n');
      info(t('report.wrote', { type: e.type, id: chosen.commit.slice(0, 8), file: args.output }));
      return;
    }
    print(markdown);
  },
};

/** "2025-09-06 13:10:58 +08:00" in the local time zone. */
export function formatTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const tz = `${off >= 0 ? '+' : '-'}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${tz}`;
}
