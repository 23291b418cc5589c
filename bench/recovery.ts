// Benchmark: how long the application is down during a PostgreSQL rollback,
// and how fast undo is right after (issue 10).
//
//   npm run build && node --import tsx bench/recovery.ts [--scales 5,35] [--runs 3] [--keep] [--baseline OTHER/bin/git-rollback.js]
//   npm run bench -- recovery
//
// With --baseline, each run also times that build's `to` and `undo` (same
// point, same anchor run; the two builds' order alternates by run), so the
// ratios compare under one load.
//
// For each scale it makes a pgbench database (pgbench -i -s SCALE, accounts
// refilled with an md5 per row: dumps compress like real data) with a
// one-row table `marker`, takes a point with marker = 'target', then each run:
//   1. sets marker = 'current' and changes 1% of the accounts;
//   2. anchor: `createdb` + `pg_restore -j2` of a `pg_dump -Fc` of the target
//      state (made once, not timed): what restoring by hand costs before the
//      application can use the data; then `ANALYZE` on it, timed apart (pg_restore
//      leaves no planner statistics; `to` runs ANALYZE before the swap);
//   3. ours: `git rollback to P --only db:main --yes`, while an application
//      (one psql session, reconnecting like a pool) reads marker every 10 ms:
//      time to recovery = from the start of `to` to the first answer
//      'target'; whole `to` = until the command exits (durable backup
//      included); swap window = longest time without an answer;
//   4. `git rollback undo --yes` right after: wall time, and when the reader
//      sees 'current' again.
// Ratios (goals): time to recovery ≤ 1.1× the anchor; whole `to` ≤ 1.5×; undo ≤ 1 s at any size.
import { join, resolve } from 'node:path';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { benchEnv, fmtBytes, fmtMs, git, loadNow, log, longestGap, machine, mdTable, median, mustTree, parseArgs, probe, rollbackTree, saveResult, startServers, timedTree, withDatabase, type TreeRun } from './lib.js';
import { connect, pointTag, psql, type Pg } from './postgres.js';

interface ToFigures {
  ttrMs: number | null;
  toMs: number;
  windowMs: number;
  undoMs: number;
  undoSeenMs: number | null;
  /** Reads of `marker` that failed (not just waited) during `to` and `undo`. */
  failedReads: number;
}

interface RunFigures extends ToFigures {
  /** The baseline build's figures in this run (--baseline). */
  baseline?: ToFigures;
  anchorMs: number;
  analyzeMs: number;
  load: string;
}

function makeRepo(dir: string, env: NodeJS.ProcessEnv): void {
  mkdirSync(dir, { recursive: true });
  git(dir, env, ['init', '-q', '-b', 'main']);
  writeFileSync(join(dir, '.rollbackrc.yaml'), 'databases:\n  main: { engine: postgres, url: "${BENCH_PG_URL}" }\n');
  writeFileSync(join(dir, 'README.md'), '# bench\n');
  git(dir, env, ['add', '.']);
  git(dir, env, ['commit', '-q', '-m', 'bench repo']);
}

/** Drops every database a rollback kept beside the live one (parked copies, staging). */
function dropLeftovers(pg: Pg, db: string): void {
  for (const name of psql(pg, 'postgres', `SELECT datname FROM pg_database WHERE datname LIKE '${db}\\_%'`).split('\n').filter(Boolean)) {
    psql(pg, 'postgres', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
}

async function runScale(pg: Pg, base: string, scale: number, runs: number, baseline: string | null): Promise<{ md: string; json: unknown }> {
  const db = `bench_rec_${process.pid}_${scale}`;
  const raw = `${db}_raw`;
  const { PGPASSWORD: _pw, ...rest } = pg.env;
  const rbEnv: NodeJS.ProcessEnv = { ...rest, BENCH_PG_URL: withDatabase(pg.url.href, db) };
  const [h, p, , u] = [pg.args[1], pg.args[3], null, pg.args[5]];
  try {
    psql(pg, 'postgres', `CREATE DATABASE ${db}`);
    mustTree(await timedTree('pgbench', ['-i', '-s', String(scale), '-q', ...pg.args, db], { cwd: base, env: pg.env }), 'pgbench -i');
    psql(pg, db, `TRUNCATE pgbench_accounts; INSERT INTO pgbench_accounts SELECT g, (g - 1) / 100000 + 1, (random() * 200000)::int - 100000, md5(g::text) FROM generate_series(1, ${scale * 100_000}) g`);
    psql(pg, db, 'VACUUM ANALYZE pgbench_accounts');
    psql(pg, db, "CREATE TABLE marker (v text); INSERT INTO marker VALUES ('target')");
    const size = Number(psql(pg, 'postgres', `SELECT pg_database_size('${db}')`));
    const repo = join(base, `repo-${scale}`);
    makeRepo(repo, rbEnv);
    const tag = pointTag(mustTree(await rollbackTree(['point', 'target'], { cwd: repo, env: rbEnv }), 'git rollback point'));
    const dumpFile = join(base, `target-${scale}.dump`);
    mustTree(await timedTree('pg_dump', ['-w', '-Fc', ...pg.args, '-d', db], { cwd: base, env: pg.env, stdoutFile: dumpFile }), 'pg_dump -Fc');
    log(`[scale ${scale}] ${fmtBytes(size)}; point ${tag}; load ${loadNow()}`);

    const figures: RunFigures[] = [];
    for (let i = 0; i < runs; i++) {
      const onePct = scale * 1000;
      const lo = ((i * 37) % 97) * onePct + 1;
      psql(pg, db, `UPDATE marker SET v = 'current'; UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid BETWEEN ${lo} AND ${lo + onePct - 1}`);

      psql(pg, 'postgres', `DROP DATABASE IF EXISTS ${raw}`);
      const anchor = mustTree(
        await timedTree('sh', ['-c', `createdb -w -h ${h} -p ${p} -U ${u} ${raw} && pg_restore -w -j2 -h ${h} -p ${p} -U ${u} -d ${raw} '${dumpFile}'`], { cwd: base, env: pg.env }),
        'createdb + pg_restore -j2',
      );
      // pg_restore leaves no planner statistics; `to` runs ANALYZE before the swap (docs/decisions.md):
      // the like-for-like anchor adds it.
      const analyze = mustTree(await timedTree('psql', ['-X', '-w', '-q', ...pg.args, '-d', raw, '-c', 'ANALYZE'], { cwd: base, env: pg.env }), 'ANALYZE');
      psql(pg, 'postgres', `DROP DATABASE IF EXISTS ${raw}`);

      /** `to` then `undo` with one build, a reader on `marker` throughout. */
      const rollback = async (bin?: string): Promise<ToFigures> => {
        const reader = probe('psql', ['-X', '-w', '-q', '-At', ...pg.args, '-d', db], pg.env, 'SELECT v FROM marker;', 10);
        await new Promise((r) => setTimeout(r, 300));
        const toStart = performance.now() - reader.t0;
        const toRun: TreeRun = mustTree(await rollbackTree(['to', tag, '--only', 'db:main', '--yes'], { cwd: repo, env: rbEnv, bin }), 'git rollback to');
        const seen = reader.answers.find((a) => a.at >= toStart && a.value === 'target');
        const windowMs = longestGap(reader, toStart, toStart + toRun.ms);
        const undoStartOnProbe = performance.now() - reader.t0;
        const undo = mustTree(await rollbackTree(['undo', '--yes'], { cwd: repo, env: rbEnv, bin }), 'git rollback undo');
        await new Promise((r) => setTimeout(r, 200));
        await reader.stop();
        const back = reader.answers.find((a) => a.at >= undoStartOnProbe && a.value === 'current');
        dropLeftovers(pg, db);
        return { ttrMs: seen ? seen.at - toStart : null, toMs: toRun.ms, windowMs, undoMs: undo.ms, undoSeenMs: back ? back.at - undoStartOnProbe : null, failedReads: reader.failures.length };
      };
      let other: ToFigures | undefined;
      if (baseline && i % 2 === 1) other = await rollback(baseline);
      const ours = await rollback();
      if (baseline && i % 2 === 0) other = await rollback(baseline);
      const f: RunFigures = {
        ...(other ? { baseline: other } : {}),
        anchorMs: anchor.ms,
        analyzeMs: analyze.ms,
        ...ours,
        load: loadNow(),
      };
      figures.push(f);
      log(
        `[scale ${scale}] run ${i + 1}: anchor ${fmtMs(f.anchorMs)} (+ ANALYZE ${fmtMs(f.analyzeMs)}); to: recovery ${f.ttrMs === null ? 'never seen' : fmtMs(f.ttrMs)}, whole ${fmtMs(f.toMs)}, longest gap ${fmtMs(f.windowMs)}; undo ${fmtMs(f.undoMs)} (seen after ${f.undoSeenMs === null ? 'never' : fmtMs(f.undoSeenMs)}); failed reads ${f.failedReads}; load ${f.load}` +
          (f.baseline ? `; baseline: recovery ${f.baseline.ttrMs === null ? 'never seen' : fmtMs(f.baseline.ttrMs)}, whole ${fmtMs(f.baseline.toMs)}, undo ${fmtMs(f.baseline.undoMs)}` : ''),
      );
    }
    rmSync(repo, { recursive: true, force: true });
    const m = (k: keyof RunFigures) => median(figures.map((f) => f[k] as number).filter((x) => typeof x === 'number'));
    const ttr = m('ttrMs');
    const md = [
      `#### pgbench scale ${scale} (${fmtBytes(size)} on disk, md5 filler)`,
      '',
      mdTable(
        ['what', 'anchor: `createdb` + `pg_restore -j2`', 'git-rollback', 'ratio', 'goal'],
        [
          ['time to recovery (start of `to --yes` → live database serves the target data)', fmtMs(m('anchorMs')), `**${fmtMs(ttr)}**`, `**${(ttr / m('anchorMs')).toFixed(2)}×**`, `≤ 1.10× ${ttr / m('anchorMs') <= 1.1 ? '✓' : '✗'}`],
          ['… against the like-for-like anchor: + `ANALYZE` (which `to` runs before the swap)', `${fmtMs(m('anchorMs') + m('analyzeMs'))} (ANALYZE ${fmtMs(m('analyzeMs'))})`, `**${fmtMs(ttr)}**`, `**${(ttr / (m('anchorMs') + m('analyzeMs'))).toFixed(2)}×**`, ''],
          ['whole `to` (durable backup included)', fmtMs(m('anchorMs')), `**${fmtMs(m('toMs'))}**`, `**${(m('toMs') / m('anchorMs')).toFixed(2)}×**`, `≤ 1.50× ${m('toMs') / m('anchorMs') <= 1.5 ? '✓' : '✗'}`],
          ['longest time the reader got no answer during `to`', '', fmtMs(m('windowMs')), '', ''],
          ['`undo --yes` right after: until the reader sees the previous data again', '', `**${fmtMs(m('undoSeenMs'))}**`, '', `≤ 1 s ${m('undoSeenMs') <= 1000 ? '✓' : '✗'}`],
          ['… the whole `undo` command (its own backup dump, after the swap back, included)', '', fmtMs(m('undoMs')), '', ''],
        ],
      ),
      '',
      `Runs: ${figures.map((f) => `anchor ${fmtMs(f.anchorMs)} + ANALYZE ${fmtMs(f.analyzeMs)} / recovery ${f.ttrMs === null ? '–' : fmtMs(f.ttrMs)} / to ${fmtMs(f.toMs)} / undo ${fmtMs(f.undoMs)} (load ${f.load.split(' / ')[0]})`).join('; ')}.`,
      ...(baseline ? baselineLines(baseline, figures) : []),
    ].join('\n');
    return { md, json: { scale, size, figures } };
  } finally {
    for (const name of [db, raw]) {
      try {
        psql(pg, 'postgres', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } catch {
        // the server may be gone
      }
    }
    try {
      dropLeftovers(pg, db);
    } catch {
      // the server may be gone
    }
  }
}

/** The baseline build's figures from the same runs, with their ratios to the same anchors. */
function baselineLines(baseline: string, figures: RunFigures[]): string[] {
  const b = figures.filter((f) => f.baseline);
  const med = (pick: (f: RunFigures) => number | null | undefined) => median(b.map(pick).filter((x): x is number => typeof x === 'number'));
  const anchor = med((f) => f.anchorMs);
  const like = med((f) => f.anchorMs + f.analyzeMs);
  const ttr = med((f) => f.baseline!.ttrMs);
  const ours = med((f) => f.ttrMs);
  return [
    '',
    `Baseline \`${baseline}\` in the same runs (order alternating): time to recovery **${fmtMs(ttr)}** (**${(ttr / anchor).toFixed(2)}×**, like-for-like ${(ttr / like).toFixed(2)}×) against this build's ${fmtMs(ours)} (${(ours / anchor).toFixed(2)}×, like-for-like ${(ours / like).toFixed(2)}×); whole \`to\` ${fmtMs(med((f) => f.baseline!.toMs))} against ${fmtMs(med((f) => f.toMs))}.`,
    `Baseline runs: ${b.map((f) => `recovery ${f.baseline!.ttrMs === null ? '–' : fmtMs(f.baseline!.ttrMs)} / to ${fmtMs(f.baseline!.toMs)} / undo ${fmtMs(f.baseline!.undoMs)}`).join('; ')}.`,
  ];
}

export async function main(argv: readonly string[]): Promise<void> {
  const { flags } = parseArgs(argv);
  const scales = (flags.scales ?? '5,35').split(',').map(Number).filter((x) => x > 0);
  const runs = Number(flags.runs ?? 3);
  const keep = flags.keep === 'true';
  const baseline = flags.baseline ? resolve(flags.baseline) : null;
  const facts = machine();
  const { base, env, cleanup } = benchEnv('recovery');
  const servers = flags.url ? null : startServers();
  try {
    const pg = connect(flags.url ?? servers!.pgUrl, env);
    const version = psql(pg, 'postgres', 'SHOW server_version');
    const sections: string[] = [];
    const json: unknown[] = [];
    for (const scale of scales) {
      const r = await runScale(pg, base, scale, runs, baseline);
      sections.push(r.md);
      json.push(r.json);
    }
    const md = [
      `### PostgreSQL: time to recovery, whole rollback, undo (${facts.date})`,
      '',
      `Machine: ${facts.cpus}, ${facts.memory}; node ${facts.node}; git ${facts.git}; PostgreSQL ${version} (scripts/test-servers.sh, fsync=off); ${facts.kernel}; load at start ${facts['load (1/5/15 min) at start']}, at end ${loadNow()}; git-rollback ${facts['git-rollback commit']}.`,
      `Command: \`node --import tsx bench/recovery.ts --scales ${scales.join(',')} --runs ${runs}${baseline ? ` --baseline ${baseline}` : ''}\`. Medians of ${runs} runs; a psql session reads \`marker\` every 10 ms throughout.`,
      '',
      sections.join('\n\n'),
    ].join('\n');
    process.stdout.write(md + '\n');
    log(`saved ${saveResult('recovery', md, { facts, json })}`);
  } finally {
    if (!keep) servers?.stop();
    if (keep) log(`kept ${base}`);
    else cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main(process.argv.slice(2));
}
