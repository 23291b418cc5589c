// The step runner: runs a job's steps in order, recording each one in the
// journal before and after it runs, and puts back what ran when a step fails
// or the user interrupts. Every step can run again after a crash part-way
// through it, and every revert too, so a job killed at any moment can be
// finished (`--continue`, forward from the first unfinished step) or
// reverted (`--abort`, every step that ran or may have run, newest first).
//
// Signals (SIGINT, SIGTERM, SIGHUP) during a job: the step running finishes
// (a cancellable one, such as loading a dump into a temp database, is cut
// short: nothing live depends on it), then everything that ran is put back.
// A second signal stops after the revert step running and leaves the journal
// for --continue/--abort. docs/commands.md, "Interrupted rollbacks".
import type { TempObject } from '../core/engine.js';
import { CancelledError, errorMsg, RollbackError } from '../core/errors.js';
import { joined, msg, type Msg } from '../core/i18n.js';
import type { StepKind } from '../core/plan.js';
import type { Journal, JournalFile, JournalStep } from '../adapters/journal.js';

/** What a step's run and revert get. */
export interface StepScope {
  /** The step's own facts, kept in the journal (JSON only). */
  memo: Record<string, unknown>;
  /** Writes the journal now (fsynced). */
  save(): Promise<void>;
  /** Records objects in the journal (fsynced) before they are made. */
  track(objects: TempObject[]): Promise<void>;
  /** Marks recorded objects as removed. */
  untrack(objects: readonly TempObject[]): Promise<void>;
  /** Aborted when the user interrupts: cancellable steps stop early. */
  signal: AbortSignal;
  warn(text: string | Msg): void;
  journal: Journal;
  /** Test-only pause point inside a step (ROLLBACK_TEST_PAUSE=<step>:<when>); resolves at once otherwise. */
  pause(when: string): Promise<void>;
}

export interface StepDef {
  id: string;
  kind: StepKind;
  /** English, as the journal and the event log keep it. */
  title: string;
  /** The title as a catalog message, for the reporter (the plan's, kept in the journal). */
  local?: Msg;
  /** A signal may cut it short (it changes nothing live); otherwise the runner waits for it. */
  cancellable?: boolean;
  run(s: StepScope): Promise<void>;
  /** Puts back what run() changed; must work after a partial run() and when called twice. */
  revert?(s: StepScope): Promise<void>;
  /**
   * Once this step is done the job has happened: nothing after it is
   * reverted, and what follows only tidies up (failures there are warnings).
   */
  commits?: boolean;
  /**
   * For a committing step: whether it went through even though the journal
   * does not say so (killed between its change and the journal write).
   */
  wentThrough?(s: StepScope): Promise<boolean>;
  /**
   * Its revert discards what other reverts need (the captured state before):
   * skipped while any other step could not be put back, so a later --abort
   * can still retry those.
   */
  holdsState?: boolean;
}

/** Step titles and warnings come as catalog messages (plain English text when a step has none): the CLI shows them in the user's language. */
export interface RunnerReporter {
  step(title: string | Msg): void;
  done(title: string | Msg, ms: number): void;
  reverting(title: string | Msg): void;
  reverted(title: string | Msg, ms: number): void;
  warn(text: string | Msg): void;
}

/** A forward run failed (or was interrupted), and what ran was put back. */
export class RevertedFailure extends Error {
  constructor(
    readonly failure: Error,
    readonly interrupted: boolean,
  ) {
    super(failure.message);
  }
}

/** A forward run failed and putting things back failed too; the journal is kept. */
export class StuckFailure extends Error {
  constructor(
    readonly failure: Error,
    readonly revertError: Error | null,
    /** Stopped by a second signal rather than a failure. */
    readonly stopped: boolean,
  ) {
    super(revertError ? `${failure.message}; putting things back also failed: ${revertError.message}` : failure.message);
  }

  /** The message in the catalog's terms, for the user's language. */
  get local(): string | Msg {
    return this.revertError ? msg('run.alsoFailed', { error: errorMsg(this.failure), revert: errorMsg(this.revertError) }) : errorMsg(this.failure);
  }
}

/**
 * Test-only fault injection (never set outside tests; docs/commands.md):
 * - ROLLBACK_TEST_CRASH=<step>:<before|running|after|revert-before|revert-after>: SIGKILL itself there.
 * - ROLLBACK_TEST_FAIL=<step>: the step throws after running.
 * - ROLLBACK_TEST_PAUSE=<step>:<when>[,…] with ROLLBACK_TEST_PAUSE_FILE: write that file, then wait
 *   (until a signal arrives) there — `when` as above, or `mid` inside a database load.
 */
function faults(env: NodeJS.ProcessEnv) {
  const split = (spec: string) => {
    const at = spec.lastIndexOf(':');
    return at > 0 ? { step: spec.slice(0, at), when: spec.slice(at + 1) } : { step: '', when: '' };
  };
  const crash = split(env.ROLLBACK_TEST_CRASH ?? '');
  const fail = env.ROLLBACK_TEST_FAIL ?? '';
  const pauses = (env.ROLLBACK_TEST_PAUSE ?? '').split(',').filter(Boolean).map(split);
  const pauseFile = env.ROLLBACK_TEST_PAUSE_FILE;
  return {
    maybeCrash(step: string, when: string) {
      if (crash.step === step && crash.when === when) process.kill(process.pid, 'SIGKILL');
    },
    maybeFail(step: string) {
      if (fail === step) throw new RollbackError(msg('run.injected', { step }));
    },
    /** Resolves once a signal arrives (or at once when no pause is set here). */
    async maybePause(step: string, when: string, signalled: () => Promise<void>) {
      if (!pauseFile || !pauses.some((p) => p.step === step && p.when === when)) return;
      const { appendFileSync } = await import('node:fs');
      const waiting = signalled();
      // A pending promise alone does not keep node running: hold a timer while waiting.
      const alive = setInterval(() => undefined, 60_000);
      appendFileSync(pauseFile, `${step}:${when}\n`);
      await waiting.finally(() => clearInterval(alive));
    },
  };
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export class Runner {
  private readonly abort = new AbortController();
  private signals = 0;
  private signalName: string | null = null;
  private readonly faults = faults(process.env);
  private waiters: Array<() => void> = [];
  /** Resolves at the next signal (test pauses wait on it). */
  private nextSignal = () => new Promise<void>((resolve) => this.waiters.push(resolve));
  private readonly onSignal = (name: NodeJS.Signals) => {
    this.signals++;
    this.signalName ??= name;
    for (const w of this.waiters.splice(0)) w();
    if (this.signals === 1) {
      this.reporter.warn(msg('run.signal', { name }));
      this.abort.abort(new CancelledError(msg('run.interruptedBy', { name })));
    } else {
      this.reporter.warn(msg('run.signalAgain', { name }));
    }
  };

  constructor(
    private readonly file: JournalFile,
    readonly journal: Journal,
    private readonly steps: readonly StepDef[],
    private readonly reporter: RunnerReporter,
  ) {
    const ids = new Set(journal.steps.map((s) => s.id));
    for (const s of steps) {
      if (!ids.has(s.id)) throw new RollbackError(msg('run.notInJournal', { id: s.id }));
    }
  }

  /** The journal entry for each defined step, in order. */
  private entry(id: string): JournalStep {
    return this.journal.steps.find((s) => s.id === id) as JournalStep;
  }

  private scope(step: JournalStep): StepScope {
    return {
      pause: (when) => this.faults.maybePause(step.id, when, this.nextSignal),
      memo: step.memo,
      save: () => this.save(),
      track: async (objects) => {
        for (const o of objects) {
          const known = this.journal.temps.find((t) => t.engine === o.engine && t.database === o.database && t.name === o.name && t.kind === o.kind);
          if (known) delete known.removed;
          else this.journal.temps.push({ ...o });
        }
        await this.save();
      },
      untrack: async (objects) => {
        for (const o of objects) {
          const known = this.journal.temps.find((t) => t.engine === o.engine && t.database === o.database && t.name === o.name && t.kind === o.kind);
          if (known) known.removed = true;
        }
        await this.save();
      },
      signal: this.abort.signal,
      warn: (t) => this.reporter.warn(t),
      journal: this.journal,
    };
  }

  save(): Promise<void> {
    return this.file.write(this.journal);
  }

  private listening = 0;

  /** Signal handlers are on while a forward run or a revert is in progress (nested: forward → revert). */
  private listen(on: boolean): void {
    this.listening += on ? 1 : -1;
    if (on && this.listening === 1) for (const s of SIGNALS) process.on(s, this.onSignal);
    if (!on && this.listening === 0) for (const s of SIGNALS) process.off(s, this.onSignal);
  }

  get interrupted(): boolean {
    return this.signals > 0;
  }

  /**
   * Runs every step not done yet. On a failure or a first signal, reverts and
   * throws RevertedFailure; if the revert fails or a second signal stops it,
   * throws StuckFailure with the journal kept.
   */
  async forward(): Promise<void> {
    this.listen(true);
    try {
      this.journal.direction = 'forward';
      delete this.journal.error;
      for (const def of this.steps) {
        const step = this.entry(def.id);
        if (step.state === 'done') continue;
        if (this.interrupted && !this.isCommitted) return await this.fail(this.abort.signal.reason as Error);
        this.faults.maybeCrash(def.id, 'before');
        step.state = 'running';
        delete step.error;
        await this.save();
        this.faults.maybeCrash(def.id, 'running');
        await this.faults.maybePause(def.id, 'running', this.nextSignal);
        const t = Date.now();
        this.reporter.step(def.local ?? def.title);
        try {
          await def.run(this.scope(step));
          this.faults.maybeFail(def.id);
        } catch (error) {
          step.state = 'failed';
          step.error = (error as Error).message;
          step.ms = Date.now() - t;
          await this.save().catch(() => undefined);
          if (def.commits || this.committed(def)) throw error;
          return await this.fail(this.interrupted ? (this.abort.signal.reason as Error) : (error as Error));
        }
        this.faults.maybeCrash(def.id, 'after');
        step.state = 'done';
        step.ms = Date.now() - t;
        await this.save();
        this.reporter.done(def.local ?? def.title, step.ms);
      }
      // Interrupted during the last step: it finished, and is put back with the rest.
      if (this.interrupted && !this.isCommitted) return await this.fail(this.abort.signal.reason as Error);
    } finally {
      this.listen(false);
    }
  }

  /** True when a committing step before `def` is done: the job already happened. */
  private committed(def: StepDef): boolean {
    for (const s of this.steps) {
      if (s === def) return false;
      if (s.commits && this.entry(s.id).state === 'done') return true;
    }
    return false;
  }

  /** Whether the job has reached its committing step (nothing can be reverted any more). */
  get isCommitted(): boolean {
    return this.steps.some((s) => s.commits && this.entry(s.id).state === 'done');
  }

  /**
   * After a crash: a committing step the journal shows as running may have
   * gone through; ask it, and record it as done if it did.
   */
  async settle(): Promise<void> {
    for (const def of this.steps) {
      const step = this.entry(def.id);
      if (!def.commits || !def.wentThrough || (step.state !== 'running' && step.state !== 'failed')) continue;
      if (await def.wentThrough(this.scope(step))) {
        step.state = 'done';
        delete step.error;
        await this.save();
      }
    }
  }

  private async fail(cause: Error): Promise<never> {
    this.journal.error = cause.message;
    const local = errorMsg(cause);
    if (typeof local === 'string') delete this.journal.errorLocal;
    else this.journal.errorLocal = local;
    try {
      await this.revertAll();
    } catch (error) {
      if (error instanceof StuckFailure) throw new StuckFailure(cause, error.revertError, error.stopped);
      throw error;
    }
    throw new RevertedFailure(cause, this.interrupted);
  }

  /**
   * Reverts every step that ran or may have run, newest first. A step that
   * cannot be put back does not stop the others (each step is one resource):
   * they are put back, the failure is recorded on its step, and StuckFailure
   * names every step left — with the captured state kept for a later --abort.
   */
  async revertAll(): Promise<void> {
    this.listen(true);
    try {
      this.journal.direction = 'revert';
      await this.save();
      const failures: Array<{ title: string | Msg; error: Error }> = [];
      for (const def of [...this.steps].reverse()) {
        const step = this.entry(def.id);
        if (step.state === 'pending' || step.state === 'reverted') continue;
        if (this.signals > 1) throw new StuckFailure(this.recordedFailure('run.interrupted'), null, true);
        if (failures.length > 0 && def.holdsState) continue;
        this.faults.maybeCrash(def.id, 'revert-before');
        step.state = 'reverting';
        await this.save();
        await this.faults.maybePause(def.id, 'revert-running', this.nextSignal);
        const t = Date.now();
        const title = def.local ?? def.title;
        if (def.revert) this.reporter.reverting(title);
        try {
          await def.revert?.(this.scope(step));
        } catch (error) {
          step.error = `revert: ${(error as Error).message}`;
          await this.save().catch(() => undefined);
          failures.push({ title, error: error as Error });
          this.reporter.warn(msg('run.couldNotPutBack', { title, error: errorMsg(error) }));
          continue;
        }
        this.faults.maybeCrash(def.id, 'revert-after');
        delete step.error;
        step.state = 'reverted';
        step.ms = Date.now() - t;
        await this.save();
        if (def.revert) this.reporter.reverted(title, step.ms);
      }
      if (failures.length > 0) {
        const what =
          failures.length === 1
            ? (failures[0] as { error: Error }).error
            : new RollbackError(msg('run.stepErrors', { list: joined(failures.map((f) => msg('run.stepError', { title: f.title, error: errorMsg(f.error) })), 'semicolon') }));
        throw new StuckFailure(this.recordedFailure('run.failed'), what, false);
      }
    } finally {
      this.listen(false);
    }
  }

  /** The failure the journal recorded (maybe by another process), as an error in the catalog's terms. */
  private recordedFailure(otherwise: 'run.interrupted' | 'run.failed'): RollbackError {
    const j = this.journal;
    if (j.errorLocal) return new RollbackError(j.errorLocal);
    return new RollbackError(j.error ?? msg(otherwise));
  }
}

/** A fresh journal entry for each step. */
export function journalSteps(steps: readonly StepDef[]): JournalStep[] {
  return steps.map((s) => ({ id: s.id, kind: s.kind, title: s.title, ...(s.local ? { local: s.local } : {}), state: 'pending', memo: {} }));
}
