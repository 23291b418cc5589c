// Benchmark: the MySQL/MariaDB engine (issue 10): the fixed overhead of a
// point over `mariadb-dump` alone, the swap window an application reading
// during the swap sees, the backup dump of the parked copy, and fast undo.
//
//   node --import tsx bench/mysql.ts --url mysql://user:pass@127.0.0.1:3306 [--rows 60000] [--runs 5]
//       [--baseline <dir holding an older src/, inside this checkout so node_modules resolves>] [--cli]
//
// The baseline is the engine before the journaled port, e.g.
//   mkdir -p .bench-base && git archive b668bc9 src | tar -x -C .bench-base   then --baseline .bench-base
// Data: the test fixture (test/fixtures/mysql-rental.sql: triggers, routines, events, views over views,
// a sequence, a system-versioned table) plus `orders` with --rows rows (~100 bytes each; 60,000 rows give a
// ~6 MiB dump, the size issue 10 measured). Every figure is the median of --runs.
//   1. dump: `mariadb-dump` alone (to /dev/null) vs the engine's dump() (checks included) vs the baseline's
//      (--cli: also `git rollback point` in a repo configured with only this database, vs one with none)
//   2. checkRestore, stage, swap; the swap window: the longest gap between two answers an application
//      reading in a loop (point lookups on `orders`, its own connection) sees while swap() runs, vs the
//      longest gap it sees in a quiet stretch of the same length (the machine's own noise)
//   3. dumpParked (the automatic backup's dump, after service is back)
//   4. fast undo: adoptParked + swap of the undo job (the parked copy renamed back), vs stage + swap
// It creates and drops schemas named rbbench_<hex>*.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PassThrough, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import mysql2 from 'mysql2/promise';
import { GitDumpStore } from '../src/adapters/dump-store.js';
import { MysqlSession } from '../src/adapters/engines/mysql-session.js';
import { createEngine } from '../src/adapters/engines/index.js';
import type { Engine, RestoreJob } from '../src/core/engine.js';
import type { DatabaseEntry } from '../src/core/types.js';
import { BIN, ROOT, benchEnv, git, parseArgs } from './lib.js';

const { flags } = parseArgs(process.argv.slice(2));
if (!flags.url) {
  process.stderr.write('usage: node --import tsx bench/mysql.ts --url mysql://user:pass@host:port [--rows 60000] [--runs 5] [--baseline <dir>] [--cli]\n');
  process.exit(2);
}
const admin = new URL(flags.url);
const rows = Number(flags.rows ?? 60000);
const runs = Number(flags.runs ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${Math.round(x)} ms`;
const schema = `rbbench_${randomBytes(4).toString('hex')}`;
const url = (db: string) => Object.assign(new URL(admin.href), { pathname: `/${db}` }).href;
const env = { ...process.env, MYSQL_PWD: decodeURIComponent(admin.password) };
const clientArgs = ['--no-defaults', '-h', admin.hostname, '-P', admin.port || '3306', '-u', decodeURIComponent(admin.username)];
const sql = (db: string | null, text: string) =>
  execFileSync('mariadb', [...clientArgs, '--batch', '--skip-column-names', ...(db ? [db] : [])], { input: text, env, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();

/** --trace: every statement the engine sends during swap(), with its time. */
const trace: Array<[number, number, string]> = [];
let tracing = false;
if (flags.trace) {
  const query = MysqlSession.prototype.query;
  MysqlSession.prototype.query = async function (this: MysqlSession, text: string, doing?: string) {
    const t = performance.now();
    try {
      return (await query.call(this, text, doing)) as never;
    } finally {
      if (tracing) trace.push([t, performance.now() - t, text.replace(/\s+/g, ' ').slice(0, 100)]);
    }
  } as typeof query;
}

const sink = () => new Writable({ write: (_c, _e, done) => done() });

function job(jobId: string, entry: DatabaseEntry): RestoreJob {
  return { jobId, entry, memo: {}, save: async () => {}, signal: new AbortController().signal, warn: () => {} };
}

async function dumpInto(engine: Engine, store: GitDumpStore): Promise<DatabaseEntry> {
  const pass = new PassThrough();
  const [o, st] = await Promise.all([engine.dump(pass), store.write(pass)]);
  return { name: engine.name, engine: engine.engine, format: o.format, path: 'db/jobs.sql', size: st.size, sha256: st.sha256, chunks: st.chunks, tool: o.tool, ms: 1, details: o.details };
}

async function parkedInto(engine: Engine, store: GitDumpStore, j: RestoreJob): Promise<DatabaseEntry> {
  const pass = new PassThrough();
  const [o, st] = await Promise.all([engine.dumpParked!(j, pass), store.write(pass)]);
  return { name: engine.name, engine: engine.engine, format: o.format, path: 'db/jobs.sql', size: st.size, sha256: st.sha256, chunks: st.chunks, tool: o.tool, ms: 1, details: o.details };
}

/** An application: point lookups in a loop on its own connection, noting when each answer came. */
async function reader(db: string) {
  const c = await mysql2.createConnection({ host: admin.hostname, port: Number(admin.port || 3306), user: decodeURIComponent(admin.username), password: decodeURIComponent(admin.password), database: db });
  const answers: number[] = [];
  let errors = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      try {
        await c.query('SELECT amount FROM orders WHERE id = ?', [1 + Math.floor(Math.random() * rows)]);
        answers.push(performance.now());
      } catch {
        errors++;
      }
    }
  })();
  return {
    /** Longest time between two answers that overlaps [from, to]. */
    gap(from: number, to: number): number {
      let worst = 0;
      for (let i = 1; i < answers.length; i++) if (answers[i]! >= from && answers[i - 1]! <= to) worst = Math.max(worst, answers[i]! - answers[i - 1]!);
      return worst;
    },
    get errors() {
      return errors;
    },
    async end() {
      stop = true;
      await loop;
      await c.end();
    },
  };
}

function setup(): void {
  sql(null, `CREATE DATABASE ${schema} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  sql(schema, readFileSync(join(ROOT, 'test/fixtures/mysql-rental.sql'), 'utf8').replaceAll('@DB@', schema));
  sql(schema, `CREATE TABLE orders (id INT PRIMARY KEY, customer INT NOT NULL, note VARCHAR(80) NOT NULL, amount DECIMAL(10,2) NOT NULL, created DATETIME NOT NULL, KEY (customer)) ENGINE=InnoDB;
    INSERT INTO orders SELECT seq, seq % 977, CONCAT('order ', seq, ' ', SHA1(seq)), (seq % 1000) / 10, '2024-01-01' + INTERVAL (seq % 100000) MINUTE FROM seq_1_to_${rows};`);
}

function cleanup(): void {
  for (const d of sql(null, `SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE '${schema}%'`).split('\n').filter(Boolean)) sql(null, `DROP DATABASE \`${d}\``);
}

async function main(): Promise<void> {
  setup();
  const engine = createEngine({ name: 'jobs', engine: 'mysql', url: url(schema) }, { cwd: ROOT, env: process.env });
  const store = new GitDumpStore(mkdtempSync(join(tmpdir(), 'rbbench-mysql-')));
  execFileSync('git', ['init', '-q', store.cwd]);
  const out: string[] = [];
  const line = (label: string, value: string) => {
    out.push(`| ${label} | ${value} |`);
    process.stderr.write(`${label}: ${value}\n`);
  };

  // 1. dump
  const dumpArgs = [...clientArgs, '--single-transaction', '--routines', '--triggers', '--events', '--hex-blob', '--default-character-set=utf8mb4', '--skip-dump-date', '--dump-history', schema];
  const bare: number[] = [];
  const ours: number[] = [];
  let size = 0;
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    const r = spawnSync('mariadb-dump', dumpArgs, { env, maxBuffer: 1 << 30 });
    bare.push(performance.now() - t);
    size = r.stdout.length;
    t = performance.now();
    await engine.dump(sink());
    ours.push(performance.now() - t);
  }
  line(`dump size`, `${(size / 1048576).toFixed(1)} MiB`);
  line('`mariadb-dump` alone', ms(median(bare)));
  line('engine dump() (checks included)', `${ms(median(ours))} (overhead ${ms(median(ours) - median(bare))})`);
  if (flags.baseline) {
    const base = await import(pathToFileURL(resolve(flags.baseline, 'src/adapters/engines/mysql.ts')).href);
    const old = new base.MysqlEngine({ name: 'jobs', engine: 'mysql', url: url(schema) }, { cwd: ROOT, env: process.env });
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await old.dump(sink());
      times.push(performance.now() - t);
    }
    line('baseline engine dump()', `${ms(median(times))} (overhead ${ms(median(times) - median(bare))})`);
  }
  if (flags.cli) {
    const b = benchEnv('mysql');
    try {
      const repo = join(b.base, 'repo');
      git(b.base, b.env, ['init', '-q', repo]);
      writeFileSync(join(repo, 'a.txt'), 'a\n');
      git(repo, b.env, ['add', '.']);
      git(repo, b.env, ['commit', '-qm', 'init']);
      const point = (rc: string | null) => {
        if (rc) writeFileSync(join(repo, '.rollbackrc.yaml'), rc);
        else rmSync(join(repo, '.rollbackrc.yaml'), { force: true });
        const times: number[] = [];
        for (let i = 0; i < runs; i++) {
          const t = performance.now();
          const r = spawnSync(process.execPath, [BIN, 'point', `bench ${i}`], { cwd: repo, env: { ...b.env, MYSQL_PWD: env.MYSQL_PWD }, encoding: 'utf8' });
          times.push(performance.now() - t);
          if (r.status !== 0) throw new Error(`git rollback point failed: ${r.stderr}`);
        }
        return median(times);
      };
      const none = point(null);
      const withDb = point(`databases:\n  jobs: { engine: mysql, url: "${url(schema).replace(/:[^:@/]*@/, '@')}" }\n`);
      // The same bytes through the command engine (cat of a saved dump): what storing them costs, engine aside.
      const saved = join(b.base, 'dump.sql');
      writeFileSync(saved, spawnSync('mariadb-dump', dumpArgs, { env, maxBuffer: 1 << 30 }).stdout);
      const sameBytes = point(`databases:\n  jobs: { engine: command, dump: "cat ${saved}", restore: "cat >/dev/null" }\n`);
      line('`git rollback point`, no database', ms(none));
      line('`git rollback point`, the same dump through `cat` (command engine)', `${ms(sameBytes)} (over a point without it: ${ms(sameBytes - none)})`);
      line('`git rollback point`, this database', `${ms(withDb)} (over \`mariadb-dump\`: ${ms(withDb - median(bare))}; over the same bytes through \`cat\`: ${ms(withDb - sameBytes)})`);
    } finally {
      b.cleanup();
    }
  }

  if (flags['dump-only']) {
    process.stdout.write(`\n${out.join('\n')}\n`);
    return;
  }
  // 2. restore
  const entry = await dumpInto(engine, store);
  sql(schema, `UPDATE orders SET amount = amount + 1 WHERE id % 100 = 0; DELETE FROM payment WHERE payment_id = 2;`);
  const checks: number[] = [];
  const stages: number[] = [];
  const swaps: number[] = [];
  const windows: number[] = [];
  const quiet: number[] = [];
  const parkedDumps: number[] = [];
  const undos: number[] = [];
  const slowUndos: number[] = [];
  let readErrors = 0;
  for (let i = 0; i < runs; i++) {
    const id = `b${i}`;
    let t = performance.now();
    await engine.checkRestore(entry, id);
    checks.push(performance.now() - t);
    const j = job(id, entry);
    t = performance.now();
    await engine.stage(store.read(entry.chunks!, entry.sha256), j);
    stages.push(performance.now() - t);
    const app = await reader(schema);
    await new Promise((r) => setTimeout(r, 300));
    const q0 = performance.now();
    await new Promise((r) => setTimeout(r, 200));
    quiet.push(app.gap(q0, performance.now()));
    t = performance.now();
    tracing = i === 0 && flags.trace !== 'undo';
    await engine.swap(j);
    tracing = false;
    const t1 = performance.now();
    swaps.push(t1 - t);
    await new Promise((r) => setTimeout(r, 200));
    windows.push(app.gap(t, t1));
    readErrors += app.errors;
    await app.end();
    t = performance.now();
    const backup = await parkedInto(engine, store, j);
    parkedDumps.push(performance.now() - t);
    // Fast undo: the parked copy back by renames.
    const u = job(`u${i}`, backup);
    t = performance.now();
    tracing = i === 0 && flags.trace === 'undo';
    if (!(await engine.adoptParked!(id, u))) throw new Error('adoptParked refused');
    await engine.swap(u);
    tracing = false;
    undos.push(performance.now() - t);
    // The same undo from the backup's dump (what undo does once the parked copy is pruned).
    await parkedInto(engine, store, u);
    const v = job(`v${i}`, backup);
    t = performance.now();
    await engine.stage(store.read(backup.chunks!, backup.sha256), v);
    await engine.swap(v);
    slowUndos.push(performance.now() - t);
    // Back to the state before this run, for the next one.
    await engine.unswap(v);
    await engine.discardStaged(v);
    for (const k of [id, `u${i}`, `v${i}`]) await engine.dropParked(k);
  }
  if (flags.trace) for (const [at, took, text] of trace) process.stderr.write(`${(at - trace[0]![0]).toFixed(1).padStart(7)} +${took.toFixed(1).padStart(6)} ms  ${text}\n`);
  // Anchors: the same dump loaded by the client alone, and one bare RENAME TABLE of the same tables (there and back).
  const saved = spawnSync('mariadb-dump', dumpArgs, { env, maxBuffer: 1 << 30 }).stdout;
  const loads: number[] = [];
  const renames: number[] = [];
  const tables = sql(null, `SELECT table_name FROM information_schema.tables WHERE table_schema = '${schema}' AND table_type <> 'VIEW'`).split('\n').filter(Boolean);
  for (let i = 0; i < runs; i++) {
    const scratch = `${schema}_load${i}`;
    sql(null, `CREATE DATABASE ${scratch}`);
    let t = performance.now();
    // As it is, mariadb-dump's output does not load into another schema (the engine's filter handles both):
    // a trigger that names its schema would be made in the live one, and a table whose default draws from
    // a sequence cannot be filled under the dump's LOCK TABLES.
    const text = saved.toString('utf8').replaceAll(`${schema}.`, `${scratch}.`).replace(/^(LOCK TABLES `[^`]+` WRITE;|UNLOCK TABLES;)\n/gm, '');
    execFileSync('mariadb', [...clientArgs, '--binary-mode', scratch], { input: text, env, maxBuffer: 1 << 30 });
    loads.push(performance.now() - t);
    const other = `${schema}_ren${i}`;
    sql(null, `CREATE DATABASE ${other}`);
    sql(scratch, `DROP TRIGGER IF EXISTS ins_film; DROP TRIGGER IF EXISTS upd_film; DROP TRIGGER IF EXISTS del_film; DROP TRIGGER IF EXISTS customer_create_date;
      DROP TRIGGER IF EXISTS payment_audit_2; DROP TRIGGER IF EXISTS payment_audit; DROP TRIGGER IF EXISTS rental_audit;`);
    t = performance.now();
    sql(null, `RENAME TABLE ${tables.map((x) => `\`${scratch}\`.\`${x}\` TO \`${other}\`.\`${x}\``).join(', ')}`);
    renames.push(performance.now() - t);
  }
  line('anchor: the same dump loaded by `mariadb` alone', ms(median(loads)));
  line(`anchor: one bare RENAME TABLE of the ${tables.length} tables to another schema (through \`mariadb\`)`, ms(median(renames)));
  line('checkRestore', ms(median(checks)));
  line('stage (load the dump into the staged schema)', ms(median(stages)));
  line('swap() call', ms(median(swaps)));
  line('swap window: longest gap a reader saw during swap()', `${ms(median(windows))} (worst ${ms(Math.max(...windows))}; quiet-time gap ${ms(median(quiet))}; failed reads ${readErrors})`);
  line('dumpParked (backup dump, after service is back)', ms(median(parkedDumps)));
  line('fast undo: adoptParked + swap', ms(median(undos)));
  line('undo from the dump: stage + swap', ms(median(slowUndos)));
  process.stdout.write(`\n| MariaDB ${sql(null, 'SELECT VERSION()')}, ${rows} rows, median of ${runs} | |\n| --- | --- |\n${out.join('\n')}\n`);
}

try {
  await main();
} finally {
  cleanup();
}
