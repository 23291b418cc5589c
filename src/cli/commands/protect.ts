// git rollback protect|unprotect <point>: protected points are kept by prune
// and refused by delete without --force.
import type { CommandModule } from 'yargs';
import { CorruptSnapshotError, UsageError } from '../../core/errors.js';
import { noteDamaged } from '../../core/note-shape.js';
import { resolvePoint } from '../../core/points.js';
import { msg, t } from '../../core/i18n.js';
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
    get describe() {
      return t(on ? 'cmd.protect' : 'cmd.unprotect');
    },
    builder: (y) =>
      y
        .positional('point', { type: 'string', demandOption: true, describe: t('protect.opt.point') })
        .option('reason', reasonOption())
        .example(`$0 ${name} release/v0.8.1`, ''),
    handler: async (args) => {
      const ctx = await open(args);
      await withLock(ctx, `git rollback ${name}`, 15_000, async () => {
        const points = await ctx.store.list();
        const p = await resolvePoint(args.point, { points, prefixes: ctx.config.tags, commitOf: (r) => ctx.git.revParse(`${r}^{commit}`) });
        // Rewriting a damaged note would drop what is in it: refused, naming the field.
        const damaged = noteDamaged(p);
        if (damaged) throw new CorruptSnapshotError(damaged);
        if (!p.note) throw new UsageError(msg('protect.noNote', { tag: p.tag }), msg('protect.noNoteHint'));
        if (p.note.protected === on) return print(t(on ? 'protect.already' : 'protect.alreadyNot', { tag: p.tag }));
        await ctx.store.writeNote(p, { ...p.note, protected: on });
        await ctx.log.append({ type: name, target: p.tag, reason: args.reason ?? null, outcome: 'ok', ms: 0 });
        print(t(on ? 'protect.done' : 'protect.undone', { tag: p.tag }));
      });
    },
  };
}

export const protectCommands = [protectCommand(true), protectCommand(false)];
