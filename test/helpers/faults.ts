// Shared by the fault-injection suites: the step boundaries of a `to`, read
// from its own --dry-run --json plan.
import type { App } from './app.js';

/** "<step>:before" and "<step>:after" for every step the runner journals. */
export async function boundaries(app: App, args: string[] = ['to', 'p1']): Promise<string[]> {
  const plan = await app.run([...args, '--dry-run', '--json']);
  if (plan.code !== 0) throw new Error(`dry run failed: ${plan.stderr}`);
  const steps = (JSON.parse(plan.stdout) as { steps: Array<{ id: string }> }).steps.map((s) => s.id).filter((id) => id !== 'verify');
  return steps.flatMap((id) => [`${id}:before`, `${id}:after`]);
}


/** The steps of the app's rollback (helpers/app.ts): one of every kind the runner has. */
export const EVERY_STEP = [
  'capture',
  'stage-files',
  'stage:main',
  'stage:jobs',
  'stage:local',
  'stage:cache',
  'hook:beforeRollback',
  'code',
  'worktree',
  'files',
  'remove-extra',
  'swap:main',
  'swap:jobs',
  'swap:local',
  'swap:cache',
  'hook:afterRollback',
  'health',
  'backup:main',
  'backup:jobs',
  'backup:local',
  'backup:cache',
  'finish',
  'cleanup',
];
