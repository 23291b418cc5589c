// git rollback log: the append-only event log (refs/rollback/log), newest first.
import type { CommandModule } from 'yargs';
import type { LoggedEvent, RollbackEvent } from '../../adapters/eventlog.js';
import { formatMs } from '../../core/duration.js';
import { t } from '../../core/i18n.js';
import { open, type GlobalArgs } from '../common.js';
import { color, localTime, print, printJSON, table, tableWidth } from '../output.js';

export const EVENT_TYPES = ['point', 'release', 'rollback', 'undo', 'delete', 'prune', 'deploy', 'verify', 'protect', 'unprotect', 'adopt'] as const;

interface Args extends GlobalArgs {
  limit?: number;
  type?: string[];
  wide?: boolean;
}

export const logCommand: CommandModule<object, Args> = {
  command: 'log',
  get describe() {
    return t('cmd.log');
  },
  builder: (y) =>
    y
      .option('limit', { alias: 'n', type: 'number', default: 50, describe: t('log.opt.limit') })
      .option('type', { type: 'string', array: true, choices: [...EVENT_TYPES], describe: t('log.opt.type') })
      .option('wide', { alias: 'w', type: 'boolean', describe: t('opt.wide') })
      .option('json', { type: 'boolean', describe: t('log.opt.json') })
      .example('$0 log', t('log.ex.log'))
      .example('$0 log --type rollback --type undo', t('log.ex.type'))
      .example('$0 log -n 0 --json', t('log.ex.json')),
  handler: async (args) => {
    const ctx = await open(args);
    const limit = args.limit && args.limit > 0 ? args.limit : undefined;
    let events = await ctx.log.read(args.type?.length ? undefined : limit);
    if (args.type?.length) events = events.filter((e) => args.type!.includes(e.event.type));
    if (limit !== undefined) events = events.slice(0, limit);
    if (args.json) return printJSON(events.map((e) => ({ id: e.commit, ...e.event })));
    if (events.length === 0) {
      print(args.type?.length ? t('log.noneOfType', { types: args.type.join('/') }) : t('log.none'));
      return;
    }
    const rows = events.map((e) => [
      e.commit.slice(0, 8),
      localTime(new Date(e.event.time)),
      eventType(e.event.type),
      e.event.target ?? '',
      outcome(e.event),
      formatMs(e.event.ms),
      `${e.event.user.name}@${e.event.host}`,
      e.event.reason ?? '',
      details(e),
    ]);
    for (const line of table(
      [
        { header: t('log.col.id'), drop: 3 },
        { header: t('log.col.time'), compactAt: 4, compact: events.map((e) => localTime(new Date(e.event.time)).slice(5)) },
        { header: t('log.col.event') },
        { header: t('log.col.target'), flex: { min: 12 } },
        { header: t('log.col.outcome') },
        { header: t('log.col.took'), drop: 5 },
        { header: t('log.col.by'), max: 30, drop: 2 },
        { header: t('log.col.reason'), max: 30, flex: { min: 8 }, drop: 6 },
        { header: t('log.col.details'), flex: { min: 20 }, drop: 1 },
      ],
      rows,
      { width: tableWidth(args.wide) },
    ))
      print(line);
  },
};

function outcome(e: RollbackEvent): string {
  const text = ['ok', 'reverted', 'failed'].includes(e.outcome) ? t(`outcome.${e.outcome}` as 'outcome.ok') : e.outcome;
  if (e.outcome === 'ok') return text;
  if (e.outcome === 'reverted') return color.yellow(text);
  return color.red(text);
}

/** An event type in the user's language ("rollback" → "回滚"). */
function eventType(type: string): string {
  const key = `event.${type}`;
  return key in EVENT_WORDS ? t(key as 'event.point') : type;
}

const EVENT_WORDS = Object.fromEntries(EVENT_TYPES.map((x) => [`event.${x}`, true]));

/** One short line of what matters for each type. */
function details({ event: e }: LoggedEvent): string {
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  const short = (v: unknown) => s(v).slice(0, 8);
  switch (e.type) {
    case 'rollback':
    case 'undo': {
      const from = e.from as { commit?: string; branch?: string | null } | undefined;
      const to = e.to as { commit?: string } | undefined;
      const parts: string[] = [];
      if (from?.commit || to?.commit) parts.push(`${from?.branch ? `${from.branch}@` : ''}${short(from?.commit)} → ${short(to?.commit)}`);
      if (e.mode) parts.push(t('log.mode', { mode: s(e.mode) }));
      if (e.backup) parts.push(t('log.backup', { backup: s(e.backup) }));
      if (typeof e.commitsUndone === 'number' && e.commitsUndone > 0) parts.push(t('log.undone', { n: e.commitsUndone }));
      const health = e.health as { ok: boolean } | null | undefined;
      if (health) parts.push(t(health.ok ? 'log.healthOk' : 'log.healthFailed'));
      if (e.error) parts.push(t('log.error', { error: s(e.error) }));
      return parts.join(t('list.sepComma'));
    }
    case 'point':
    case 'release':
    case 'delete':
      return e.commit ? t('log.commit', { commit: short(e.commit) }) : '';
    default:
      return e.error ? t('log.error', { error: s(e.error) }) : '';
  }
}
