// git rollback log: the append-only event log (refs/rollback/log), newest first.
import type { CommandModule } from 'yargs';
import type { LoggedEvent, RollbackEvent } from '../../adapters/eventlog.js';
import { formatMs } from '../../core/duration.js';
import { open, type GlobalArgs } from '../common.js';
import { color, localTime, print, printJSON, table } from '../output.js';

export const EVENT_TYPES = ['point', 'release', 'rollback', 'undo', 'delete', 'prune', 'deploy', 'verify', 'protect', 'unprotect'] as const;

interface Args extends GlobalArgs {
  limit?: number;
  type?: string[];
}

export const logCommand: CommandModule<object, Args> = {
  command: 'log',
  describe: 'Show the event log, newest first: every point, release, rollback, undo, delete… with who, when, why and how long',
  builder: (y) =>
    y
      .option('limit', { alias: 'n', type: 'number', default: 50, describe: 'At most this many events (0: all)' })
      .option('type', { type: 'string', array: true, choices: [...EVENT_TYPES], describe: 'Only these event types (repeatable)' })
      .option('json', { type: 'boolean', describe: 'Print the events as JSON' })
      .example('$0 log', 'the last 50 events')
      .example('$0 log --type rollback --type undo', 'rollbacks and undos only')
      .example('$0 log -n 0 --json', 'everything, as JSON'),
  handler: async (args) => {
    const ctx = await open(args);
    const limit = args.limit && args.limit > 0 ? args.limit : undefined;
    let events = await ctx.log.read(args.type?.length ? undefined : limit);
    if (args.type?.length) events = events.filter((e) => args.type!.includes(e.event.type));
    if (limit !== undefined) events = events.slice(0, limit);
    if (args.json) return printJSON(events.map((e) => ({ id: e.commit, ...e.event })));
    if (events.length === 0) {
      print(args.type?.length ? `No ${args.type.join('/')} events.` : 'No events yet: they are recorded as points are made and rollbacks run.');
      return;
    }
    const rows = events.map((e) => [
      e.commit.slice(0, 8),
      localTime(new Date(e.event.time)),
      e.event.type,
      e.event.target ?? '',
      outcome(e.event),
      formatMs(e.event.ms),
      `${e.event.user.name}@${e.event.host}`,
      e.event.reason ?? '',
      details(e),
    ]);
    for (const line of table(
      [{ header: 'ID' }, { header: 'TIME' }, { header: 'EVENT' }, { header: 'TARGET' }, { header: 'OUTCOME' }, { header: 'TOOK' }, { header: 'BY', max: 30 }, { header: 'REASON', max: 30 }, { header: 'DETAILS' }],
      rows,
    ))
      print(line);
  },
};

function outcome(e: RollbackEvent): string {
  if (e.outcome === 'ok') return 'ok';
  if (e.outcome === 'reverted') return color.yellow('reverted');
  return color.red(e.outcome);
}

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
      if (e.mode) parts.push(`mode ${s(e.mode)}`);
      if (e.backup) parts.push(`backup ${s(e.backup)}`);
      if (typeof e.commitsUndone === 'number' && e.commitsUndone > 0) parts.push(`${e.commitsUndone} commit${e.commitsUndone === 1 ? '' : 's'} undone`);
      const health = e.health as { ok: boolean } | null | undefined;
      if (health) parts.push(`health ${health.ok ? 'ok' : 'failed'}`);
      if (e.error) parts.push(`error: ${s(e.error)}`);
      return parts.join(', ');
    }
    case 'point':
    case 'release':
    case 'delete':
      return e.commit ? `commit ${short(e.commit)}` : '';
    default:
      return e.error ? `error: ${s(e.error)}` : '';
  }
}
