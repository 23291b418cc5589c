// Benchmark: SQLite points and rollbacks against sqlite3's own `.backup` and
// cp (issue 10).
//
//   npm run build && node --import tsx bench/sqlite.ts [--mib 300] [--runs 3] [--keep] [--baseline OTHER/bin/git-rollback.js]
//   npm run bench -- sqlite
//
// Makes a SQLite database of --mib MiB of random 64 KiB blobs (nothing
// compresses), then, each run side by side (anchor first, then ours):
//   first point:      `sqlite3 DB ".backup copy"`  vs `git rollback point` in a fresh repository   (goal ≤ 2×)
//   unchanged repeat: `sqlite3 DB ".backup copy"`  vs `git rollback point` again, nothing changed  (goal ≤ 1×)
//   rollback:         `cp DB copy`                 vs `git rollback to P --only db:local --yes`
//                     after one row changed                                                       (goal ≤ 2×)
//                     timed twice: until the live file is the target (its inode changes: the
//                     rename of the staged copy, polled every ms), and the whole command, which
//                     goes on to store the backup of the previous file after that swap
// CPU time (user + system, the command and its children) is given beside the wall time.
// With --baseline, another build's first point too, in a fresh repository of its own in the same
// runs (before ours in even runs, after it in odd ones): a before/after at one load.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { join, resolve } from 'node:path';
import { benchEnv, fmtBytes, fmtMs, git, loadNow, log, machine, mdTable, median, mustTree, parseArgs, rollbackTree, saveResult, timedTree, type TreeRun } from './lib.js';
import { pointTag } from './postgres.js';

function makeRepo(dir: string, env: NodeJS.ProcessEnv, dbFile: string): void {
  mkdirSync(join(dir, 'data'), { recursive: true });
  git(dir, env, ['init', '-q', '-b', 'main']);
  writeFileSync(join(dir, '.gitignore'), 'data/\n');
  writeFileSync(join(dir, '.rollbackrc.yaml'), 'databases:\n  local: { engine: sqlite, path: data/app.db }\n');
  git(dir, env, ['add', '.']);
  git(dir, env, ['commit', '-q', '-m', 'bench repo']);
  execFileSync('cp', [dbFile, join(dir, 'data', 'app.db')]);
}

export async function main(argv: readonly string[]): Promise<void> {
  const { flags } = parseArgs(argv);
  const mib = Number(flags.mib ?? 300);
  const runs = Number(flags.runs ?? 3);
  const keep = flags.keep === 'true';
  const baseline = flags.baseline ? resolve(flags.baseline) : null;
  const facts = machine();
  const { base, env, cleanup } = benchEnv('sqlite');
  try {
    const master = join(base, 'master.db');
    const blobs = Math.ceil((mib * 1024 * 1024) / 65536);
    execFileSync('sqlite3', [master, `PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT ${blobs}) INSERT INTO t SELECT x, randomblob(65536) FROM c;`], { stdio: 'ignore' });
    const size = statSync(master).size;
    log(`database ${fmtBytes(size)}; load ${loadNow()}`);
    const rows: Record<string, TreeRun[]> = { backup: [], first: [], baseFirst: [], backup2: [], again: [], cp: [], to: [] };
    const live_: number[] = [];
    for (let i = 0; i < runs; i++) {
      const repo = join(base, `repo-${i}`);
      makeRepo(repo, env, master);
      const live = join(repo, 'data', 'app.db');
      const copy = join(base, 'copy.db');
      rmSync(copy, { force: true });
      rows.backup!.push(mustTree(await timedTree('sqlite3', [live, `.backup '${copy}'`], { cwd: base, env }), 'sqlite3 .backup'));
      const baselinePoint = async () => {
        if (!baseline) return;
        const other = join(base, `repo-${i}-baseline`);
        makeRepo(other, env, master);
        rows.baseFirst!.push(mustTree(await rollbackTree(['point', 'first'], { cwd: other, env, bin: baseline }), 'baseline point'));
        rmSync(other, { recursive: true, force: true });
      };
      if (i % 2 === 0) await baselinePoint();
      const first = mustTree(await rollbackTree(['point', 'first'], { cwd: repo, env }), 'git rollback point');
      rows.first!.push(first);
      if (i % 2 === 1) await baselinePoint();
      rmSync(copy, { force: true });
      rows.backup2!.push(mustTree(await timedTree('sqlite3', [live, `.backup '${copy}'`], { cwd: base, env }), 'sqlite3 .backup'));
      rows.again!.push(mustTree(await rollbackTree(['point', 'again'], { cwd: repo, env }), 'git rollback point (unchanged)'));
      execFileSync('sqlite3', [live, 'UPDATE t SET b = randomblob(65536) WHERE id = 7;']);
      rmSync(copy, { force: true });
      rows.cp!.push(mustTree(await timedTree('cp', [live, copy], { cwd: base, env }), 'cp'));
      // Until the live path names another file (the swap's rename), then the whole command.
      const before = statSync(live).ino;
      let swappedAt: number | null = null;
      const t0 = performance.now();
      const poll = setInterval(() => {
        if (swappedAt === null && statSync(live, { throwIfNoEntry: false })?.ino !== before) swappedAt = performance.now() - t0;
      }, 1);
      const to = await rollbackTree(['to', pointTag(first), '--only', 'db:local', '--yes'], { cwd: repo, env }).finally(() => clearInterval(poll));
      rows.to!.push(mustTree(to, 'git rollback to'));
      if (swappedAt === null) throw new Error('git rollback to never swapped the live file');
      live_.push(swappedAt);
      log(
        `run ${i + 1}: .backup ${fmtMs(rows.backup![i]!.ms)} / first point ${fmtMs(first.ms)}${baseline ? ` (baseline ${fmtMs(rows.baseFirst![i]!.ms)})` : ''}; .backup ${fmtMs(rows.backup2![i]!.ms)} / unchanged point ${fmtMs(rows.again![i]!.ms)}; cp ${fmtMs(rows.cp![i]!.ms)} / to: live ${fmtMs(live_[i]!)}, whole ${fmtMs(rows.to![i]!.ms)}; load ${loadNow()}`,
      );
      git(repo, env, ['fsck', '--no-progress', '--no-dangling']);
      rmSync(repo, { recursive: true, force: true });
    }
    const m = (k: string) => median(rows[k]!.map((r) => r.ms));
    const cpu = (k: string) => {
      const xs = rows[k]!.map((r) => r.cpuMs).filter((x): x is number => x !== null);
      return xs.length ? ` (CPU ${fmtMs(median(xs))})` : '';
    };
    const line = (what: string, anchor: string, a: string, o: string, goal: number, ours = m(o), ourCpu = cpu(o)) => {
      const ratio = ours / m(a);
      return [what, `${anchor}: ${fmtMs(m(a))}${cpu(a)}`, `**${fmtMs(ours)}**${ourCpu}`, `**${ratio.toFixed(2)}×**`, `≤ ${goal.toFixed(2)}× ${ratio <= goal ? '✓' : '✗'}`];
    };
    const md = [
      `### SQLite: point and rollback vs .backup and cp (${facts.date})`,
      '',
      `Machine: ${facts.cpus}, ${facts.memory}; node ${facts.node}; git ${facts.git}; ${execFileSync('sqlite3', ['--version'], { encoding: 'utf8' }).split(' ')[0]} (sqlite3); ${facts.kernel}; load at start ${facts['load (1/5/15 min) at start']}, at end ${loadNow()}; git-rollback ${facts['git-rollback commit']}.`,
      `Command: \`node --import tsx bench/sqlite.ts --mib ${mib} --runs ${runs}${baseline ? ' --baseline …' : ''}\`. Database: ${fmtBytes(size)} of random 64 KiB blobs (WAL mode), copied into the repository just before the first point. Medians of ${runs} runs, anchor and ours side by side in each; CPU = user + system of the command and its children.`,
      '',
      mdTable(
        ['what', 'anchor', 'git-rollback', 'ratio', 'goal'],
        [
          line('first point (fresh repository)', '`sqlite3 DB ".backup copy"`', 'backup', 'first', 2),
          ...(baseline ? [line(`… baseline build (\`${baseline.replace(/\/bin\/git-rollback\.js$/, '')}\`), same runs`, '`sqlite3 DB ".backup copy"`', 'backup', 'baseFirst', 2)] : []),
          line('point again, nothing changed', '`sqlite3 DB ".backup copy"`', 'backup2', 'again', 1),
          line('`to P --only db:local --yes` after one row changed: until the live file is the target', '`cp DB copy`', 'cp', 'to', 2, median(live_), ''),
          line('… the whole `to`, the backup of the previous file stored after the swap', '`cp DB copy`', 'cp', 'to', 2),
        ],
      ),
    ].join('\n');
    process.stdout.write(md + '\n');
    log(`saved ${saveResult('sqlite', md, { facts, size, rows, liveMs: live_ })}`);
  } finally {
    if (keep) log(`kept ${base}`);
    else cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main(process.argv.slice(2));
}
