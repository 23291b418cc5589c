// Benchmark: `git gc` with and without database points (issue 10: "git gc
// does not rewrite dumps").
//
//   npm run build && node --import tsx bench/gc.ts [--mib 256] [--points 10] [--commits 2000] [--runs 3] [--keep]
//   npm run bench -- gc
//
// Builds one code history (--commits commits of a small source tree, written
// with git fast-import), then three repositories from it:
//   without: the code only                                   (the anchor)
//   with:    the code + --points points of a --mib MiB database (a `command`
//            engine dumping a file of md5 text, 1% of it rewritten between
//            points), as git-rollback stores them (large dump packs kept)
//   unkept:  `with` with the `.keep` files removed: how any store without
//            them fares (git's own packs of the chunks, e.g. the fast-import
//            store before)
//   nodb:    the code + the same number of points without a database: what
//            the points themselves (tags, notes, snapshot commits) cost gc
// and times `git gc` on a fresh copy of each (--runs times, medians; the copy
// is not timed). Prints the ratio with / without (goal ≤ 1.00: the dumps cost
// gc nothing) and what gc did to the dump packs.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { benchEnv, dirBytes, fmtBytes, fmtMs, git, loadNow, log, machine, mdTable, median, mustTree, parseArgs, rollbackTree, saveResult, timedTree, type TreeRun } from './lib.js';

/** A deterministic "dump": lines of id, md5 and a number; `version` rewrites 1% of it (a contiguous range). */
function writeDump(file: string, mib: number, version: number): void {
  const fd = openSync(file, 'w');
  const total = mib * 1024 * 1024;
  const lineBytes = 64;
  const lines = Math.floor(total / lineBytes);
  const onePct = Math.floor(lines / 100);
  const from = ((version * 37) % 97) * onePct;
  let buf = '';
  for (let i = 0; i < lines; i++) {
    const changed = version > 0 && i >= from && i < from + onePct;
    const md5 = createHash('md5').update(`${i}:${changed ? version : 0}`).digest('hex');
    const num = String((i * 7919 + (changed ? version : 0)) % 1000003).padStart(8, '0');
    buf += `${String(i).padStart(12, '0')}\t${md5}\t${num}\t${'x'.repeat(lineBytes - 12 - 32 - 8 - 4)}\n`;
    if (buf.length > 1 << 20) {
      writeSync(fd, buf);
      buf = '';
    }
  }
  writeSync(fd, buf);
  closeSync(fd);
}

/** A code history of `commits` commits over ~40 files, via fast-import. */
function codeHistory(dir: string, env: NodeJS.ProcessEnv, commits: number): void {
  mkdirSync(dir, { recursive: true });
  git(dir, env, ['init', '-q', '-b', 'main']);
  const parts: string[] = [];
  const t0 = 1_700_000_000;
  for (let c = 1; c <= commits; c++) {
    parts.push(`commit refs/heads/main\nmark :${c}\ncommitter Bench <b@e> ${t0 + c * 60} +0000\ndata 12\nchange ${String(c).padStart(5, '0')}\n`);
    if (c > 1) parts.push(`from :${c - 1}\n`);
    for (let f = 0; f < (c === 1 ? 40 : 3); f++) {
      const file = c === 1 ? f : (c * 7 + f * 13) % 40;
      let body = '';
      for (let l = 0; l < 60; l++) body += `line ${l} of file ${file}, version ${l % 5 === c % 5 ? c : 0}\n`;
      parts.push(`M 100644 inline src/mod${file}.py\ndata ${Buffer.byteLength(body)}\n${body}\n`);
    }
  }
  const r = spawnSync('git', ['fast-import', '--quiet'], { cwd: dir, env, input: parts.join('') });
  if (r.status !== 0) throw new Error(`fast-import: ${r.stderr}`);
  git(dir, env, ['checkout', '-q', '-f', 'main']);
}

function packsText(dir: string): string {
  const names = readdirSync(join(dir, '.git', 'objects', 'pack'));
  const packs = names.filter((n) => n.endsWith('.pack'));
  const kept = names.filter((n) => n.endsWith('.keep'));
  return `${packs.length} packs (${kept.length} kept), ${fmtBytes(dirBytes(join(dir, '.git', 'objects')))} of objects`;
}

export async function main(argv: readonly string[]): Promise<void> {
  const { flags } = parseArgs(argv);
  const mib = Number(flags.mib ?? 256);
  const nPoints = Number(flags.points ?? 10);
  const commits = Number(flags.commits ?? 2000);
  const runs = Number(flags.runs ?? 3);
  const keep = flags.keep === 'true';
  const facts = machine();
  const { base, env, cleanup } = benchEnv('gc');
  try {
    const without = join(base, 'without');
    codeHistory(without, env, commits);
    git(without, env, ['gc', '-q']); // start from a packed history, as a real clone has
    log(`code history: ${commits} commits, ${packsText(without)}`);

    const withDir = join(base, 'with');
    execFileSync('cp', ['-a', without, withDir]);
    const dump = join(base, 'dump.txt');
    writeFileSync(join(withDir, '.rollbackrc.yaml'), `databases:\n  main: { engine: command, dump: "cat '${dump}'", restore: "cat > /dev/null" }\n`);
    git(withDir, env, ['add', '.rollbackrc.yaml']);
    git(withDir, env, ['commit', '-q', '-m', 'rollback config']);
    git(without, env, ['commit', '-q', '--allow-empty', '-m', 'rollback config']); // same number of commits
    const points: TreeRun[] = [];
    for (let i = 0; i < nPoints; i++) {
      writeDump(dump, mib, i);
      points.push(mustTree(await rollbackTree(['point', `db point ${i + 1}`], { cwd: withDir, env }), 'git rollback point'));
      log(`point ${i + 1}/${nPoints}: ${fmtMs(points[i]!.ms)}; ${packsText(withDir)}; load ${loadNow()}`);
    }
    git(withDir, env, ['fsck', '--no-progress', '--no-dangling']);
    const nodb = join(base, 'nodb');
    execFileSync('cp', ['-a', without, nodb]);
    for (let i = 0; i < nPoints; i++) mustTree(await rollbackTree(['point', `point ${i + 1}`], { cwd: nodb, env }), 'git rollback point (no database)');
    const unkept = join(base, 'unkept');
    execFileSync('cp', ['-a', withDir, unkept]);
    for (const n of readdirSync(join(unkept, '.git', 'objects', 'pack'))) if (n.endsWith('.keep')) rmSync(join(unkept, '.git', 'objects', 'pack', n));

    const repos = { without, nodb, with: withDir, unkept } as const;
    const times: Record<keyof typeof repos, TreeRun[]> = { without: [], nodb: [], with: [], unkept: [] };
    const after: Record<string, string> = {};
    for (let i = 0; i < runs; i++) {
      for (const name of Object.keys(repos) as (keyof typeof repos)[]) {
        const copy = join(base, `run-${name}`);
        rmSync(copy, { recursive: true, force: true });
        execFileSync('cp', ['-a', repos[name], copy]);
        const r = mustTree(await timedTree('git', ['gc', '--quiet'], { cwd: copy, env }), `git gc (${name})`);
        times[name].push(r);
        after[name] = packsText(copy);
        log(`git gc, ${name}: ${fmtMs(r.ms)}; after: ${after[name]}; load ${loadNow()}`);
        if (i === runs - 1) git(copy, env, ['fsck', '--no-progress', '--no-dangling']);
        rmSync(copy, { recursive: true, force: true });
      }
    }
    const ms = (name: keyof typeof repos) => median(times[name].map((r) => r.ms));
    const range = (name: keyof typeof repos) => `${fmtMs(Math.min(...times[name].map((r) => r.ms)))} – ${fmtMs(Math.max(...times[name].map((r) => r.ms)))}`;
    const ratio = ms('with') / ms('without');
    const md = [
      `### git gc with and without database points (${facts.date})`,
      '',
      `Machine: ${facts.cpus}, ${facts.memory}; node ${facts.node}; git ${facts.git}; ${facts.kernel}; load at start ${facts['load (1/5/15 min) at start']}, at end ${loadNow()}; git-rollback ${facts['git-rollback commit']}.`,
      `Command: \`node --import tsx bench/gc.ts --mib ${mib} --points ${nPoints} --commits ${commits} --runs ${runs}\`. Medians of ${runs} runs of \`git gc --quiet\`, each on a fresh copy.`,
      '',
      `Code history: ${commits} commits; database: ${nPoints} points of a ${mib} MiB dump (md5 text), 1% rewritten between points; points took ${fmtMs(median(points.map((p) => p.ms)))} (median).`,
      '',
      mdTable(
        ['repository', 'before gc', '`git gc` median', 'min – max', 'ratio to without points', 'after gc', 'goal'],
        [
          ['without points (anchor)', packsText(without), fmtMs(ms('without')), range('without'), '1.00×', after.without ?? '', ''],
          [`${nPoints} points without a database`, packsText(nodb), fmtMs(ms('nodb')), range('nodb'), `${(ms('nodb') / ms('without')).toFixed(2)}×`, after.nodb ?? '', ''],
          [`with ${nPoints} points (dump packs kept)`, packsText(withDir), `**${fmtMs(ms('with'))}**`, range('with'), `**${ratio.toFixed(2)}×**`, after.with ?? '', `≤ 1.00× ${ratio <= 1.0 ? '✓' : ratio <= 1.1 ? '≈ (within noise)' : '✗'}`],
          ['same points, `.keep` removed (any store without it)', packsText(unkept), fmtMs(ms('unkept')), range('unkept'), `${(ms('unkept') / ms('without')).toFixed(2)}×`, after.unkept ?? '', ''],
        ],
      ),
      '',
      `With the points but not their dumps counted (${nPoints} points without a database as the anchor): ${(ms('with') / ms('nodb')).toFixed(2)}×. What gc reads of the dumps is the snapshot trees (one entry per ~1 MiB chunk), never the chunks.`,
    ].join('\n');
    process.stdout.write(md + '\n');
    log(`saved ${saveResult('gc', md, { facts, mib, nPoints, commits, times, points })}`);
  } finally {
    if (keep) log(`kept ${base}`);
    else cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main(process.argv.slice(2));
}
