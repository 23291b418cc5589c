// What earlier rollbacks left on the servers and on disk: previous database
// copies kept for a fast undo ('parked'), and loaded or staged copies of jobs
// that died without a journal to finish them ('staged', 'scratch'). `prune`
// removes them; a job still in the journal keeps its own.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Engine, RestoreJob, TempObject } from '../core/engine.js';
import { errorMsg } from '../core/errors.js';
import { msg, type Msg } from '../core/i18n.js';
import type { Context } from './context.js';

export interface Leftover {
  object: TempObject;
  engine: Engine | null;
  /** Absolute path, for files and folders of ours in the git dir. */
  path?: string;
}

/** Every leftover not owned by the job in `activeJob` (the journal's), engines that cannot be asked being reported through `warn`. */
export async function findLeftovers(ctx: Context, engines: readonly Engine[], activeJob: string | null, warn: (t: Msg) => void): Promise<Leftover[]> {
  const out: Leftover[] = [];
  for (const e of engines) {
    try {
      for (const o of await e.leftovers()) if (o.jobId !== activeJob) out.push({ object: o, engine: e });
    } catch (error) {
      warn(msg('leftover.cannotList', { name: e.name, error: errorMsg(error) }));
    }
  }
  const tmp = join(ctx.stateDir, 'tmp');
  for (const name of await readdir(tmp).catch(() => [] as string[])) {
    const m = /^stage-([a-z0-9_]+?)(?:_revert)?$/.exec(name);
    if (!m || m[1] === activeJob) continue;
    out.push({ object: { database: '', engine: 'files', role: 'staged', kind: 'folder', name: join('.git', 'rollback', 'tmp', name), jobId: m[1] as string }, engine: null, path: join(tmp, name) });
  }
  return out;
}

export async function removeLeftover(l: Leftover): Promise<void> {
  if (l.path) return rm(l.path, { recursive: true, force: true });
  if (!l.engine) return;
  if (l.object.role === 'parked') return l.engine.dropParked(l.object.jobId);
  const job: RestoreJob = {
    jobId: l.object.jobId,
    entry: { name: l.engine.name, engine: l.engine.engine, format: 'unknown', path: '', size: 0, sha256: '', tool: '', ms: 0 },
    memo: {},
    save: async () => undefined,
    signal: new AbortController().signal,
    warn: () => undefined,
  };
  await l.engine.discardStaged(job);
}

export function describeLeftover(l: Leftover): Msg {
  const o = l.object;
  if (!o.database) return msg('leftover.folder', { name: o.name });
  return msg(o.role === 'parked' ? 'leftover.parked' : o.role === 'scratch' ? 'leftover.scratch' : 'leftover.staged', { name: o.name, db: o.database });
}
