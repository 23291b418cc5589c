// git rollback show <point>: everything the note and manifest say.
import type { CommandModule } from 'yargs';
import { loadSnapshot } from '../../app/state.js';
import { age, formatMs } from '../../core/duration.js';
import { t } from '../../core/i18n.js';
import { noteDamaged } from '../../core/note-shape.js';
import { resolvePoint } from '../../core/points.js';
import { formatBytes } from '../../core/text.js';
import { open, type GlobalArgs } from '../common.js';
import { color, localTime, print, printJSON, warn } from '../output.js';
import { pickPoint } from '../picker.js';
import { labelled } from './point.js';
import { listed, pointJSON } from './list.js';

interface Args extends GlobalArgs {
  point?: string;
}

export const showCommand: CommandModule<object, Args> = {
  command: 'show [point]',
  get describe() {
    return t('cmd.show');
  },
  builder: (y) =>
    y
      .positional('point', { type: 'string', describe: t('show.opt.point') })
      .option('json', { type: 'boolean', describe: t('show.opt.json') })
      .example('$0 show latest', t('show.ex.latest'))
      .example('$0 show release/v0.8.1 --json', t('show.ex.json'))
      .example('$0 show', t('show.ex.pick')),
  handler: async (args) => {
    const ctx = await open(args);
    const points = await ctx.store.list();
    const p = args.point
      ? await resolvePoint(args.point, { points, prefixes: ctx.config.tags, commitOf: (r) => ctx.git.revParse(`${r}^{commit}`) })
      : await pickPoint(points, { title: t('picker.titleShow'), missing: { key: 'show.needPoint' } });
    const snapshot = await loadSnapshot(ctx, p);
    if (args.json) return printJSON({ ...pointJSON(listed(p)), note: p.note, ...(p.noteProblem ? { noteProblem: p.noteProblem } : {}), snapshot });
    const n = p.note;
    const line = (key: Parameters<typeof t>[0], value: string) => print(`  ${labelled(t(key))}${value}`);
    print(`${color.bold(p.tag)}  ${color.dim(t(`kind.${p.kind}` as 'kind.point'))}${n?.protected ? `  ${t('list.protected')}` : ''}`);
    if (p.description) print(`  ${p.description.split('\n').join('\n  ')}`);
    print('');
    const damaged = noteDamaged(p);
    if (damaged) warn(damaged);
    line('show.created', `${localTime(p.createdAt)} (${age(p.createdAt)})${n?.createdBy ? t('show.by', { name: n.createdBy.name ?? '?', email: n.createdBy.email ?? '?', host: n.createdBy.host ?? '?' }) : ''}`);
    line('note.commit', `${p.commit}${n?.branch ? t('note.onBranch', { branch: n.branch }) : ''}`);
    if (n?.release) line('show.release', `${n.release.version}${n.release.previous ? ` (${t('release.after', { change: n.release.change ?? '?', previous: n.release.previous })})` : ''}`);
    if (!snapshot) {
      line('note.snapshot', t('note.codeOnly'));
      return;
    }
    line('note.snapshot', `${snapshot.commit.slice(0, 12)} (${snapshot.ref}), ${formatBytes(snapshot.size)}`);
    if (snapshot.worktree) {
      print(`  ${t(snapshot.worktree.untracked ? 'show.wipUntracked' : 'show.wip', { n: snapshot.worktree.files, commit: snapshot.worktree.commit.slice(0, 12) })}`);
    }
    const files = (label: string, list: typeof snapshot.config) => {
      print(`  ${label}`);
      for (const f of list) print(`    ${f.mode.slice(-4)}  ${formatBytes(f.size).padStart(9)}  ${f.path}${f.link !== undefined ? ` -> ${f.link}` : ''}  ${color.dim(f.sha256.slice(0, 12))}${f.enc ? `  ${t('show.encrypted')}` : ''}`);
    };
    files(t('show.configFiles', { n: snapshot.config.length }), snapshot.config);
    if (snapshot.paths.length) files(t('show.pathFiles', { n: snapshot.paths.length }), snapshot.paths);
    if (snapshot.databases.length) {
      print(`  ${t('show.databases', { n: snapshot.databases.length })}`);
      for (const d of snapshot.databases) {
        const server = d.serverVersion ? t('show.server', { version: d.serverVersion }) : '';
        const chunks = d.chunks ? `  ${t('show.chunks', { n: d.chunks.length })}` : '';
        const sealed = d.chunks?.some((c) => c.enc) ? `  ${t('show.encrypted')}` : '';
        print(`    ${d.name}  ${d.engine}  ${formatBytes(d.size)}  ${d.format}  ${d.tool}${server}  ${formatMs(d.ms)}  ${color.dim(d.sha256.slice(0, 12))}${chunks}${sealed}`);
      }
    }
    if (snapshot.captures.length) {
      print(`  ${t('show.captures', { n: snapshot.captures.length })}`);
      for (const c of snapshot.captures) print(`    ${c.name}  \`${c.command}\`  exit ${c.exitCode}  ${formatBytes(c.size)}`);
    }
    const extra = n ? Object.keys(n).filter((k) => !['schema', 'id', 'kind', 'description', 'createdAt', 'createdBy', 'commit', 'branch', 'dirty', 'snapshot', 'protected', 'release'].includes(k)) : [];
    for (const k of extra) print(`  ${k}: ${JSON.stringify(n![k])}`);
  },
};
