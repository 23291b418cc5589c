// Unit tests for the step runner and the journal: fake steps that record
// what ran, against a real journal file in a temp dir.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { JOURNAL_SCHEMA, JournalFile, type Journal } from '../../src/adapters/journal.js';
import { journalSteps, RevertedFailure, Runner, StuckFailure, type RunnerReporter, type StepDef } from '../../src/app/runner.js';
import { CorruptSnapshotError } from '../../src/core/errors.js';
import { english } from '../../src/core/i18n.js';

const quiet: RunnerReporter = { step() {}, done() {}, reverting() {}, reverted() {}, warn() {} };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rb-runner-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Steps that log "run:<id>" / "revert:<id>"; `fail` makes one throw. */
function fakeSteps(ids: string[], log: string[], options: { fail?: string; failRevert?: string; commits?: string; cancellable?: string; onRun?: (id: string) => Promise<void> } = {}): StepDef[] {
  return ids.map((id) => ({
    id,
    kind: 'files',
    title: `step ${id}`,
    cancellable: options.cancellable === id,
    commits: options.commits === id,
    async run(s) {
      log.push(`run:${id}`);
      s.memo.ran = ((s.memo.ran as number | undefined) ?? 0) + 1;
      await options.onRun?.(id);
      if (options.cancellable === id) {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, 2000);
          s.signal.addEventListener('abort', () => {
            clearTimeout(t);
            reject(new Error('cut short'));
          });
        });
      }
      if (options.fail === id) throw new Error(`boom at ${id}`);
    },
    async revert() {
      log.push(`revert:${id}`);
      if (options.failRevert === id) throw new Error(`cannot put ${id} back`);
    },
  }));
}

function newJournal(steps: StepDef[]): Journal {
  return {
    schema: JOURNAL_SCHEMA,
    job: 'j1',
    request: { action: 'rollback', target: 't', targetCommit: 'c', mode: 'checkout', only: [], skip: [], removeExtra: false, dropOld: false, reason: null, backupTag: 'backup/x', frozen: {} },
    pid: process.pid,
    host: '',
    startedAt: new Date().toISOString(),
    updatedAt: '',
    direction: 'forward',
    steps: journalSteps(steps),
    temps: [],
    engineMemos: {},
  };
}

describe('step runner', () => {
  it('runs every step in order and records each as done in the journal', async () => {
    const log: string[] = [];
    const steps = fakeSteps(['a', 'b', 'c'], log);
    const file = new JournalFile(dir);
    const j = newJournal(steps);
    await new Runner(file, j, steps, quiet).forward();
    assert.deepEqual(log, ['run:a', 'run:b', 'run:c']);
    const saved = (await file.read())!;
    assert.deepEqual(saved.steps.map((s) => s.state), ['done', 'done', 'done']);
    assert.equal(saved.direction, 'forward');
  });

  it('on a failure puts back the failed step and every one before it, newest first', async () => {
    const log: string[] = [];
    const steps = fakeSteps(['a', 'b', 'c', 'd'], log, { fail: 'c' });
    const file = new JournalFile(dir);
    await assert.rejects(new Runner(file, newJournal(steps), steps, quiet).forward(), (e: unknown) => e instanceof RevertedFailure && /boom at c/.test(e.message) && !e.interrupted);
    assert.deepEqual(log, ['run:a', 'run:b', 'run:c', 'revert:c', 'revert:b', 'revert:a']);
    const saved = (await file.read())!;
    assert.deepEqual(saved.steps.map((s) => s.state), ['reverted', 'reverted', 'reverted', 'pending']);
    assert.equal(saved.direction, 'revert');
    assert.match(saved.error ?? '', /boom at c/);
  });

  it('when one step cannot be put back, puts back the others, keeps the captured state and the journal, and says why', async () => {
    const log: string[] = [];
    const steps = fakeSteps(['capture', 'a', 'b', 'c'], log, { fail: 'c', failRevert: 'b' });
    steps[0]!.holdsState = true;
    const file = new JournalFile(dir);
    await assert.rejects(
      new Runner(file, newJournal(steps), steps, quiet).forward(),
      (e: unknown) => e instanceof StuckFailure && /boom at c; putting things back also failed: cannot put b back/.test(e.message) && !e.stopped,
    );
    assert.deepEqual(log, ['run:capture', 'run:a', 'run:b', 'run:c', 'revert:c', 'revert:b', 'revert:a'], 'a is put back although b could not be; capture is kept');
    const saved = (await file.read())!;
    assert.deepEqual(saved.steps.map((s) => s.state), ['done', 'reverted', 'reverting', 'reverted']);
    assert.match(saved.steps[2]!.error ?? '', /revert: cannot put b back/);

    // A later --abort retries only what is left, then the captured state goes.
    log.length = 0;
    const retry = fakeSteps(['capture', 'a', 'b', 'c'], log);
    await new Runner(file, saved, retry, quiet).revertAll();
    assert.deepEqual(log, ['revert:b', 'revert:capture']);
  });

  it('resumes in a new runner from the step that was running when the process died', async () => {
    const log: string[] = [];
    const steps = fakeSteps(['a', 'b', 'c'], log);
    const file = new JournalFile(dir);
    const j = newJournal(steps);
    j.steps[0]!.state = 'done';
    j.steps[1]!.state = 'running';
    j.steps[1]!.memo.ran = 1;
    await file.write(j);
    const again = (await file.read())!;
    await new Runner(file, again, steps, quiet).forward();
    assert.deepEqual(log, ['run:b', 'run:c'], 'a is not run again; b (maybe half-done) is');
    assert.equal((await file.read())!.steps[1]!.memo.ran, 2, 'the step sees its own memo from the earlier run');
  });

  it('abort puts back a step that may have run half-way, and skips pending ones', async () => {
    const log: string[] = [];
    const steps = fakeSteps(['a', 'b', 'c'], log);
    const file = new JournalFile(dir);
    const j = newJournal(steps);
    j.steps[0]!.state = 'done';
    j.steps[1]!.state = 'running';
    await new Runner(file, j, steps, quiet).revertAll();
    assert.deepEqual(log, ['revert:b', 'revert:a']);
  });

  it('a committed job is not put back: a later failure is reported as is', async () => {
    const log: string[] = [];
    const steps = fakeSteps(['a', 'commit', 'tidy'], log, { commits: 'commit', fail: 'tidy' });
    const runner = new Runner(new JournalFile(dir), newJournal(steps), steps, quiet);
    await assert.rejects(runner.forward(), /boom at tidy/);
    assert.deepEqual(log, ['run:a', 'run:commit', 'run:tidy']);
    assert.ok(runner.isCommitted);
  });

  it('settle() marks a committing step done when it went through before the journal said so', async () => {
    const log: string[] = [];
    const steps = fakeSteps(['a', 'commit'], log, { commits: 'commit' });
    steps[1]!.wentThrough = async () => true;
    const j = newJournal(steps);
    j.steps[0]!.state = 'done';
    j.steps[1]!.state = 'running';
    const runner = new Runner(new JournalFile(dir), j, steps, quiet);
    await runner.settle();
    assert.ok(runner.isCommitted);
    assert.equal(j.steps[1]!.state, 'done');
  });

  it('refuses steps the journal does not know', () => {
    const steps = fakeSteps(['a'], []);
    const j = newJournal(fakeSteps(['x'], []));
    assert.throws(() => new Runner(new JournalFile(dir), j, steps, quiet), /step a is not in the journal/);
  });

  it('a first SIGINT cuts a cancellable step short and puts everything back', async () => {
    const log: string[] = [];
    const steps = fakeSteps(['a', 'load', 'c'], log, { cancellable: 'load', onRun: async (id) => void (id === 'load' && setTimeout(() => process.emit('SIGINT', 'SIGINT'), 20)) });
    const warnings: string[] = [];
    await assert.rejects(
      new Runner(new JournalFile(dir), newJournal(steps), steps, { ...quiet, warn: (t) => warnings.push(english(t)) }).forward(),
      (e: unknown) => e instanceof RevertedFailure && e.interrupted && /interrupted by SIGINT/.test(e.message),
    );
    assert.deepEqual(log, ['run:a', 'run:load', 'revert:load', 'revert:a']);
    assert.match(warnings[0] ?? '', /finishing the current step, then putting everything back/);
    assert.equal(process.listenerCount('SIGINT'), 0, 'handlers are removed afterwards');
  });

  it('a SIGTERM during an atomic step lets it finish, then puts it back', async () => {
    const log: string[] = [];
    const steps = fakeSteps(['a', 'swap', 'c'], log, {
      onRun: async (id) => {
        if (id !== 'swap') return;
        process.emit('SIGTERM', 'SIGTERM');
        await new Promise((r) => setTimeout(r, 30));
        log.push('swap finished');
      },
    });
    await assert.rejects(new Runner(new JournalFile(dir), newJournal(steps), steps, quiet).forward(), (e: unknown) => e instanceof RevertedFailure && e.interrupted);
    assert.deepEqual(log, ['run:a', 'run:swap', 'swap finished', 'revert:swap', 'revert:a']);
  });

  it('a second signal stops after the current revert step and keeps the journal', async () => {
    const log: string[] = [];
    const steps = fakeSteps(['a', 'b', 'c'], log, { onRun: async (id) => void (id === 'c' && process.emit('SIGINT', 'SIGINT')) });
    steps[2]!.revert = async () => {
      log.push('revert:c');
      process.emit('SIGINT', 'SIGINT');
    };
    const file = new JournalFile(dir);
    await assert.rejects(new Runner(file, newJournal(steps), steps, quiet).forward(), (e: unknown) => e instanceof StuckFailure && e.stopped);
    assert.deepEqual(log, ['run:a', 'run:b', 'run:c', 'revert:c']);
    assert.deepEqual((await file.read())!.steps.map((s) => s.state), ['done', 'done', 'reverted']);
  });

  it('records temporary objects before they are made, and marks them removed', async () => {
    const file = new JournalFile(dir);
    let seenOnDisk = 0;
    const steps: StepDef[] = [
      {
        id: 'make',
        kind: 'database',
        title: 'make',
        async run(s) {
          await s.track([{ database: 'main', engine: 'postgres', role: 'staged', kind: 'database', name: 'app_rb_tmp_j1', jobId: 'j1' }]);
          seenOnDisk = (await file.read())!.temps.length;
          await s.untrack([{ database: 'main', engine: 'postgres', role: 'staged', kind: 'database', name: 'app_rb_tmp_j1', jobId: 'j1' }]);
        },
      },
    ];
    const j = newJournal(steps);
    await new Runner(file, j, steps, quiet).forward();
    assert.equal(seenOnDisk, 1, 'the object is in the journal on disk before the step goes on');
    assert.equal((await file.read())!.temps[0]!.removed, true);
  });
});

describe('journal file', () => {
  it('round-trips and leaves no temp file behind', async () => {
    const file = new JournalFile(dir);
    const j = newJournal(fakeSteps(['a'], []));
    await file.write(j);
    const back = (await file.read())!;
    assert.equal(back.job, 'j1');
    assert.equal(back.pid, process.pid);
    assert.deepEqual(
      (await import('node:fs')).readdirSync(dir).sort(),
      ['journal.json'],
    );
    await file.remove();
    assert.equal(await file.read(), null);
  });

  it('a journal that cannot be parsed is an error, never "no job"', async () => {
    writeFileSync(join(dir, 'journal.json'), '{"schema": 2, "job": ');
    await assert.rejects(new JournalFile(dir).read(), (e: unknown) => e instanceof CorruptSnapshotError && /cannot be parsed/.test(e.message));
  });

  it('a journal of another schema is refused with the way out', async () => {
    writeFileSync(join(dir, 'journal.json'), JSON.stringify({ schema: 1, job: 'x' }));
    await assert.rejects(new JournalFile(dir).read(), /has schema 1; this git-rollback reads schema 2/);
    assert.ok(readFileSync(join(dir, 'journal.json'), 'utf8').includes('"schema":1'), 'the old journal is left as it was');
  });
});
