// git rollback protect|unprotect <point>: protected points are kept by prune
// and refused by delete without --force.
import type { CommandModule } from 'yargs';
import { UsageError } from '../../core/errors.js';
import { resolvePoint } from '../../core/points.js';
import { open, reasonOption, withLock, type GlobalArgs } from '../common.js';
import { print } from '../output.js';

interface Args extends GlobalArgs {
  point: string;
  reason?: string;
}

function protectCommand(on: boolean): CommandModule<object, Args> {
  const name = on ? 'protect' : 'unprotect';
  return {
    command: `${name} <point>`,
    describe: on ? 'Protect a point from delete and prune' : 'Remove the protection of a point',
    builder: (y) =>
      y
        .positional('point', { type: 'string', demandOption: true })
        .option('reason', reasonOption)
        .example(`$0 ${name} release/v0.8.1`, ''),
    handler: async (args) => {
      const ctx = await open(args);
      await withLock(ctx, `git rollback ${name}`, 15_000, async () => {
        const points = await ctx.store.list();
        const p = await resolvePoint(args.point, { points, prefixes: ctx.config.tags, commitOf: (r) => ctx.git.revParse(`${r}^{commit}`) });
        if (!p.note) throw new UsageError(`${p.tag} has no git-rollback note (made by another tool, or notes not fetched)`, 'fetch notes: git rollback fetch');
        if (p.note.protected === on) return print(`${p.tag} is already ${on ? 'protected' : 'unprotected'}.`);
        await ctx.store.writeNote(p, { ...p.note, protected: on });
        await ctx.log.append({ type: name, target: p.tag, reason: args.reason ?? null, outcome: 'ok', ms: 0 });
        print(`${on ? 'Protected' : 'Unprotected'} ${p.tag}.`);
      });
    },
  };
}

export const protectCommands = [protectCommand(true), protectCommand(false)];
