// Benchmark: a PostgreSQL database in points and rollbacks, against the raw
// tools (issue 3).
//
//   npm run build && node --import tsx bench/postgres.ts [--scale 35] [--runs 3] [--points 10] [--scattered 3] [--data pgbench,md5] [--keep]
//   npm run bench -- postgres
//
// Starts throw-away servers with scripts/test-servers.sh (own state dir and
// ports, so it does not disturb the test servers), or uses --url
// postgres://user:pass@host:port/postgres. For each --data it creates a
// pgbench database (pgbench -i -s 35: ~530 MB; `pgbench` as generated, whose
// blank filler compresses ~35×, and `md5`, the same tables refilled with a
// distinct md5 per row, closer to real data), then measures, each as the
// median of --runs:
//   1. `pg_dump -Fc -d DB > file` alone             vs  `git rollback point` (fresh repository each run)
//   2. `createdb` + `pg_restore -j2` of that file    vs  `git rollback to <point> --only db:main --yes`
//      (and its database steps, from `to --json`)
//   3. peak RSS of the git-rollback node process (its own getrusage) and of
//      every child (git, pg_dump, pg_restore: /proc VmHWM sampled every 100 ms)
//   4. repository growth over --points points with 1% of pgbench_accounts rows
//      updated between points (one contiguous range each time), no `git gc`;
//      and over --scattered points with 1% updated as every 100th row.
// Every database it makes is dropped at the end; the servers are stopped.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  benchEnv,
  dirBytes,
  fmtBytes,
  fmtMiB,
  fmtMs,
  git,
  loadNow,
  log,
  machine,
  mdTable,
  median,
  mustTree,
  parseArgs,
  ROOT,
  rollbackTree,
  saveResult,
  startServers,
  timedTree,
  type TreeRun,
} from './lib.js';

export interface Pg {
  url: URL;
  env: NodeJS.ProcessEnv;
  args: string[];
  stop: () => void;
}

function startPg(env: NodeJS.ProcessEnv): Pg {
  const servers = startServers();
  const pg = connect(servers.pgUrl, env);
  pg.stop = () => servers.stop();
  return pg;
}

export function connect(raw: string, env: NodeJS.ProcessEnv): Pg {
  const url = new URL(raw);
  const pgEnv = { ...env, PGPASSWORD: decodeURIComponent(url.password), PGCONNECT_TIMEOUT: '10', PGOPTIONS: '-c client_min_messages=warning' };
  const args = ['-h', url.hostname, '-p', url.port || '5432', '-U', decodeURIComponent(url.username)];
  return { url, env: pgEnv, args, stop: () => undefined };
}

export function psql(pg: Pg, db: string, sql: string): string {
  return execFileSync('psql', ['-X', '-w', '-q', '-At', '-v', 'ON_ERROR_STOP=1', ...pg.args, '-d', db, '-c', sql], { env: pg.env, encoding: 'utf8', maxBuffer: 1 << 26 }).trim();
}

export function dbUrl(pg: Pg, db: string): string {
  const u = new URL(pg.url.href);
  u.pathname = `/${db}`;
  return u.href;
}

/** A repository whose config snapshots the database `db` as `main`. */
function makeRepo(dir: string, env: NodeJS.ProcessEnv): void {
  mkdirSync(dir, { recursive: true });
  git(dir, env, ['init', '-q', '-b', 'main']);
  writeFileSync(join(dir, '.rollbackrc.yaml'), 'databases:\n  main: { engine: postgres, url: "${BENCH_PG_URL}" }\n');
  writeFileSync(join(dir, 'README.md'), '# bench\n');
  git(dir, env, ['add', '.']);
  git(dir, env, ['commit', '-q', '-m', 'bench repo']);
}

export function pointTag(run: TreeRun): string {
  const m = /Made point (\S+)/.exec(run.stdout + run.stderr);
  if (!m) throw new Error(`no point tag in the output of git rollback point:\n${run.stdout}\n${run.stderr}`);
  return m[1] as string;
}

function peaksText(peaks: Record<string, number>): string {
  return Object.entries(peaks)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${fmtMiB(v / 1024)}`)
    .join(', ');
}

const med = (runs: readonly TreeRun[]) => median(runs.map((r) => r.ms));
const maxSelf = (runs: readonly TreeRun[]) => Math.max(...runs.map((r) => r.selfRssKiB ?? 0)) / 1024;
function mergePeaks(runs: readonly TreeRun[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.peaks)) out[k] = Math.max(out[k] ?? 0, v);
  return out;
}
const range = (runs: readonly TreeRun[]) => `${fmtMs(Math.min(...runs.map((r) => r.ms)))} – ${fmtMs(Math.max(...runs.map((r) => r.ms)))}`;

const RESTIC = process.env.BENCH_RESTIC ?? 'restic';

const DATA_TEXT: Record<string, string> = {
  pgbench: '`pgbench -i -s SCALE` as is (blank filler, zero balances: the dump compresses ~35×)',
  md5: '`pgbench -i -s SCALE`, then pgbench_accounts refilled with an md5 per row in the filler and random balances (the dump compresses far less, like real data)',
};

interface DatasetOptions {
  data: string;
  scale: number;
  runs: number;
  nPoints: number;
  nScattered: number;
  base: string;
}

/** Makes one database, measures everything on it, drops it; returns its Markdown section. */
async function runDataset(pg: Pg, o: DatasetOptions): Promise<{ md: string; json: unknown }> {
  const { data, scale, runs, nPoints, nScattered, base } = o;
  const t0 = performance.now();
  const db = `bench_rollback_${process.pid}_${data}`;
  const rawDb = `${db}_raw`;
  const pgEnv = pg.env;
  // git-rollback gets the password from the URL only.
  const { PGPASSWORD: _pw, ...rest } = pgEnv;
  const rbEnv: NodeJS.ProcessEnv = { ...rest, BENCH_PG_URL: dbUrl(pg, db) };
  try {
    // 1. The database.
    psql(pg, 'postgres', `CREATE DATABASE ${db}`);
    const init = mustTree(await timedTree('pgbench', ['-i', '-s', String(scale), '-q', ...pg.args, db], { cwd: base, env: pgEnv }), 'pgbench -i');
    if (data === 'md5') {
      // pgbench's filler is blank and its balances zero: its dump compresses
      // ~35×, which makes pg_dump -Fc cheap and sizes tiny. Here every row
      // gets a distinct md5 in the filler and a random balance.
      psql(pg, db, `TRUNCATE pgbench_accounts; INSERT INTO pgbench_accounts SELECT g, (g - 1) / 100000 + 1, (random() * 200000)::int - 100000, md5(g::text) FROM generate_series(1, ${scale * 100_000}) g`);
      psql(pg, db, 'VACUUM ANALYZE pgbench_accounts');
      init.ms = performance.now() - t0;
    }
    const dbSize = Number(psql(pg, 'postgres', `SELECT pg_database_size('${db}')`));
    const rows = Number(psql(pg, db, 'SELECT count(*) FROM pgbench_accounts'));
    log(`[${data}] database made in ${fmtMs(init.ms)}: ${fmtBytes(dbSize)}, ${rows} accounts`);

    // 2. Raw dump, the way users back up by hand.
    const rawFile = join(base, 'raw.dump');
    const rawDumps: TreeRun[] = [];
    for (let i = 0; i < runs; i++) {
      rawDumps.push(mustTree(await timedTree('pg_dump', ['-w', '-Fc', ...pg.args, '-d', db], { cwd: base, env: pgEnv, stdoutFile: rawFile }), 'pg_dump -Fc'));
      log(`pg_dump -Fc: ${fmtMs(rawDumps[i]!.ms)}; load ${loadNow()}`);
    }
    const rawSize = statSync(rawFile).size;
    const tarFile = join(base, 'raw.tar');
    const tarDump = mustTree(await timedTree('pg_dump', ['-w', '-Fp', ...pg.args, '-d', db], { cwd: base, env: pgEnv, stdoutFile: tarFile }), 'pg_dump -Fp');
    const tarSize = statSync(tarFile).size;
    log(`pg_dump -Fc ${fmtBytes(rawSize)}; pg_dump -Fp ${fmtMs(tarDump.ms)}, ${fmtBytes(tarSize)}`);

    // 3. git rollback point, each in a fresh repository (the first dump: nothing to reuse), then
    // again with the database unchanged; side by side (alternating who goes first) with the anchor
    // of issue 10: `pg_dump | restic backup --stdin` into a fresh restic repository, then again.
    const points: TreeRun[] = [];
    const agains: TreeRun[] = [];
    const restics: TreeRun[] = [];
    const resticAgains: TreeRun[] = [];
    let repo = '';
    let tag = '';
    const [h0, p0, , u0] = [pg.args[1], pg.args[3], null, pg.args[5]];
    const pgDumpPlain = `pg_dump -w -Fp -h ${h0} -p ${p0} -U ${u0} -d ${db}`;
    for (let i = 0; i < runs; i++) {
      const order = i % 2 === 0 ? ['restic', 'ours'] : ['ours', 'restic'];
      for (const who of order) {
        if (who === 'restic') {
          const rrepo = join(base, `restic-${i}`);
          const renv = { ...pgEnv, RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: rrepo, RESTIC_CACHE_DIR: join(base, 'restic-cache') };
          execFileSync(RESTIC, ['init', '-q'], { env: renv, stdio: 'ignore' });
          const cmd = `set -o pipefail; ${pgDumpPlain} | ${RESTIC} backup -q --stdin --stdin-filename ${db}.sql`;
          restics.push(mustTree(await timedTree('bash', ['-c', cmd], { cwd: base, env: renv }), 'pg_dump | restic backup --stdin'));
          resticAgains.push(mustTree(await timedTree('bash', ['-c', cmd], { cwd: base, env: renv }), 'pg_dump | restic backup --stdin (again)'));
          log(`pg_dump | restic backup --stdin: first ${fmtMs(restics[restics.length - 1]!.ms)}, again ${fmtMs(resticAgains[resticAgains.length - 1]!.ms)}; load ${loadNow()}`);
          cleanupRepo(rrepo);
        } else {
          if (repo) cleanupRepo(repo);
          repo = join(base, `repo-point-${i}`);
          makeRepo(repo, rbEnv);
          const r = mustTree(await rollbackTree(['point', `bench ${i}`], { cwd: repo, env: rbEnv }), 'git rollback point');
          tag = pointTag(r);
          points.push(r);
          const a = mustTree(await rollbackTree(['point', 'unchanged'], { cwd: repo, env: rbEnv }), 'git rollback point (unchanged)');
          agains.push(a);
          log(`git rollback point: ${fmtMs(r.ms)}, again ${fmtMs(a.ms)}, self RSS ${fmtMiB((r.selfRssKiB ?? 0) / 1024)}; ${peaksText(r.peaks)}; repo ${fmtBytes(dirBytes(join(repo, '.git')))}; load ${loadNow()}`);
        }
      }
    }
    const again = agains[agains.length - 1]!;

    // 4. Raw restore: createdb + pg_restore -j2 of the -Fc file.
    const rawRestores: TreeRun[] = [];
    for (let i = 0; i < runs; i++) {
      psql(pg, 'postgres', `DROP DATABASE IF EXISTS ${rawDb}`);
      const [h, p, , u] = [pg.args[1], pg.args[3], null, pg.args[5]];
      const script = `createdb -w -h ${h} -p ${p} -U ${u} ${rawDb} && pg_restore -w -j2 -h ${h} -p ${p} -U ${u} -d ${rawDb} ${rawFile}`;
      rawRestores.push(mustTree(await timedTree('sh', ['-c', script], { cwd: base, env: pgEnv }), 'createdb + pg_restore -j2'));
      log(`createdb + pg_restore -j2: ${fmtMs(rawRestores[i]!.ms)}; load ${loadNow()}`);
    }
    psql(pg, 'postgres', `DROP DATABASE IF EXISTS ${rawDb}`);
    // The like-for-like single-job restore (what a tar archive allows).
    const single = mustTree(
      await timedTree('sh', ['-c', `createdb -w ${pg.args.join(' ')} ${rawDb} && pg_restore -w ${pg.args.join(' ')} -d ${rawDb} ${rawFile}`], { cwd: base, env: pgEnv }),
      'createdb + pg_restore',
    );
    psql(pg, 'postgres', `DROP DATABASE IF EXISTS ${rawDb}`);
    log(`createdb + pg_restore (one job): ${fmtMs(single.ms)}`);

    // 5. git rollback to: backup point (a dump of the live database), then restore + swap.
    const tos: TreeRun[] = [];
    const steps: Record<string, number[]> = {};
    const dbRestore: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = mustTree(await rollbackTree(['to', tag, '--only', 'db:main', '--yes', '--json'], { cwd: repo, env: rbEnv }), 'git rollback to');
      tos.push(r);
      const out = JSON.parse(r.stdout) as { steps?: { kind?: string; title?: string; ms?: number }[]; keptDatabases?: string[] };
      let restore = 0;
      for (const s of out.steps ?? []) {
        const key = `${s.kind ?? '?'}: ${(s.title ?? '').replace(/\d{8}-\d{6}(-\d+)?/g, '<id>')}`;
        (steps[key] ??= []).push(s.ms ?? NaN);
        if (s.kind === 'database') restore += s.ms ?? 0;
      }
      dbRestore.push(restore);
      for (const kept of out.keptDatabases ?? []) psql(pg, 'postgres', `DROP DATABASE IF EXISTS "${kept}" WITH (FORCE)`);
      log(`git rollback to: ${fmtMs(r.ms)} (database steps ${fmtMs(restore)}), self RSS ${fmtMiB((r.selfRssKiB ?? 0) / 1024)}; ${peaksText(r.peaks)}; steps ${JSON.stringify(out.steps)}; load ${loadNow()}`);
    }
    const restoredRows = Number(psql(pg, db, 'SELECT count(*) FROM pgbench_accounts'));
    if (restoredRows !== rows) throw new Error(`after git rollback to, pgbench_accounts has ${restoredRows} rows, expected ${rows}`);
    cleanupRepo(repo);

    // 6. Growth over points with 1% of the rows changed between them, no git gc.
    const growth = async (label: string, n: number, change: (i: number) => string) => {
      const dir = join(base, `repo-growth-${label}`);
      makeRepo(dir, rbEnv);
      const objects = join(dir, '.git', 'objects');
      const before = dirBytes(objects);
      const out: { point: number; ms: number; total: number; added: number }[] = [];
      let last = before;
      for (let i = 0; i < n; i++) {
        if (i > 0) psql(pg as Pg, db, change(i));
        const r = mustTree(await rollbackTree(['point', `${label} ${i + 1}`], { cwd: dir, env: rbEnv }), 'git rollback point');
        const now = dirBytes(objects);
        out.push({ point: i + 1, ms: r.ms, total: now - before, added: now - last });
        log(`${label} point ${i + 1}: ${fmtMs(r.ms)}, objects +${fmtBytes(now - last)} (total ${fmtBytes(now - before)}); load ${loadNow()}`);
        last = now;
      }
      git(dir, rbEnv, ['fsck', '--no-progress', '--no-dangling']);
      cleanupRepo(dir);
      return out;
    };
    const onePct = Math.round(rows / 100);
    // A different contiguous range each time (as a batch job or recent records would).
    const contiguous = await growth('contiguous', nPoints, (i) => {
      const lo = ((i * 37) % 97) * onePct + 1;
      return `UPDATE pgbench_accounts SET abalance = abalance + ${i} WHERE aid BETWEEN ${lo} AND ${lo + onePct - 1}`;
    });
    // Every 100th row: touches every chunk of the dump (the worst case for deduplication).
    const scattered = nScattered > 0 ? await growth('scattered', nScattered, (i) => `UPDATE pgbench_accounts SET abalance = abalance + ${i} WHERE aid % 100 = ${i}`) : [];

    // Report.
    const total = performance.now() - t0;
    const rawDumpMs = med(rawDumps);
    const pointMs = med(points);
    const rawRestoreMs = med(rawRestores);
    const toMs = med(tos);
    const stepRows = Object.entries(steps).map(([k, v]) => [k, fmtMs(median(v))]);
    const restoreStepMs = median(dbRestore);
    const lastContig = contiguous[contiguous.length - 1];
    const md = [
      `#### Data: ${DATA_TEXT[data] ?? data}`,
      '',
      `${rows.toLocaleString('en-US')} accounts, ${fmtBytes(dbSize)} on disk (pg_database_size), made in ${fmtMs(init.ms)}. This part took ${fmtMs(total)}; load at its end ${loadNow()}.`,
      '',
      mdTable(
        ['what', 'command', 'median wall', 'min – max', 'ratio', 'goal'],
        [
          ['dump, raw', '`pg_dump -Fc -d DB > file`', fmtMs(rawDumpMs), range(rawDumps), '1.00×', ''],
          ['dump, raw (plain, the format git-rollback stores)', '`pg_dump -Fp -d DB > file` (1 run)', fmtMs(tarDump.ms), '', `${(tarDump.ms / rawDumpMs).toFixed(2)}×`, ''],
          ['point', '`git rollback point` (fresh repository)', `**${fmtMs(pointMs)}**`, range(points), `**${(pointMs / rawDumpMs).toFixed(2)}×**`, `≤ 1.25× ${pointMs / rawDumpMs <= 1.25 ? '✓' : '✗'}`],
          ['point, database unchanged', '`git rollback point` (second, same data)', fmtMs(med(agains)), range(agains), `${(med(agains) / rawDumpMs).toFixed(2)}×`, ''],
          ['anchor (issue 10): dump into restic', '`pg_dump -Fp \\| restic backup --stdin` (fresh restic repository)', fmtMs(med(restics)), range(restics), '', ''],
          ['point vs that anchor', '`git rollback point` / `pg_dump \\| restic backup --stdin`', '', '', `**${(pointMs / med(restics)).toFixed(2)}×**`, `≤ 1.00× ${pointMs / med(restics) <= 1 ? '✓' : '✗'}`],
          ['anchor, repeated: same data again into restic', '`pg_dump -Fp \\| restic backup --stdin` (second)', fmtMs(med(resticAgains)), range(resticAgains), '', ''],
          ['point unchanged vs that anchor', '`git rollback point` (second) / restic (second)', '', '', `**${(med(agains) / med(resticAgains)).toFixed(2)}×**`, `≤ 1.00× ${med(agains) / med(resticAgains) <= 1 ? '✓' : '✗'}`],
          ['restore, raw', '`createdb` + `pg_restore -j2 -d DB file`', fmtMs(rawRestoreMs), range(rawRestores), '1.00×', ''],
          ['restore, raw, one job', '`createdb` + `pg_restore -d DB file` (1 run)', fmtMs(single.ms), '', `${(single.ms / rawRestoreMs).toFixed(2)}×`, ''],
          [
            'rollback: the database part (stage + swap)',
            '`git rollback to P --only db:main --yes --json`, database steps',
            `**${fmtMs(restoreStepMs)}**`,
            '',
            `**${(restoreStepMs / rawRestoreMs).toFixed(2)}×**`,
            `≤ 1.25× ${restoreStepMs / rawRestoreMs <= 1.25 ? '✓' : '✗'}`,
          ],
          ['rollback: whole command', 'same, wall (includes the backup point)', fmtMs(toMs), range(tos), `${(toMs / rawRestoreMs).toFixed(2)}×`, ''],
        ],
      ),
      '',
      `Steps of \`git rollback to\` (medians, from \`--json\`):`,
      '',
      mdTable(['step', 'median'], stepRows),
      '',
      `Peak RSS (largest over the runs): git-rollback node process itself (getrusage) **point ${fmtMiB(maxSelf(points))}**, **to ${fmtMiB(maxSelf(tos))}** (goal ≤ ~150 MiB); whole process tree, per program (VmHWM sampled every 100 ms): point — ${peaksText(mergePeaks(points))}; to — ${peaksText(mergePeaks(tos))}; raw pg_dump — ${peaksText(mergePeaks(rawDumps))}.`,
      '',
      `Sizes: \`pg_dump -Fc\` file ${fmtBytes(rawSize)}; \`pg_dump -Fp\` file ${fmtBytes(tarSize)}; 10 separate -Fc files ≈ ${fmtBytes(rawSize * 10)}.`,
      '',
      `Repository growth (.git/objects, no \`git gc\`), ${nPoints} points, ${onePct.toLocaleString('en-US')} rows (1%) of pgbench_accounts updated between points as one contiguous aid range: total after ${nPoints} points **${fmtBytes(lastContig?.total ?? 0)} = ${((lastContig?.total ?? 0) / rawSize).toFixed(2)}× one -Fc dump** (goal ≤ 1.5× ${(lastContig?.total ?? 0) / rawSize <= 1.5 ? '✓' : '✗'}).`,
      '',
      mdTable(
        ['point', 'point wall', 'objects added', 'total'],
        contiguous.map((g) => [String(g.point), fmtMs(g.ms), fmtBytes(g.added), `${fmtBytes(g.total)} (${(g.total / rawSize).toFixed(2)}× -Fc)`]),
      ),
      '',
      ...(scattered.length
        ? [
            `Worst case, 1% updated as every 100th row (aid % 100 = i), ${nScattered} points: every chunk of the dump changes.`,
            '',
            mdTable(
              ['point', 'point wall', 'objects added', 'total'],
              scattered.map((g) => [String(g.point), fmtMs(g.ms), fmtBytes(g.added), `${fmtBytes(g.total)} (${(g.total / rawSize).toFixed(2)}× -Fc)`]),
            ),
          ]
        : []),
    ].join('\n');
    return { md, json: { data, scale, dbSize, rows, rawDumps, tarDump, points, again, agains, restics, resticAgains, rawRestores, single, tos, steps, dbRestore, contiguous, scattered, rawSize, tarSize, totalMs: total } };
  } finally {
    for (const name of [db, rawDb]) {
      try {
        psql(pg, 'postgres', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } catch {
        // the server may be gone
      }
    }
    try {
      for (const kept of psql(pg, 'postgres', `SELECT datname FROM pg_database WHERE datname LIKE '${db}_%'`).split('\n').filter(Boolean)) {
        psql(pg, 'postgres', `DROP DATABASE IF EXISTS "${kept}" WITH (FORCE)`);
      }
    } catch {
      // the server may be gone
    }
  }
}

export async function main(argv: readonly string[]): Promise<void> {
  const { flags } = parseArgs(argv);
  const scale = Number(flags.scale ?? 35);
  const runs = Number(flags.runs ?? 3);
  const nPoints = Number(flags.points ?? 10);
  const nScattered = Number(flags.scattered ?? 3);
  const datasets = (flags.data ?? 'pgbench,md5').split(',').filter(Boolean);
  const bad = datasets.filter((d) => !(d in DATA_TEXT));
  if (bad.length) throw new Error(`--data: unknown ${bad.join(', ')}; choose from ${Object.keys(DATA_TEXT).join(', ')}`);
  const keep = flags.keep === 'true';
  const facts = machine();
  const started = performance.now();
  const { base, env, cleanup } = benchEnv('postgres');
  let pg: Pg | null = null;
  try {
    pg = flags.url ? connect(flags.url, env) : startPg(env);
    const version = psql(pg, 'postgres', 'SHOW server_version');
    log(`PostgreSQL ${version} at ${pg.url.hostname}:${pg.url.port}; ${runs} runs each; load ${loadNow()}`);
    const sections: string[] = [];
    const json: unknown[] = [];
    for (const data of datasets) {
      const r = await runDataset(pg, { data, scale, runs, nPoints, nScattered, base });
      sections.push(r.md.replaceAll('SCALE', String(scale)));
      json.push(r.json);
    }
    const md = [
      `### PostgreSQL: point and rollback vs the raw tools (${facts.date})`,
      '',
      `Machine: ${facts.cpus}, ${facts.memory}; node ${facts.node}; git ${facts.git}; ${facts.kernel}; PostgreSQL ${version} from scripts/test-servers.sh (fsync=off), same machine; load at start ${facts['load (1/5/15 min) at start']}, at end ${loadNow()}; git-rollback ${facts['git-rollback commit']}. Took ${fmtMs(performance.now() - started)} in all.`,
      `Command: \`node --import tsx bench/postgres.ts --scale ${scale} --runs ${runs} --points ${nPoints} --scattered ${nScattered} --data ${datasets.join(',')}\`. Medians of ${runs} runs.`,
      '',
      sections.join('\n\n'),
    ].join('\n');
    process.stdout.write(md + '\n');
    const file = saveResult('postgres', md, { facts, datasets: json });
    log(`saved ${file}`);
  } finally {
    if (pg && !keep) pg.stop();
    if (keep) log(`kept ${base}${flags.url ? '' : ' (servers still running: ROLLBACK_TEST_SERVERS_DIR=' + join(tmpdir(), `git-rollback-bench-servers-${process.pid}`) + ' scripts/test-servers.sh stop)'}`);
    else cleanup();
  }
}

function cleanupRepo(dir: string): void {
  spawnSync('rm', ['-rf', dir]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main(process.argv.slice(2));
}
