// The append-only event log: a commit chain at refs/rollback/log, one commit
// per event, message = the event as JSON. Pushable like any ref.
import { hostname } from 'node:os';
import { cloneId } from './clone-id.js';
import type { Git } from './git.js';
import { RollbackError } from '../core/errors.js';
import { msg } from '../core/i18n.js';

export const LOG_REF = 'refs/rollback/log';

export type EventType = 'point' | 'release' | 'rollback' | 'undo' | 'abort' | 'delete' | 'prune' | 'deploy' | 'verify' | 'protect' | 'unprotect' | 'adopt';

export interface RollbackEvent {
  schema: 1;
  type: EventType;
  time: string;
  user: { name: string; email: string };
  host: string;
  reason: string | null;
  /** Tag of the point acted on (for rollback: the target). */
  target: string | null;
  outcome: 'ok' | 'failed' | 'reverted' | 'cancelled';
  ms: number;
  /** Free-form facts: backup tag, from/to commits, mode, steps with durations… */
  [key: string]: unknown;
}

export interface LoggedEvent {
  commit: string;
  event: RollbackEvent;
}

export class EventLog {
  /** `stateDir` gives the clone id events are stamped with (clone-id.ts). */
  constructor(
    readonly git: Git,
    private readonly stateDir?: string,
  ) {}

  /**
   * The commit for an event on top of the log as it is now, and the
   * update-ref command that appends it: callers that must record a change and
   * its event together put that command in their own ref transaction.
   */
  async prepare(event: Omit<RollbackEvent, 'schema' | 'user' | 'host' | 'time'> & { time?: string }): Promise<{ event: RollbackEvent; commit: string; command: string }> {
    const time = event.time ?? new Date().toISOString();
    // Independent questions, asked at once (each is a git process or a file).
    const [id, clone, empty, tip] = await Promise.all([
      this.git.identity(),
      this.stateDir ? cloneId(this.stateDir) : null,
      // The empty tree of the repository's format (SHA-1 or SHA-256), written so the commit is valid and pushable.
      this.git.emptyTree(),
      this.git.revParse(LOG_REF),
    ]);
    const full: RollbackEvent = {
      schema: 1,
      time,
      user: { name: id.name, email: id.email },
      host: hostname(),
      ...(clone !== null ? { clone } : {}),
      ...event,
    } as RollbackEvent;
    const commit = await this.git.commitTree(empty, tip ? [tip] : [], `${full.type} ${full.target ?? ''}`.trim() + '\n\n' + JSON.stringify(full) + '\n');
    const command = tip ? `update ${LOG_REF} ${commit} ${tip}` : `create ${LOG_REF} ${commit}`;
    return { event: full, commit, command };
  }

  async append(event: Omit<RollbackEvent, 'schema' | 'user' | 'host' | 'time'> & { time?: string }): Promise<RollbackEvent> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const { event: full, command } = await this.prepare(event);
      const r = await this.git.run(['update-ref', '--stdin'], { input: `start\n${command}\nprepare\ncommit\n`, allowFail: true });
      if (r.exitCode === 0) return full;
    }
    throw new RollbackError(msg('eventlog.busy'));
  }

  /** Newest first. */
  async read(limit?: number): Promise<LoggedEvent[]> {
    const args = ['log', '--format=%H%x00%B%x00', LOG_REF];
    if (limit !== undefined) args.splice(1, 0, `-n${limit}`);
    const r = await this.git.run(args, { allowFail: true });
    if (r.exitCode !== 0) return [];
    const parts = r.stdout.split('\0');
    const out: LoggedEvent[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const commit = (parts[i] ?? '').trim();
      const body = parts[i + 1] ?? '';
      const json = body.slice(body.indexOf('{'));
      try {
        out.push({ commit, event: JSON.parse(json) as RollbackEvent });
      } catch {
        // Not one of ours; skip.
      }
    }
    return out;
  }
}
