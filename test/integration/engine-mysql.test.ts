// The MySQL/MariaDB engine against a real MariaDB, called directly as the
// step runner calls it (stage → swap → unswap/discard, dumpParked,
// adoptParked), with a fake RestoreJob whose memo is kept between calls.
// Data: Chinook, and test/fixtures/mysql-rental.sql (compound triggers,
// routines and events with tabs and semicolons, FOLLOWS, a trigger that
// names its schema, views over views, a sequence, a system-versioned table
// with history). "Exactly" is test/helpers/fingerprint-mysql.ts.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import mysql2 from 'mysql2/promise';
import type { Engine, RestoreJob } from '../../src/core/engine.js';
import type { DatabaseEntry } from '../../src/core/types.js';
import { GitDumpStore } from '../../src/adapters/dump-store.js';
import { createEngine } from '../../src/adapters/engines/index.js';
import { assertSameState, mysqlFingerprint, normalisedDump } from '../helpers/fingerprint-mysql.js';
import { chinookSql, mysql, repoRoot, serverUrl, tempDir, tempRepo, uniqueName, withDatabase } from '../helpers/servers.js';
import { english } from '../../src/core/i18n.js';

const ctx = { cwd: process.cwd(), env: process.env };
const admin = serverUrl('MYSQL');
const password = decodeURIComponent(admin.password);

const cleanups: Array<() => void | Promise<void>> = [];
after(async () => {
  for (const clean of cleanups.reverse()) {
    try {
      await clean();
    } catch {
      // best effort
    }
  }
});

/** A fresh schema named `<prefix>_<hex>`, dropped (with every schema derived from it) at the end. */
function freshSchema(prefix: string): string {
  const name = uniqueName(prefix);
  mysql(null, `CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  cleanups.push(() => {
    for (const d of mysql(null, `SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE '${name}%'`).split('\n').filter(Boolean)) {
      mysql(null, `DROP DATABASE \`${d}\``);
    }
  });
  return name;
}

function rentalSql(schema: string): string {
  return readFileSync(join(repoRoot, 'test/fixtures/mysql-rental.sql'), 'utf8').replaceAll('@DB@', schema);
}

function engineFor(schema: string, extra: Record<string, unknown> = {}): Engine {
  return createEngine({ name: 'jobs', engine: 'mysql', url: withDatabase(admin, schema), ...extra }, ctx);
}

async function dumpInto(engine: Engine, store: GitDumpStore): Promise<DatabaseEntry> {
  const pass = new PassThrough();
  const [outcome, stored] = await Promise.all([engine.dump(pass), store.write(pass)]);
  return {
    name: engine.name, engine: engine.engine, format: outcome.format, path: `db/${engine.name}.sql`, size: stored.size,
    sha256: stored.sha256, chunks: stored.chunks, tool: outcome.tool, serverVersion: outcome.serverVersion, ms: 1, details: outcome.details,
  };
}

interface FakeJob extends RestoreJob {
  warnings: string[];
  saves: number;
}

function job(jobId: string, entry: DatabaseEntry, memo: Record<string, unknown> = {}): FakeJob {
  const j: FakeJob = {
    jobId, entry, memo, warnings: [], saves: 0,
    save: async () => {
      j.saves++;
    },
    signal: new AbortController().signal,
    warn: (text) => j.warnings.push(english(text)),
  };
  return j;
}

function read(store: GitDumpStore, entry: DatabaseEntry): Readable {
  return store.read(entry.chunks!, entry.sha256);
}

/** A copy of the entry whose first chunk is replaced by another blob of the same size. */
function corrupted(store: GitDumpStore, entry: DatabaseEntry): DatabaseEntry {
  const first = entry.chunks![0]!;
  const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: store.cwd, input: Buffer.alloc(first.size, 0x5a), encoding: 'utf8' }).trim();
  return { ...entry, chunks: [{ blob, size: first.size }, ...entry.chunks!.slice(1)] };
}

function schemasLike(name: string): string[] {
  return mysql(null, `SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE '${name}%' ORDER BY 1`).split('\n').filter(Boolean);
}

/** A session of "the application": its own connection, on the schema. */
async function appSession(schema: string) {
  const c = await mysql2.createConnection({ host: admin.hostname, port: Number(admin.port), user: decodeURIComponent(admin.username), password, database: schema });
  cleanups.push(() => c.destroy());
  return c;
}

/** Changes between the point and now: rows, schema, every kind of object, the sequence, history. */
const CHANGES = `
  ALTER TABLE film ADD COLUMN note TEXT;
  DELETE FROM film_actor WHERE actor_id = 4;
  INSERT INTO film (title, description, language_id) VALUES ('NEW FILM', 'after the point', 3);
  INSERT INTO payment (customer_id, rental_id, amount, payment_date) VALUES (2, 2, 1.00, '2020-03-03 00:00:00');
  DROP VIEW cheap_films;
  CREATE OR REPLACE VIEW film_list AS SELECT f.film_id AS FID, f.title, f.rental_rate AS price FROM film f;
  DROP TRIGGER payment_audit_2;
  DROP PROCEDURE rewards_report;
  DROP EVENT close_rentals;
  CREATE TABLE extra (x INT PRIMARY KEY);
  SELECT NEXTVAL(ticket_seq); SELECT NEXTVAL(ticket_seq);
  UPDATE price SET rate = 9.99 WHERE film_id = 2;
  ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
`;

describe('mysql engine: exact swap and unswap', () => {
  it('carries compound triggers/routines/events with tabs, views over views, sequences and history, both ways', async () => {
    const name = freshSchema('rbt_my');
    mysql(name, rentalSql(name));
    const engine = engineFor(name);
    const original = await mysqlFingerprint(name);
    assert.match(original.triggers!, /payment_audit_2/);
    assert.match(original['rows price']!, /^5 /, 'history rows are part of the state');

    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    assert.equal(entry.format, 'mysqldump-sql');
    assert.equal(entry.details?.history, true);
    assert.equal(entry.details?.collation, 'utf8mb4_unicode_ci');

    mysql(name, CHANGES);
    const changed = await mysqlFingerprint(name);
    assert.notDeepEqual(changed, original);

    const check = await engine.checkRestore(entry, '20261122_223451');
    assert.match(check.tool, /^mariadb /);
    assert.ok(check.notes.some((n) => /by one RENAME TABLE/.test(english(n))), check.notes.map(english).join('\n'));

    const j = job('20261122_223451', entry);
    await engine.stage(read(store, entry), j);
    assertSameState(await mysqlFingerprint(name), changed, 'stage must not touch the live schema');
    const staged = `${name}_rb_tmp_20261122_223451`;
    assert.equal(mysql(null, `SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '${staged}'`), '0', 'a staged copy holds no triggers');
    assert.equal(mysql(null, `SELECT GROUP_CONCAT(STATUS) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '${staged}'`), 'DISABLED,DISABLED', 'staged events never run');

    await engine.swap(j);
    assertSameState(await mysqlFingerprint(name), original, 'after original');
    const parked = `${name}_rollback_20261122_223451`;
    assert.deepEqual(schemasLike(name), [name, parked]);
    // The restored triggers work, in their order, on the live tables.
    const app = await appSession(name);
    await app.query('BEGIN');
    await app.query("INSERT INTO payment (customer_id, rental_id, amount, payment_date) VALUES (1, 1, 2.00, '2020-04-04 00:00:00')");
    const [[log]] = (await app.query({ sql: 'SELECT GROUP_CONCAT(what ORDER BY id SEPARATOR "|") FROM audit_log', rowsAsArray: true }))[0] as [[string]];
    assert.match(log, /payment\t3; amount 2.00\|second; 3$/);
    await app.query('ROLLBACK');
    // A rolled-back insert still used up AUTO_INCREMENT values: give them back (the lowest allowed).
    await app.query('ALTER TABLE payment AUTO_INCREMENT = 1');
    await app.query('ALTER TABLE audit_log AUTO_INCREMENT = 1');
    // Once dumped (the backup), the parked copy is whole and refuses changes.
    await dumpParkedInto(engine, store, j);
    await assert.rejects(app.query(`DELETE FROM \`${parked}\`.actor`), /parked copy is read-only/);
    app.destroy();

    await engine.swap(j); // twice: nothing more happens
    assertSameState(await mysqlFingerprint(name), original, 'after original');

    await engine.unswap(j);
    assertSameState(await mysqlFingerprint(name), changed, 'after changed');
    await engine.unswap(j); // twice: nothing more happens
    assertSameState(await mysqlFingerprint(name), changed, 'after changed');
    assert.deepEqual(schemasLike(name), [name, staged], 'unswap puts the restored copy back to staged');
    await engine.discardStaged(j);
    await engine.discardStaged(j);
    assert.deepEqual(schemasLike(name), [name]);
    assert.deepEqual(await engine.leftovers(), []);
  });
});

describe('mysql engine: Chinook, corrupt dumps, errors', () => {
  it('restores Chinook over a changed schema; a corrupt chunk is refused with nothing live touched', async () => {
    const name = freshSchema('rbt_myc');
    mysql(name, chinookSql('Chinook_MySql.sql'));
    mysql(name, `
      CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, artist INT);
      CREATE VIEW album_count AS SELECT ArtistId, count(*) AS n FROM Album GROUP BY ArtistId;
      CREATE TRIGGER artist_audit AFTER INSERT ON Artist FOR EACH ROW INSERT INTO audit (artist) VALUES (NEW.ArtistId);
      CREATE PROCEDURE artist_total() SELECT count(*) FROM Artist;
      INSERT INTO Artist (ArtistId, Name) VALUES (9001, '周杰倫 Ünïcødé');`);
    const original = await mysqlFingerprint(name, { dump: false });
    const engine = engineFor(name);
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    mysql(name, `ALTER TABLE Album ADD COLUMN Note TEXT; DELETE FROM InvoiceLine WHERE InvoiceLineId % 3 = 0;
      DROP VIEW album_count; CREATE TABLE extra (x INT); INSERT INTO Artist (ArtistId, Name) VALUES (9002, 'new');`);
    const changed = await mysqlFingerprint(name, { dump: false });

    const bad = corrupted(store, entry);
    await assert.rejects(engine.stage(read(store, bad), job('bad1', bad)), /checksum|does not match/);
    assertSameState(await mysqlFingerprint(name, { dump: false }), changed, 'a refused stage');
    assert.deepEqual(schemasLike(name), [name], 'the staged schema of a refused stage is gone');

    const j = job('job1', entry);
    await engine.stage(read(store, entry), j);
    await engine.swap(j);
    assertSameState(await mysqlFingerprint(name, { dump: false }), original, 'after swap');
    assert.deepEqual(schemasLike(name), [name, `${name}_rollback_job1`]);
    await engine.dropParked('job1');
    await engine.dropParked('job1');
    assert.deepEqual(schemasLike(name), [name]);
  });

  it('refuses a wrong password without printing it, with the hint for it; says when the server is down', async () => {
    const wrong = new URL(admin.href);
    wrong.password = 'Sup3rSecretWrong';
    const sink = new PassThrough();
    sink.on('error', () => {});
    await assert.rejects(createEngine({ name: 'jobs', engine: 'mysql', url: wrong.href }, ctx).dump(sink), (error: Error & { hint?: string }) => {
      assert.match(error.message, /ERROR 1045 \(28000\): Access denied/);
      assert.doesNotMatch(`${error.message} ${error.hint}`, /Sup3rSecretWrong/);
      assert.match(error.hint ?? '', /wrong user or password for databases\.jobs\.url/);
      return true;
    });
    const down = new URL(admin.href);
    down.port = '1';
    await assert.rejects(createEngine({ name: 'jobs', engine: 'mysql', url: down.href }, ctx).check('dump'), (error: Error & { hint?: string }) => {
      assert.match(error.message, /ECONNREFUSED|Can't connect/);
      assert.doesNotMatch(`${error.message} ${error.hint}`, new RegExp(password));
      assert.match(error.hint ?? '', /server running and reachable/);
      return true;
    });
  });
});

/** Dumps the parked copy of `j` into the store, as the runner stores the backup's dump. */
async function dumpParkedInto(engine: Engine, store: GitDumpStore, j: RestoreJob): Promise<DatabaseEntry> {
  const pass = new PassThrough();
  const [outcome, stored] = await Promise.all([engine.dumpParked!(j, pass), store.write(pass)]);
  return {
    name: engine.name, engine: engine.engine, format: outcome.format, path: `db/${engine.name}.sql`, size: stored.size,
    sha256: stored.sha256, chunks: stored.chunks, tool: outcome.tool, serverVersion: outcome.serverVersion, ms: 1, details: outcome.details,
  };
}

async function digestOf(engine: Engine, input: Readable): Promise<string> {
  return engine.digest!(input);
}

describe('mysql engine: the parked copy', () => {
  it('dumps the parked copy as a dump of the previous live schema would be; fast undo adopts it; its dump restores it too', async () => {
    const name = freshSchema('rbt_myp');
    mysql(name, rentalSql(name));
    const engine = engineFor(name);
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    const original = await mysqlFingerprint(name);
    mysql(name, CHANGES);
    const changed = await mysqlFingerprint(name);
    const live = await dumpInto(engine, store);

    const a = job('20261123_000001', entry);
    await engine.stage(read(store, entry), a);
    await engine.swap(a);
    const backup = await dumpParkedInto(engine, store, a);
    const parked = `${name}_rollback_20261123_000001`;
    assert.deepEqual((backup.details?.parked as { schema: string }).schema, parked);
    if (process.env.DEBUG_DUMPS) {
      const text = async (e: DatabaseEntry) => { const parts: Buffer[] = []; for await (const p of read(store, e)) parts.push(p as Buffer); return Buffer.concat(parts).toString('utf8'); };
      writeFileSync('/tmp/parked.sql', await text(backup));
      writeFileSync('/tmp/live.sql', await text(live));
    }
    assert.equal(await digestOf(engine, read(store, backup)), await digestOf(engine, read(store, live)), 'the parked dump equals a dump of the same data live');
    assert.notEqual(backup.sha256, live.sha256, 'raw bytes differ (comments name the parked schema): the digest is what compares');

    // Fast undo: the parked copy becomes the staged copy of the undo job by renames.
    const u = job('20261123_000002', backup);
    assert.equal(await engine.adoptParked!('20261123_000001', u), true);
    assert.deepEqual(schemasLike(name), [name, parked], 'the parked copy is adopted where it is (the swap renames its tables once)');
    await engine.swap(u);
    assertSameState(await mysqlFingerprint(name), changed, 'after fast undo');
    assert.deepEqual(schemasLike(name), [name, `${name}_rollback_20261123_000002`]);

    // The stored backup dump restores the same state the slow way.
    const r = job('20261123_000003', backup);
    await engine.stage(read(store, backup), r);
    await engine.swap(r);
    assertSameState(await mysqlFingerprint(name), changed, 'after a restore of the parked dump');
    // …and the point again, from the undo job's parked copy (the point's data), adopted.
    const again = await dumpParkedInto(engine, store, r);
    const r2 = job('20261123_000004', again);
    assert.equal(await engine.adoptParked!('20261123_000003', r2), true);
    await engine.swap(r2);
    assertSameState(await mysqlFingerprint(name), changed, 'r2 adopted the copy parked by r: the changed state again');
    assert.equal(await engine.adoptParked!('20261123_000001', job('x', backup)), false, 'a parked copy that is gone is not adopted');
    void original;
  });

  it('does not adopt a parked copy that changed after its dump, and changes nothing then', async () => {
    const mutations: Array<[string, string]> = [
      ['a row changed behind a dropped guard', 'DROP TRIGGER `_rb_guard_0_d`; DELETE FROM a WHERE id = 1; CREATE TRIGGER `_rb_guard_0_d` BEFORE DELETE ON a FOR EACH ROW SIGNAL SQLSTATE \'45000\' SET MESSAGE_TEXT = \'git-rollback: this parked copy is read-only (drop it with git rollback prune)\''],
      ['history deleted (no trigger fires)', 'DELETE HISTORY FROM h'],
      ['a sequence advanced', 'SELECT NEXTVAL(s)'],
      ['an Aria table truncated', 'TRUNCATE TABLE ar'],
      ['an InnoDB table rebuilt', 'ALTER TABLE a FORCE'],
      ['AUTO_INCREMENT moved', 'ALTER TABLE a AUTO_INCREMENT = 100'],
      ['a routine replaced', 'CREATE OR REPLACE PROCEDURE p() SELECT 2'],
    ];
    for (const [what, sql] of mutations) {
      const name = freshSchema('rbt_mym');
      mysql(name, `CREATE TABLE a (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10)); INSERT INTO a (v) VALUES ('x'), ('y');
        CREATE TABLE h (id INT PRIMARY KEY, v INT) WITH SYSTEM VERSIONING; INSERT INTO h VALUES (1, 1); UPDATE h SET v = 2;
        CREATE SEQUENCE s; CREATE TABLE ar (id INT PRIMARY KEY) ENGINE=Aria; INSERT INTO ar VALUES (1);
        CREATE PROCEDURE p() SELECT 1;`);
      const engine = engineFor(name);
      const store = new GitDumpStore(tempRepo());
      const entry = await dumpInto(engine, store);
      mysql(name, "INSERT INTO a (v) VALUES ('z')");
      const a = job('m1', entry);
      await engine.stage(read(store, entry), a);
      await engine.swap(a);
      const backup = await dumpParkedInto(engine, store, a);
      mysql(`${name}_rollback_m1`, sql);
      const u = job('m2', backup);
      assert.equal(await engine.adoptParked!('m1', u), false, what);
      assert.deepEqual(schemasLike(name), [name, `${name}_rollback_m1`], `${what}: nothing moved`);
      assert.match(u.warnings.join('\n'), /not provably unchanged/);
    }
  });
});

let stepScript: Promise<string> | undefined;
/** test/helpers/mysql-step.ts bundled once: a child then starts in a fraction of tsx's time. */
function stepBundle(): Promise<string> {
  stepScript ??= (async () => {
    const { build } = await import('esbuild');
    const outfile = join(tempDir('mysql-step'), 'step.mjs');
    await build({
      entryPoints: [join(repoRoot, 'test/helpers/mysql-step.ts')], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning',
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    return outfile;
  })();
  return stepScript;
}

/** Runs one engine call in a child process whose memo lives in `memoFile`; with `crash`, it is SIGKILLed there. */
async function step(op: string, o: { schema: string; jobId: string; memoFile: string; entry: DatabaseEntry; repo?: string; crash?: string; from?: string }): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }> {
  const script = await stepBundle();
  const t0 = Date.now();
  if (process.env.DEBUG_STEPS) process.stderr.write(`step ${op} ${o.crash ?? ''} …`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify({ op, url: withDatabase(admin, o.schema), jobId: o.jobId, memoFile: o.memoFile, entry: o.entry, repo: o.repo, from: o.from })], {
      env: { ...process.env, ...(o.crash ? { ROLLBACK_TEST_MYSQL_CRASH: o.crash } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (process.env.DEBUG_STEPS) process.stderr.write(` ${Date.now() - t0} ms\n`);
      resolve({ code, signal, stderr, stdout });
    });
  });
}

/** A job whose memo is the file the child processes use (what the journal keeps). */
function fileJob(jobId: string, entry: DatabaseEntry, memoFile: string): FakeJob {
  const j = job(jobId, entry, {});
  Object.defineProperty(j, 'memo', { get: () => JSON.parse(readFileSync(memoFile, 'utf8')) as Record<string, unknown> });
  j.save = async () => {
    throw new Error('fileJob: use step() to change the memo');
  };
  return j;
}

describe('mysql engine: crashes at every point of stage, swap and unswap', () => {
  it('finishes (swap again) or undoes (unswap) from each crash point; a killed stage is discarded or staged again', async () => {
    const name = freshSchema('rbt_myk');
    mysql(name, rentalSql(name));
    const quick = (schema: string) => mysqlFingerprint(schema, { dump: false });
    const original = await quick(name);
    const engine = engineFor(name);
    const repo = tempRepo();
    const store = new GitDumpStore(repo);
    const entry = await dumpInto(engine, store);
    mysql(name, CHANGES);
    const changed = await quick(name);
    const dir = tempDir('mysql-memo');
    const memoFile = join(dir, 'memo.json');
    writeFileSync(memoFile, '{}');
    const jobId = 'k1';
    const o = { schema: name, jobId, memoFile, entry, repo };
    const staged = `${name}_rb_tmp_k1`;

    // Stage killed half way: discard works, and so does staging again.
    let r = await step('stage', { ...o, crash: 'stage:mid-load' });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    assertSameState(await quick(name), changed, 'a killed stage');
    r = await step('discardStaged', o);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(schemasLike(name), [name]);
    r = await step('stage', { ...o, crash: 'stage:loaded' });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    r = await step('stage', o);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(schemasLike(name), [name, staged]);

    for (const crash of ['swap:planned', 'swap:dropped', 'swap:renamed', 'swap:live-done']) {
      for (const then of ['continue', 'abort'] as const) {
        r = await step('swap', { ...o, crash });
        assert.equal(r.signal, 'SIGKILL', `${crash}: ${r.stderr}`);
        if (then === 'continue') {
          r = await step('swap', o);
          assert.equal(r.code, 0, `${crash} then swap: ${r.stderr}`);
          assertSameState(await quick(name), original, `${crash} then swap`);
        }
        r = await step('unswap', o);
        assert.equal(r.code, 0, `${crash} then unswap: ${r.stderr}`);
        assertSameState(await quick(name), changed, `${crash} then ${then === 'continue' ? 'swap and ' : ''}unswap`);
        assert.deepEqual(schemasLike(name), [name, staged], `${crash}: the staged copy is back, nothing else left`);
      }
    }
    for (const crash of ['unswap:dropped', 'unswap:renamed']) {
      r = await step('swap', o);
      assert.equal(r.code, 0, r.stderr);
      r = await step('unswap', { ...o, crash });
      assert.equal(r.signal, 'SIGKILL', `${crash}: ${r.stderr}`);
      r = await step('unswap', o);
      assert.equal(r.code, 0, `${crash} then unswap: ${r.stderr}`);
      assertSameState(await quick(name), changed, `${crash} then unswap`);
    }
    // Swapped for good, the backup dumped from the parked copy; then a fast undo killed after adopting, continued.
    r = await step('swap', o);
    assert.equal(r.code, 0, r.stderr);
    assertSameState(await quick(name), original, 'swapped');
    const memo = fileJob(jobId, entry, memoFile).memo;
    assert.equal((memo.swap as { phase: string }).phase, 'swapped');
    await engine.discardStaged(fileJob(jobId, entry, memoFile));
    assert.deepEqual(schemasLike(name), [name, `${name}_rollback_k1`]);
    r = await step('dumpParked', o);
    assert.equal(r.code, 0, r.stderr);
    const backup = await dumpParkedInto(engine, store, fileJob(jobId, entry, memoFile));
    const undoMemo = join(dir, 'undo.json');
    writeFileSync(undoMemo, '{}');
    const u = { schema: name, jobId: 'k2', memoFile: undoMemo, entry: backup, repo, from: 'k1' };
    r = await step('adoptParked', { ...u, crash: 'adopt:dropped' });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    r = await step('adoptParked', u);
    assert.equal(r.stdout, 'true', r.stderr);
    r = await step('swap', { ...u, crash: 'swap:renamed' });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    r = await step('swap', u);
    assert.equal(r.code, 0, r.stderr);
    assertSameState(await quick(name), changed, 'fast undo after two crashes');
    assert.deepEqual(schemasLike(name), [name, `${name}_rollback_k2`]);
  });
});

describe('mysql engine: no outage when a session holds a lock', () => {
  it('waits lockWaitTimeout for an open transaction, then leaves everything as it was and says who; swaps once it ends', async () => {
    const name = freshSchema('rbt_myl');
    mysql(name, rentalSql(name));
    const original = await mysqlFingerprint(name);
    const engine = engineFor(name, { lockWaitTimeout: 1 });
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    mysql(name, CHANGES);
    const changed = await mysqlFingerprint(name);
    const j = job('l1', entry);
    await engine.stage(read(store, entry), j);

    const app = await appSession(name);
    await app.query('BEGIN');
    await app.query('SELECT COUNT(*) FROM film');
    const appId = app.threadId;
    const check = await engine.checkRestore(entry, 'l1');
    assert.ok(check.notes.some((n) => new RegExp(`#${appId} .*idle in transaction.*waits up to 1 s`).test(english(n))), check.notes.map(english).join('\n'));

    await assert.rejects(engine.swap(j), (error: Error & { hint?: string }) => {
      assert.match(error.message, new RegExp(`waited 1 s \\(lockWaitTimeout\\).*nothing was changed.*#${appId} `));
      assert.match(error.hint ?? '', /endSessions/);
      return true;
    });
    assertSameState(await mysqlFingerprint(name), changed, 'a swap that timed out');
    // Nothing of ours holds a lock: another session can lock every table the app did not touch, at once.
    const other = await appSession(name);
    await other.query('SET SESSION lock_wait_timeout = 1');
    await other.query('LOCK TABLES film_text WRITE, payment WRITE, customer WRITE, actor WRITE');
    await other.query('UNLOCK TABLES');
    await other.query(`LOCK TABLES \`${name}_rb_tmp_l1\`.film WRITE`);
    await other.query('UNLOCK TABLES');

    await app.query('COMMIT');
    await engine.swap(j);
    assertSameState(await mysqlFingerprint(name), original, 'the swap once the transaction ended');
    await engine.unswap(j);
    await engine.discardStaged(j);
  });

  it('with endSessions, ends the sessions holding locks and swaps', async () => {
    const name = freshSchema('rbt_mye');
    mysql(name, 'CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1); CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.id = NEW.id + 1;');
    const engine = engineFor(name, { lockWaitTimeout: '1s', endSessions: true });
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    mysql(name, 'INSERT INTO t VALUES (5)');
    const j = job('e1', entry);
    await engine.stage(read(store, entry), j);
    const app = await appSession(name);
    await app.query('BEGIN');
    await app.query('SELECT * FROM t');
    await engine.swap(j);
    assert.equal(mysql(name, 'SELECT GROUP_CONCAT(id) FROM t'), '1');
    assert.match(j.warnings.join('\n'), new RegExp(`ended session #${app.threadId} .*endSessions`));
    await assert.rejects(app.query('SELECT 1'), /closed|lost|killed|ECONNRESET|Connection/i);
  });
});

describe('mysql engine: privileges and error messages', () => {
  it('checkRestore names the missing privileges before any change; a privilege error gets its own hint', async () => {
    const name = freshSchema('rbt_myv');
    mysql(name, 'CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1);');
    const user = uniqueName('rb_lim');
    const secret = `Pw-${uniqueName('x')}`;
    mysql(null, `CREATE USER '${user}'@'%' IDENTIFIED BY '${secret}'; GRANT ALL ON \`${name}\`.* TO '${user}'@'%';`);
    cleanups.push(() => void mysql(null, `DROP USER IF EXISTS '${user}'@'%'`));
    const url = new URL(withDatabase(admin, name));
    url.username = user;
    url.password = secret;
    const engine = createEngine({ name: 'jobs', engine: 'mysql', url: url.href }, ctx);
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    await assert.rejects(engine.checkRestore(entry, 'v1'), (error: Error & { hint?: string }) => {
      assert.match(error.message, new RegExp(`lacks SELECT, INSERT, CREATE, DROP.* on ${name}_rb_tmp_v1; .* on ${name}_rollback_v1`));
      assert.doesNotMatch(error.message, new RegExp(`on ${name}[;,]`), 'the live schema is fine');
      assert.match(error.hint ?? '', /GRANT the missing privileges/);
      assert.doesNotMatch(`${error.message} ${error.hint}`, new RegExp(secret));
      return true;
    });
    await assert.rejects(engine.stage(read(store, entry), job('v1', entry)), (error: Error & { hint?: string }) => {
      assert.match(error.message, /ERROR 1044 \(42000\): Access denied for user/);
      assert.match(error.hint ?? '', /lacks a privilege/);
      assert.doesNotMatch(error.hint ?? '', /password/);
      return true;
    });
    assert.deepEqual(schemasLike(name), [name]);
  });

  it("shows the server's ERROR line (not the client's echo of the statement), and masks only the password", async () => {
    const name = freshSchema('rbt_myx');
    const engine = engineFor(name);
    const store = new GitDumpStore(tempRepo());
    const bad = await store.write(Readable.from([Buffer.from('CREATE TABLE t (id INT);\nINSERT INTO t VALUES (1);\nSET @x = 1; THIS IS NOT SQL;\n')]));
    const entry: DatabaseEntry = { name: 'jobs', engine: 'mysql', format: 'mysqldump-sql', path: 'db/jobs.sql', size: bad.size, sha256: bad.sha256, chunks: bad.chunks, tool: 'mariadb-dump 10.11', ms: 1 };
    await assert.rejects(engine.stage(read(store, entry), job('x1', entry)), (error: Error & { hint?: string }) => {
      assert.match(error.message, /ERROR 1064 \(42000\) at line 3: You have an error in your SQL syntax/);
      assert.doesNotMatch(error.message, /-----/);
      assert.match(error.hint ?? '', /the staged schema was dropped and nothing live was touched/);
      return true;
    });
    assert.deepEqual(schemasLike(name), [name]);
    // main.ts passes every message and hint through redact(): a hint must come out whole.
    const { redact } = await import('../../src/core/errors.js');
    const { hintFor } = await import('../../src/adapters/engines/mysql-session.js');
    for (const errno of [1045, 1142, 1205]) assert.equal(redact(english(hintFor(errno, undefined, 'jobs')!)), english(hintFor(errno, undefined, 'jobs')!));
  });
});

describe('mysql engine: absent databases', () => {
  it('dumps a missing schema as absent; restoring absent parks the live schema; restoring over a missing one creates it; both undo', async () => {
    const name = uniqueName('rbt_mya');
    cleanups.push(() => {
      for (const d of mysql(null, `SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE '${name}%'`).split('\n').filter(Boolean)) mysql(null, `DROP DATABASE \`${d}\``);
    });
    const engine = engineFor(name);
    const store = new GitDumpStore(tempRepo());
    const sink = new PassThrough();
    sink.resume();
    const none = await engine.dump(sink, { allowAbsent: true });
    assert.equal(none.absent, true);
    await assert.rejects(engine.dump(new PassThrough().on('error', () => {})), /does not exist/);
    const absentEntry: DatabaseEntry = { name: 'jobs', engine: 'mysql', format: none.format, path: 'db/jobs.sql', size: 0, sha256: '', tool: none.tool, ms: 1, absent: true, details: none.details };

    // The schema appears; a point of it; then back to "absent" and undo.
    mysql(null, `CREATE DATABASE ${name} COLLATE utf8mb4_bin`);
    mysql(name, rentalSql(name));
    const present = await mysqlFingerprint(name);
    const entry = await dumpInto(engine, store);
    const a = job('a1', absentEntry);
    await engine.stage(Readable.from([]), a);
    await engine.swap(a);
    assert.deepEqual(schemasLike(name), [`${name}_rollback_a1`], 'the live schema is parked whole, nothing is live');
    const backup = await dumpParkedInto(engine, store, a);
    assert.equal(backup.details?.database, name);
    await engine.unswap(a);
    assertSameState(await mysqlFingerprint(name), present, 'after undoing a restore of "absent"');
    await engine.discardStaged(a);

    // Restoring the point where the schema does not exist: it is created, exactly; unswap makes it absent again.
    mysql(null, `DROP DATABASE ${name}`);
    const b = job('b1', entry);
    await engine.stage(read(store, entry), b);
    await engine.swap(b);
    assertSameState(await mysqlFingerprint(name), present, 'restored where it was absent');
    const parked = new PassThrough();
    parked.resume();
    assert.equal((await engine.dumpParked!(b, parked)).absent, true, 'nothing was live before: the backup is "absent"');
    await engine.unswap(b);
    await engine.discardStaged(b);
    assert.deepEqual(schemasLike(name), []);
  });
});

describe('mysql engine: what cannot be carried is refused', () => {
  it('transaction-precise history: a point says it holds no history; a restore is refused before any change', async () => {
    const name = freshSchema('rbt_myh');
    mysql(name, `CREATE TABLE tp (id INT PRIMARY KEY, x INT, s BIGINT UNSIGNED GENERATED ALWAYS AS ROW START, e BIGINT UNSIGNED GENERATED ALWAYS AS ROW END,
      PERIOD FOR SYSTEM_TIME(s, e)) ENGINE=InnoDB WITH SYSTEM VERSIONING; INSERT INTO tp (id, x) VALUES (1, 1); UPDATE tp SET x = 2;`);
    const engine = engineFor(name);
    const pass = new PassThrough();
    const store = new GitDumpStore(tempRepo());
    const [outcome] = await Promise.all([engine.dump(pass), store.write(pass)]);
    assert.match(outcome.warnings?.join('\n') ?? '', /tp keep transaction-precise history, which mariadb-dump cannot dump/);
    assert.deepEqual(outcome.details?.historyOmitted, ['tp']);
    const entry = { name: 'jobs', engine: 'mysql', format: outcome.format, path: 'db/jobs.sql', size: 1, sha256: '', tool: outcome.tool, ms: 1, details: outcome.details } satisfies DatabaseEntry;
    await assert.rejects(engine.checkRestore(entry, 'h1'), /cannot restore safely: tp keep transaction-precise system-versioning history/);
  });
});
