// git rollback show <point>: everything the note and manifest say.
import type { CommandModule } from 'yargs';
import { loadSnapshot } from '../../app/rollback.js';
import { age, formatMs } from '../../core/duration.js';
import { resolvePoint } from '../../core/points.js';
import { formatBytes } from '../../core/text.js';
import { open, type GlobalArgs } from '../common.js';
import { color, localTime, print, printJSON } from '../output.js';
import { pointJSON } from './list.js';

interface Args extends GlobalArgs {
  point: string;
}

export const showCommand: CommandModule<object, Args> = {
  command: 'show <point>',
  describe: 'Show a point: commit, description, who made it, and every file, database and capture in its snapshot',
  builder: (y) =>
    y
      .positional('point', { type: 'string', demandOption: true, describe: 'Tag, id, version, latest, or a commit a point tags' })
      .option('json', { type: 'boolean', describe: 'Print JSON (note and manifest)' })
      .example('$0 show latest', 'the newest point')
      .example('$0 show release/v0.8.1 --json', 'as JSON'),
  handler: async (args) => {
    const ctx = await open(args);
    const points = await ctx.store.list();
    const p = await resolvePoint(args.point, { points, prefixes: ctx.config.tags, commitOf: (r) => ctx.git.revParse(`${r}^{commit}`) });
    const snapshot = await loadSnapshot(ctx, p);
    if (args.json) return printJSON({ ...pointJSON(p), note: p.note, snapshot });
    const n = p.note;
    print(`${color.bold(p.tag)}  ${color.dim(p.kind)}${n?.protected ? '  [protected]' : ''}`);
    if (p.description) print(`  ${p.description.split('\n').join('\n  ')}`);
    print('');
    print(`  created    ${localTime(p.createdAt)} (${age(p.createdAt)})${n ? ` by ${n.createdBy.name} <${n.createdBy.email}> on ${n.createdBy.host}` : ''}`);
    print(`  commit     ${p.commit}${n?.branch ? ` on ${n.branch}` : ''}`);
    if (n?.release) print(`  release    ${n.release.version}${n.release.previous ? ` (${n.release.change ?? '?'} after ${n.release.previous})` : ''}`);
    if (!snapshot) {
      print('  snapshot   none (code only)');
      return;
    }
    print(`  snapshot   ${snapshot.commit.slice(0, 12)} (${snapshot.ref}), ${formatBytes(snapshot.size)}`);
    if (snapshot.worktree) print(`  uncommitted work: ${snapshot.worktree.files} file${snapshot.worktree.files === 1 ? '' : 's'} (${snapshot.worktree.commit.slice(0, 12)}${snapshot.worktree.untracked ? ', with untracked files' : ''})`);
    const files = (label: string, list: typeof snapshot.config) => {
      print(`  ${label} (${list.length}):`);
      for (const f of list) print(`    ${f.mode.slice(-4)}  ${formatBytes(f.size).padStart(9)}  ${f.path}${f.link !== undefined ? ` -> ${f.link}` : ''}  ${color.dim(f.sha256.slice(0, 12))}${f.enc ? '  encrypted' : ''}`);
    };
    files('config files', snapshot.config);
    if (snapshot.paths.length) files('data path files', snapshot.paths);
    if (snapshot.databases.length) {
      print(`  databases (${snapshot.databases.length}):`);
      for (const d of snapshot.databases) {
        print(`    ${d.name}  ${d.engine}  ${formatBytes(d.size)}  ${d.format}  ${d.tool}${d.serverVersion ? `, server ${d.serverVersion}` : ''}  ${formatMs(d.ms)}  ${color.dim(d.sha256.slice(0, 12))}${d.chunks ? `  ${d.chunks.length} chunk${d.chunks.length === 1 ? '' : 's'}` : ''}${d.chunks?.some((c) => c.enc) ? '  encrypted' : ''}`);
      }
    }
    if (snapshot.captures.length) {
      print(`  captures (${snapshot.captures.length}):`);
      for (const c of snapshot.captures) print(`    ${c.name}  \`${c.command}\`  exit ${c.exitCode}  ${formatBytes(c.size)}`);
    }
    const extra = n ? Object.keys(n).filter((k) => !['schema', 'id', 'kind', 'description', 'createdAt', 'createdBy', 'commit', 'branch', 'dirty', 'snapshot', 'protected', 'release'].includes(k)) : [];
    for (const k of extra) print(`  ${k}: ${JSON.stringify(n![k])}`);
  },
};
