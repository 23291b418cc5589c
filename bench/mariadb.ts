// Benchmark: MariaDB points and the swap window of a rollback (issue 10).
//
//   npm run build && node --import tsx bench/mariadb.ts [--rows 60000] [--runs 5] [--keep] [--baseline OTHER/bin/git-rollback.js]
//   npm run bench -- mariadb
//
// Makes a database whose `mariadb-dump` is ~6 MiB (--rows rows of ~100
// bytes) with a one-row table `marker`, then each run, side by side:
//   point:  `mariadb-dump --single-transaction DB > file`  vs  `git rollback point` (fresh
//           repository); overhead = point − dump (goal ≤ 0.3 s); with --baseline,
//           another build's point too, in the same runs (a before/after at one load)
//   swap:   `git rollback to P --only db:main --yes` while an application (one
//           mariadb session, reconnecting like a pool) reads `marker` every
//           10 ms: the swap window = longest time without an answer while `to`
//           runs (goal ≤ 0.5 s); and when the reader first sees the point's data.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchEnv, fmtMs, git, loadNow, log, longestGap, machine, mdTable, median, mustTree, parseArgs, probe, rollbackTree, saveResult, startServers, timedTree, withDatabase, type TreeRun } from './lib.js';
import { pointTag } from './postgres.js';

interface My {
  args: string[];
  env: NodeJS.ProcessEnv;
  url: string;
}

function my(url: string, env: NodeJS.ProcessEnv): My {
  const u = new URL(url);
  return { url, args: ['-h', u.hostname, '-P', u.port || '3306', '-u', decodeURIComponent(u.username)], env: { ...env, MYSQL_PWD: decodeURIComponent(u.password) } };
}

function sql(m: My, db: string | null, text: string): string {
  return execFileSync('mariadb', [...m.args, '-N', '-B', ...(db ? [db] : []), '-e', text], { env: m.env, encoding: 'utf8', maxBuffer: 1 << 26 }).trim();
}

export async function main(argv: readonly string[]): Promise<void> {
  const { flags } = parseArgs(argv);
  const nRows = Number(flags.rows ?? 60_000);
  const runs = Number(flags.runs ?? 5);
  const keep = flags.keep === 'true';
  const baseline = flags.baseline ? resolve(flags.baseline) : null;
  const facts = machine();
  const { base, env, cleanup } = benchEnv('mariadb');
  const servers = flags.url ? null : startServers();
  const m = my(flags.url ?? servers!.mysqlUrl, env);
  const db = `bench_my_${process.pid}`;
  try {
    sql(m, null, `CREATE DATABASE ${db}`);
    sql(m, db, `CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(64), price DECIMAL(10,2), note VARCHAR(64)); CREATE TABLE marker (v VARCHAR(16)); INSERT INTO marker VALUES ('target');`);
    sql(m, db, `INSERT INTO items SELECT seq, CONCAT('item ', seq), seq % 1000 + 0.99, MD5(seq) FROM seq_1_to_${nRows}`);
    const dumpFile = join(base, 'dump.sql');
    const { MYSQL_PWD: _pw, ...rest } = m.env;
    const rbEnv: NodeJS.ProcessEnv = { ...rest, BENCH_MYSQL_URL: withDatabase(m.url, db) };
    const version = sql(m, null, 'SELECT VERSION()');
    const dumps: TreeRun[] = [];
    const points: TreeRun[] = [];
    const basePoints: TreeRun[] = [];
    const tos: TreeRun[] = [];
    const windows: number[] = [];
    const seenAt: number[] = [];
    let dumpBytes = 0;
    for (let i = 0; i < runs; i++) {
      const d = mustTree(await timedTree('mariadb-dump', [...m.args, '--single-transaction', db], { cwd: base, env: m.env, stdoutFile: dumpFile }), 'mariadb-dump');
      dumps.push(d);
      dumpBytes = Number(execFileSync('stat', ['-c', '%s', dumpFile], { encoding: 'utf8' }));
      const repo = join(base, `repo-${i}`);
      mkdirSync(repo);
      git(repo, rbEnv, ['init', '-q', '-b', 'main']);
      writeFileSync(join(repo, '.rollbackrc.yaml'), 'databases:\n  main: { engine: mysql, url: "${BENCH_MYSQL_URL}" }\n');
      git(repo, rbEnv, ['add', '.']);
      git(repo, rbEnv, ['commit', '-q', '-m', 'bench']);
      if (baseline) {
        // The baseline build's point first in even runs, ours first in odd ones; its repository is thrown away.
        const other = join(base, `repo-${i}-baseline`);
        mkdirSync(other);
        git(other, rbEnv, ['init', '-q', '-b', 'main']);
        writeFileSync(join(other, '.rollbackrc.yaml'), 'databases:\n  main: { engine: mysql, url: "${BENCH_MYSQL_URL}" }\n');
        git(other, rbEnv, ['add', '.']);
        git(other, rbEnv, ['commit', '-q', '-m', 'bench']);
        if (i % 2 === 0) basePoints.push(mustTree(await rollbackTree(['point', 'target'], { cwd: other, env: rbEnv, bin: baseline }), 'baseline point'));
        const p0 = mustTree(await rollbackTree(['point', 'target'], { cwd: repo, env: rbEnv }), 'git rollback point');
        if (i % 2 === 1) basePoints.push(mustTree(await rollbackTree(['point', 'target'], { cwd: other, env: rbEnv, bin: baseline }), 'baseline point'));
        points.push(p0);
        rmSync(other, { recursive: true, force: true });
      } else points.push(mustTree(await rollbackTree(['point', 'target'], { cwd: repo, env: rbEnv }), 'git rollback point'));
      const p = points[i]!;
      sql(m, db, `UPDATE marker SET v = 'current'; UPDATE items SET price = price + 1 WHERE id <= ${Math.ceil(nRows / 100)}`);
      const reader = probe('mariadb', [...m.args, '-N', '-B', '-n', '--force', db], m.env, 'SELECT v FROM marker;', 10);
      await new Promise((r) => setTimeout(r, 300));
      const start = performance.now() - reader.t0;
      const to = mustTree(await rollbackTree(['to', pointTag(p), '--only', 'db:main', '--yes'], { cwd: repo, env: rbEnv }), 'git rollback to');
      await new Promise((r) => setTimeout(r, 100));
      await reader.stop();
      tos.push(to);
      windows.push(longestGap(reader, start, start + to.ms));
      const seen = reader.answers.find((a) => a.at >= start && a.value === 'target');
      seenAt.push(seen ? seen.at - start : NaN);
      log(`run ${i + 1}: dump ${fmtMs(d.ms)}, point ${fmtMs(p.ms)} (overhead ${fmtMs(p.ms - d.ms)}${baseline ? `; baseline ${fmtMs(basePoints[i]!.ms)}` : ''}); to ${fmtMs(to.ms)}, longest gap ${fmtMs(windows[i]!)}, target seen after ${fmtMs(seenAt[i]!)}, failed reads ${reader.failures.length}; load ${loadNow()}`);
      for (const name of sql(m, null, `SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE '${db}\\_%'`).split('\n').filter(Boolean)) sql(m, null, `DROP DATABASE \`${name}\``);
      rmSync(repo, { recursive: true, force: true });
    }
    const med = (xs: number[]) => median(xs);
    const overhead = med(points.map((p, i) => p.ms - dumps[i]!.ms));
    const cpu = (runs: TreeRun[]) => (runs.every((r) => r.cpuMs !== null) ? fmtMs(med(runs.map((r) => r.cpuMs!))) : '—');
    const baselineName = baseline ? baseline.replace(/\/bin\/git-rollback\.js$/, '') : '';
    const md = [
      `### MariaDB: point overhead and swap window (${facts.date})`,
      '',
      `Machine: ${facts.cpus}, ${facts.memory}; node ${facts.node}; git ${facts.git}; MariaDB ${version} (scripts/test-servers.sh); ${facts.kernel}; load at start ${facts['load (1/5/15 min) at start']}, at end ${loadNow()}; git-rollback ${facts['git-rollback commit']}.`,
      `Command: \`node --import tsx bench/mariadb.ts --rows ${nRows} --runs ${runs}${baseline ? ' --baseline …' : ''}\`. Dump ${(dumpBytes / 1024 / 1024).toFixed(1)} MiB. Medians of ${runs} runs; a mariadb session reads \`marker\` every 10 ms during \`to\`.`,
      '',
      mdTable(
        ['what', 'anchor', 'git-rollback', 'difference / ratio', 'goal'],
        [
          ['point', `\`mariadb-dump --single-transaction\`: ${fmtMs(med(dumps.map((d) => d.ms)))}`, `**${fmtMs(med(points.map((p) => p.ms)))}**`, `**+${fmtMs(overhead)}** (${(med(points.map((p) => p.ms)) / med(dumps.map((d) => d.ms))).toFixed(2)}×)`, `≤ +300 ms ${overhead <= 300 ? '✓' : '✗'}`],
          ['CPU time of the point (user + system, all processes)', cpu(dumps), cpu(points), '', ''],
          ...(baseline
            ? [[`point, baseline build (\`${baselineName}\`), same runs`, '', `${fmtMs(med(basePoints.map((p) => p.ms)))}; CPU ${cpu(basePoints)}`, `+${fmtMs(med(basePoints.map((p, i) => p.ms - dumps[i]!.ms)))}`, '']]
            : []),
          ['swap window: longest time without an answer during `to`', '', `**${fmtMs(med(windows))}**`, '', `≤ 500 ms ${med(windows) <= 500 ? '✓' : '✗'}`],
          ['whole `to --only db:main --yes`', '', fmtMs(med(tos.map((t) => t.ms))), '', ''],
          ['reader first sees the point\'s data after', '', fmtMs(med(seenAt.filter((x) => !Number.isNaN(x)))), '', ''],
        ],
      ),
    ].join('\n');
    process.stdout.write(md + '\n');
    log(`saved ${saveResult('mariadb', md, { facts, dumps, points, basePoints, tos, windows, seenAt })}`);
  } finally {
    try {
      sql(m, null, `DROP DATABASE IF EXISTS ${db}`);
    } catch {
      // the server may be gone
    }
    if (!keep) servers?.stop();
    if (keep) log(`kept ${base}`);
    else cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main(process.argv.slice(2));
}
