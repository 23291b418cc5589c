// The PostgreSQL engine against a real server, method by method, as the
// journaled runner calls it: dump into a GitDumpStore, checkRestore, stage,
// swap, unswap, discardStaged, dumpParked, adoptParked, dropParked,
// leftovers, with a fake RestoreJob whose memo is kept between calls (and in
// a file when another process runs a step and is killed part-way).
// Chinook carries rows and tables; test/fixtures/postgres-attributes.sql
// carries the database-level state (settings, ACL, ICU, owner…).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import type { Engine, RestoreJob } from '../../src/core/engine.js';
import type { DatabaseEntry } from '../../src/core/types.js';
import { GitDumpStore } from '../../src/adapters/dump-store.js';
import { ourKeptPacks } from '../../src/adapters/pack-files.js';
import { locateChunks } from '../../src/adapters/pack-read.js';
import { createEngine } from '../../src/adapters/engines/index.js';
import { PostgresEngine } from '../../src/adapters/engines/postgres.js';
import { pgData, pgDatabaseAttributes, pgFingerprint } from '../helpers/fingerprint-postgres.js';
import { chinookSql, psql, repoRoot, serverUrl, tempDir, tempRepo, uniqueName, withDatabase } from '../helpers/servers.js';
import { english } from '../../src/core/i18n.js';

const ctx = { cwd: process.cwd(), env: process.env };
const admin = serverUrl('PG');
const password = decodeURIComponent(admin.password);

/** A destination for dumps expected to fail: consumed, so its error is observed. */
function sink(): PassThrough {
  const pass = new PassThrough();
  pass.on('error', () => {});
  pass.resume();
  return pass;
}

type TestJob = RestoreJob & { warnings: string[]; abort(): void };

/** The runner's RestoreJob, without a journal: memo lives in this object (or in `memoFile`, as the journal would keep it). */
function fakeJob(jobId: string, entry: DatabaseEntry, memoFile?: string): TestJob {
  const controller = new AbortController();
  const warnings: string[] = [];
  const memo: Record<string, unknown> = memoFile ? (JSON.parse(readFileSync(memoFile, 'utf8')) as Record<string, unknown>) : {};
  return {
    jobId,
    entry,
    memo,
    async save() {
      if (memoFile) writeFileSync(memoFile, JSON.stringify(memo));
    },
    signal: controller.signal,
    warn: (text: string) => warnings.push(text),
    warnings,
    abort: () => controller.abort(),
  };
}

async function dumpInto(engine: Engine, store: GitDumpStore, dump?: (out: PassThrough) => ReturnType<Engine['dump']>): Promise<DatabaseEntry> {
  const pass = new PassThrough();
  const started = Date.now();
  const [outcome, stored] = await Promise.all([dump ? dump(pass) : engine.dump(pass), store.write(pass)]);
  return {
    name: engine.name, engine: engine.engine, format: outcome.format, path: `db/${engine.name}`, size: stored.size, sha256: stored.sha256,
    chunks: stored.chunks, tool: outcome.tool, serverVersion: outcome.serverVersion, ms: Date.now() - started,
    ...(outcome.details ? { details: outcome.details } : {}), ...(outcome.absent ? { absent: true } : {}),
  };
}

/** checkRestore + stage, as the runner's verify phase and stage step do. */
async function stageFrom(engine: Engine, store: GitDumpStore, job: RestoreJob) {
  const entry = job.entry;
  if (!entry.absent) await store.verify(entry.chunks!, entry.sha256);
  const check = await engine.checkRestore(entry, job.jobId);
  await engine.stage(entry.absent ? Readable.from([]) : store.read(entry.chunks!, entry.sha256), job);
  return check;
}

/** A copy of the entry whose first chunk is replaced by another blob of the same size: only the checksum can tell. */
function corrupted(store: GitDumpStore, entry: DatabaseEntry): DatabaseEntry {
  const first = entry.chunks![0]!;
  const junk = Buffer.alloc(first.size, 0x5a);
  const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: store.cwd, input: junk, encoding: 'utf8' }).trim();
  return { ...entry, chunks: [{ blob, size: first.size }, ...entry.chunks!.slice(1)] };
}

async function assertRejectsWithout(promise: Promise<unknown>, secret: string, pattern: RegExp) {
  await assert.rejects(promise, (error: Error & { hint?: string; stderr?: string }) => {
    const text = `${error.message} ${error.hint ?? ''} ${error.stderr ?? ''}`;
    assert.doesNotMatch(text, new RegExp(secret));
    assert.match(text, pattern);
    return true;
  });
}

function databasesLike(prefix: string): string[] {
  return psql('postgres', `SELECT datname FROM pg_database WHERE datname LIKE '${prefix}%' ORDER BY 1`).split('\n').filter(Boolean);
}

const cleanups: Array<() => void> = [];
after(() => {
  for (const clean of cleanups.reverse()) {
    try {
      clean();
    } catch {
      // best effort
    }
  }
});

function dropAllLike(prefix: string) {
  for (const d of databasesLike(prefix)) psql('postgres', `ALTER DATABASE "${d}" IS_TEMPLATE false; DROP DATABASE "${d}" WITH (FORCE)`);
}

/** A fresh database with Chinook and a few more object kinds in it. */
function chinookDb(prefix: string): string {
  const name = uniqueName(prefix);
  psql('postgres', `CREATE DATABASE ${name}`);
  cleanups.push(() => dropAllLike(name));
  psql(name, chinookSql('Chinook_PostgreSql.sql'));
  return name;
}

describe('postgres engine: dump, stage, swap, unswap (Chinook)', () => {
  it('restores Chinook over a changed database and unswaps, each step twice; parked copy dumped, listed, dropped', async () => {
    const name = chinookDb('rbt_pg');
    psql(name, `
      CREATE EXTENSION IF NOT EXISTS citext;
      CREATE SEQUENCE ticket_seq; SELECT setval('ticket_seq', 42);
      CREATE VIEW album_count AS SELECT artist_id, count(*) AS n FROM album GROUP BY artist_id;
      CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.name := trim(NEW.name); RETURN NEW; END $$;
      CREATE TRIGGER artist_touch BEFORE INSERT ON artist FOR EACH ROW EXECUTE FUNCTION touch();
      INSERT INTO artist (artist_id, name) VALUES (9001, ' 周杰倫 Ünïcødé ');`);
    const original = pgData(name);
    assert.match(original['table public.artist']!, /^276 /);

    const engine = createEngine({ name: 'main', engine: 'postgres', url: withDatabase(admin, name) }, ctx);
    assert.equal(engine.parks, true);
    assert.doesNotMatch(engine.describe(), new RegExp(password));
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    assert.equal(entry.format, 'pg_dump-plain');
    assert.match(entry.tool, /^pg_dump \d+/);
    assert.equal((entry.details?.attributes as { owner: string }).owner, 'rollback_admin');

    psql(name, `ALTER TABLE album ADD COLUMN note text; DELETE FROM invoice_line WHERE invoice_line_id % 3 = 0;
      SELECT nextval('ticket_seq'); DROP VIEW album_count; CREATE TABLE extra (x int);`);
    const changed = pgData(name);
    assert.notDeepEqual(changed, original);
    const liveOid = psql('postgres', `SELECT oid FROM pg_database WHERE datname = '${name}'`);
    const before = await engine.fingerprint();
    assert.match(before!, new RegExp(`^oid ${liveOid} `));

    const jobId = '20261122_223451';
    const objects = engine.tempObjects(jobId);
    assert.deepEqual(objects.map((o) => [o.role, o.name]), [['staged', `${name}_rb_tmp_${jobId}`], ['parked', `${name}_rollback_${jobId}`]]);
    const job = fakeJob(jobId, entry);
    const check = await stageFrom(engine, store, job);
    assert.match(check.tool, /^psql \d+/);
    assert.ok(check.notes.some((n) => /carries owner rollback_admin, encoding UTF8/.test(english(n))), check.notes.map(english).join('\n'));
    assert.deepEqual(pgData(name), changed, 'stage must not touch the live database');
    // stage again (a retried step): the earlier staged copy is replaced.
    await engine.stage(store.read(entry.chunks!, entry.sha256), job);
    assert.deepEqual(databasesLike(name), [name, `${name}_rb_tmp_${jobId}`]);

    await engine.swap(job);
    await engine.swap(job); // already swapped: nothing to do
    assert.deepEqual(pgData(name), original);
    assert.equal(psql('postgres', `SELECT datallowconn FROM pg_database WHERE datname = '${name}_rollback_${jobId}'`), 'f', 'the parked copy is closed');
    assert.deepEqual(pgData(`${name}_rollback_${jobId}`), changed);
    assert.notEqual(await engine.fingerprint(), before);

    await engine.unswap(job);
    await engine.unswap(job); // not swapped any more: nothing to do
    assert.deepEqual(pgData(name), changed);
    assert.equal(await engine.fingerprint(), before, 'the same database, in the same state, is live again');
    await engine.discardStaged(job);
    await engine.discardStaged(job);
    assert.deepEqual(databasesLike(name), [name], 'after unswap + discard only the live database is left');
    assert.deepEqual(await engine.leftovers(), []);

    // A swap that stays: the parked copy is dumped (the backup's dump), listed, dropped.
    const job2 = fakeJob('job2', entry);
    await stageFrom(engine, store, job2);
    await engine.swap(job2);
    await engine.discardStaged(job2); // after a swap: nothing to discard, the live copy stays
    assert.deepEqual(pgData(name), original);
    const backup = await dumpInto(engine, store, (out) => engine.dumpParked!(job2, out));
    assert.equal(backup.format, 'pg_dump-plain');
    assert.equal((backup.details?.parked as { oid: string }).oid, liveOid);
    assert.equal(psql('postgres', `SELECT datallowconn FROM pg_database WHERE datname = '${name}_rollback_job2'`), 'f', 'closed again after its dump');
    const left = await engine.leftovers();
    assert.deepEqual(left.map((o) => [o.role, o.name, o.jobId, o.kind]), [['parked', `${name}_rollback_job2`, 'job2', 'database']]);
    await engine.dropParked('job2');
    await engine.dropParked('job2');
    assert.deepEqual(await engine.leftovers(), []);

    // The backup's dump restores the changed state (an undo from the dump).
    const job3 = fakeJob('job3', backup);
    await stageFrom(engine, store, job3);
    await engine.swap(job3);
    assert.deepEqual(pgData(name), changed);
    await engine.dropParked('job3');

    // Corrupt chunk: refused, live untouched, no temp database left.
    const bad = corrupted(store, entry);
    await assert.rejects(engine.stage(store.read(bad.chunks!, bad.sha256), fakeJob('bad1', bad)), /checksum|does not match/);
    assert.deepEqual(pgData(name), changed);
    assert.deepEqual(databasesLike(name), [name]);
    // And a swap of a job whose stage failed refuses, changing nothing.
    await assert.rejects(engine.swap(fakeJob('bad1', bad)), /nothing fully staged.*nothing was changed/);
  });

  it('a chunk found damaged in the middle of a dump read from our packs stops the load before COMMIT: nothing staged, live untouched', async () => {
    const name = chinookDb('rbt_pgmid');
    const engine = createEngine({ name: 'main', engine: 'postgres', url: withDatabase(admin, name) }, ctx);
    // Small chunks: the dump (SQL text, every entry compressed) spans several.
    const store = new GitDumpStore(tempRepo(), { chunkSizes: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 } });
    const entry = await dumpInto(engine, store);
    const chunks = entry.chunks!;
    assert.ok(chunks.length >= 4, `${chunks.length} chunks`);
    psql(name, 'CREATE TABLE after_point (x int)');
    const live = pgData(name);
    const packs = await ourKeptPacks(join(store.cwd, '.git', 'objects', 'pack'), 'sha1', true);
    const where = locateChunks(chunks, packs)!;
    assert.ok(where.every((w, i) => w.length < chunks[i]!.size), 'every entry compressed');
    // The Adler-32 at the end of a middle entry's zlib stream.
    const mid = where[Math.floor(chunks.length / 2)]!;
    const pack = `${packs[mid.pack]!.base}.pack`;
    const bytes = readFileSync(pack);
    bytes[mid.offset + mid.length - 1]! ^= 0xff;
    chmodSync(pack, 0o644);
    writeFileSync(pack, bytes);
    let passed = 0;
    const source = store.read(chunks, entry.sha256);
    async function* counted() {
      for await (const piece of source) {
        passed += (piece as Buffer).length;
        yield piece as Buffer;
      }
    }
    const job = fakeJob('midbad', entry);
    await assert.rejects(engine.stage(Readable.from(counted(), { objectMode: false }), job), /dump chunk \d+ of \d+ .*cannot be inflated/);
    assert.ok(passed > 0 && passed < entry.size, `the load had begun: ${passed} of ${entry.size} bytes passed`);
    assert.deepEqual(pgData(name), live);
    assert.deepEqual(databasesLike(name), [name], 'no staged copy left');
    await assert.rejects(engine.swap(job), /nothing fully staged.*nothing was changed/);
    assert.deepEqual(pgData(name), live);
  });

  it('refuses a wrong password without printing it, and says when the server is down', async () => {
    const wrong = new URL(admin.href);
    wrong.password = 'Sup3rSecretWrong';
    const engine = createEngine({ name: 'main', engine: 'postgres', url: wrong.href }, ctx);
    await assertRejectsWithout(engine.dump(sink()), 'Sup3rSecretWrong', /password authentication failed/);
    const down = new URL(admin.href);
    down.port = '1';
    const downEngine = createEngine({ name: 'main', engine: 'postgres', url: down.href }, ctx);
    await assertRejectsWithout(downEngine.check('dump'), password, /Connection refused|could not connect|connection to server/);
  });

  it('still restores a tar dump (the format stored before plain), Chinook with sequences, views and non-ASCII', async () => {
    const name = chinookDb('rbt_pgtar');
    psql(name, `
      CREATE SEQUENCE ticket_seq; SELECT setval('ticket_seq', 7);
      CREATE VIEW album_count AS SELECT artist_id, count(*) AS n FROM album GROUP BY artist_id;
      INSERT INTO artist (artist_id, name) VALUES (9002, 'Ünïcødé 周杰倫');`);
    const original = pgData(name);
    const engine = new PostgresEngine({ name: 'main', engine: 'postgres', url: withDatabase(admin, name) }, ctx, 'tar');
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    assert.equal(entry.format, 'pg_dump-tar');
    // Restored by the engine as it is now (which dumps plain).
    const current = createEngine({ name: 'main', engine: 'postgres', url: withDatabase(admin, name) }, ctx);
    assert.match((await current.checkRestore(entry, 'tarjob')).tool, /^pg_restore \d+/);
    psql(name, `DELETE FROM invoice_line; DROP VIEW album_count; SELECT setval('ticket_seq', 99);`);
    assert.notDeepEqual(pgData(name), original);
    const job = fakeJob('tarjob', entry);
    await stageFrom(current, store, job);
    await current.swap(job);
    assert.deepEqual(pgData(name), original);
  });

  it('plain dumps: a missing owner role fails clearly with nothing live touched; noOwner dumps without owners', async () => {
    const name = uniqueName('rbt_pgown');
    const role = `${name}_owner`;
    psql('postgres', `CREATE DATABASE ${name}; CREATE ROLE ${role} NOLOGIN;`);
    cleanups.push(() => {
      dropAllLike(name);
      psql('postgres', `DROP ROLE IF EXISTS ${role}`);
    });
    psql(name, `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'ü' || g FROM generate_series(1, 100) g; ALTER TABLE t OWNER TO ${role};`);
    const url = withDatabase(admin, name);
    const withOwners = createEngine({ name: 'main', engine: 'postgres', url }, ctx);
    const noOwner = createEngine({ name: 'main', engine: 'postgres', url, noOwner: true }, ctx);
    const store = new GitDumpStore(tempRepo());
    const owned = await dumpInto(withOwners, store);
    const unowned = await dumpInto(noOwner, store);

    // The role goes away (another server, or dropped since).
    psql(name, `ALTER TABLE t OWNER TO CURRENT_USER; DELETE FROM t WHERE id > 50;`);
    psql('postgres', `DROP ROLE ${role}`);
    const live = pgData(name);
    await assert.rejects(stageFrom(withOwners, store, fakeJob('own1', owned)), (error: Error & { hint?: string; stderr?: string }) => {
      assert.match(`${error.message} ${error.stderr ?? ''}`, new RegExp(`role "${role}" does not exist`));
      assert.match(error.hint ?? '', /nothing live was touched.*noOwner/);
      return true;
    });
    // noOwner set later cannot strip owners out of a dump that has them: the hint says so.
    await assert.rejects(stageFrom(noOwner, store, fakeJob('own2', owned)), (error: Error & { hint?: string }) => /made before noOwner was set/.test(error.hint ?? ''));
    assert.deepEqual(pgData(name), live);
    assert.deepEqual(databasesLike(name), [name]);

    // A dump made with noOwner restores; the tables belong to the restoring user.
    const job = fakeJob('own3', unowned);
    await stageFrom(noOwner, store, job);
    await noOwner.swap(job);
    assert.equal(psql(name, 'SELECT count(*) FROM t'), '100');
    assert.equal(psql(name, "SELECT tableowner = current_user FROM pg_tables WHERE tablename = 't'"), 't');
  });

  it('refuses a plain dump from a newer PostgreSQL major than the server, and a maintenance database that is the one restored', async () => {
    const engine = createEngine({ name: 'main', engine: 'postgres', url: withDatabase(admin, 'postgres'), maintenanceDb: 'template1' }, ctx);
    const entry = {
      name: 'main', engine: 'postgres', format: 'pg_dump-plain', path: 'db/main.sql', size: 1, sha256: '0'.repeat(64), tool: 'pg_dump 1.0', serverVersion: '999.1', ms: 1,
    } satisfies DatabaseEntry;
    await assert.rejects(engine.checkRestore(entry, 'v1'), /comes from PostgreSQL 999\.1.*older major version cannot load it/);
    await assert.rejects(engine.checkRestore({ ...entry, serverVersion: '9.6', tool: 'pg_dump 999.0' }, 'v1'), /made by pg_dump 999\.0, but psql \d+.* cannot read newer dumps/);
    // An older server's dump is fine.
    await engine.checkRestore({ ...entry, serverVersion: '9.6' }, 'v1');
    // The database the tool connects to for the rename cannot be the one renamed.
    const same = createEngine({ name: 'main', engine: 'postgres', url: withDatabase(admin, 'postgres') }, ctx);
    await assert.rejects(same.checkRestore({ ...entry, serverVersion: '9.6' }, 'v1'), (e: Error & { hint?: string }) => /cannot also be the maintenance database/.test(e.message) && /maintenanceDb/.test(e.hint ?? ''));
  });
});

// --- helpers for sessions, roles and child processes ---------------------------

const pgHost = () => `${admin.hostname}:${admin.port}`;
const roleUrl = (user: string, pw: string, database: string) => `postgres://${user}:${encodeURIComponent(pw)}@${pgHost()}/${database}`;

async function until(what: string, test: () => boolean, seconds = 30, why?: () => string): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${why ? `: ${why()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A session held open (psql running `sql`) as `user`, until stop(). */
async function holdSession(database: string, user: string, pw: string, sql: string, appName: string) {
  const child = spawn('psql', ['-X', '-w', '-q', '-d', `postgresql://${user}@${pgHost()}/${database}`, '-f', '-'], {
    env: { ...process.env, PGPASSWORD: pw, PGAPPNAME: appName },
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  child.stdin.end(sql);
  await until(`session ${appName}`, () => psql('postgres', `SELECT count(*) FROM pg_stat_activity WHERE application_name = '${appName}' AND state = 'active'`) !== '0');
  return {
    alive: () => psql('postgres', `SELECT count(*) FROM pg_stat_activity WHERE application_name = '${appName}'`) !== '0',
    stop: async () => {
      child.kill('SIGKILL');
      psql('postgres', `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '${appName}'`);
      await until(`end of ${appName}`, () => psql('postgres', `SELECT count(*) FROM pg_stat_activity WHERE application_name = '${appName}'`) === '0');
    },
  };
}

/** Runs an engine method in its own process group (test/helpers/pg-engine-step.ts), to be killed part-way. */
function stepProcess(method: 'stage' | 'swap', url: string, jobId: string, entryFile: string, memoFile: string, repo?: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/helpers/pg-engine-step.ts'), method, url, jobId, entryFile, memoFile, ...(repo ? [repo] : [])], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { kill: () => process.kill(-child.pid!, 'SIGKILL'), exited, stderr: () => stderr };
}

/** A small database: one table, `rows` rows. */
function smallDb(prefix: string, rows = 1000, owner?: string): string {
  const name = uniqueName(prefix);
  psql('postgres', `CREATE DATABASE ${name}${owner ? ` OWNER ${owner}` : ''}`);
  cleanups.push(() => dropAllLike(name));
  psql(name, `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, ${rows}) g;${owner ? ` ALTER TABLE t OWNER TO ${owner};` : ''}`);
  return name;
}

const oidOf = (database: string) => psql('postgres', `SELECT oid FROM pg_database WHERE datname = '${database}'`);
const allowConn = (database: string) => psql('postgres', `SELECT datallowconn FROM pg_database WHERE datname = '${database}'`);

describe('postgres engine: no outage on any path (issue 7)', () => {
  it('a non-superuser owner with another role\'s session open is refused before any change; with pg_signal_backend the swap ends it', async () => {
    const owner = uniqueName('rbt_app');
    const other = uniqueName('rbt_other');
    const stranger = uniqueName('rbt_stranger');
    const pw = `pw_${uniqueName('x')}`;
    psql('postgres', `CREATE ROLE ${owner} LOGIN CREATEDB PASSWORD '${pw}'; CREATE ROLE ${other} LOGIN PASSWORD '${pw}'; CREATE ROLE ${stranger} LOGIN CREATEDB PASSWORD '${pw}';`);
    const name = smallDb('rbt_pgnsu', 1000, owner);
    cleanups.push(() => {
      dropAllLike(name);
      for (const r of [owner, other, stranger]) psql('postgres', `DROP OWNED BY ${r} CASCADE; DROP ROLE IF EXISTS ${r}`);
    });
    const engine = createEngine({ name: 'main', engine: 'postgres', url: roleUrl(owner, pw, name) }, ctx);
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    const original = pgData(name);
    psql(name, 'DELETE FROM t WHERE id > 500');
    const changed = pgData(name);
    const liveOid = oidOf(name);

    // Not the owner: ALTER DATABASE RENAME would fail at the swap.
    const foreign = createEngine({ name: 'main', engine: 'postgres', url: roleUrl(stranger, pw, name) }, ctx);
    await assert.rejects(foreign.checkRestore(entry, 'nsu0'), (e: Error & { hint?: string; exitCode?: number }) => {
      assert.match(e.message, new RegExp(`${stranger} does not own ${name} \\(owner: ${owner}\\)`));
      assert.match(e.hint ?? '', /OWNER TO|superuser/);
      assert.equal(e.exitCode, 4);
      return true;
    });

    const session = await holdSession(name, other, pw, 'SELECT pg_sleep(600);', `rbt-hold-${other}`);
    try {
      await assert.rejects(engine.checkRestore(entry, 'nsu1'), (e: Error & { hint?: string }) => {
        assert.match(e.message, new RegExp(`may not end 1 of them \\(1 of ${other}\\); nothing was changed`));
        assert.match(e.hint ?? '', /pg_signal_backend/);
        return true;
      });
      assert.equal(allowConn(name), 't');
      assert.deepEqual(pgData(name), changed);

      // The session shows up after the check: the swap refuses at once, changing nothing.
      const job = fakeJob('nsu1', entry);
      await engine.stage(store.read(entry.chunks!, entry.sha256), job);
      await assert.rejects(engine.swap(job), new RegExp(`cannot swap: 1 session\\(s\\) on ${name} belong to roles this user may not end \\(1 of ${other}\\); nothing was changed`));
      assert.equal(oidOf(name), liveOid);
      assert.equal(allowConn(name), 't');
      assert.deepEqual(pgData(name), changed, 'the live database accepts connections and is unchanged');
      assert.ok(session.alive());

      psql('postgres', `GRANT pg_signal_backend TO ${owner}`);
      const check = await engine.checkRestore(entry, 'nsu1');
      assert.ok(check.notes.some((n) => new RegExp(`1 open session\\(s\\) on ${name} \\(1 of ${other}\\) are ended at the swap`).test(english(n))), check.notes.map(english).join('\n'));
      await engine.swap(job);
      assert.deepEqual(pgData(name), original);
      assert.equal(allowConn(name), 't');
      await until('the other role\'s session to end', () => !session.alive());
      await engine.unswap(job);
      assert.deepEqual(pgData(name), changed);
      assert.equal(oidOf(name), liveOid);
      await engine.discardStaged(job);
      assert.deepEqual(databasesLike(name), [name]);
    } finally {
      await session.stop();
    }
  });

  it('a swap killed while it waits (SIGKILL of the process and its psql) changes nothing; the next call finishes it', async () => {
    const name = smallDb('rbt_pgkill', 2000);
    const engine = createEngine({ name: 'main', engine: 'postgres', url: withDatabase(admin, name) }, ctx);
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    const original = pgData(name);
    psql(name, 'DELETE FROM t WHERE id % 2 = 0');
    const changed = pgData(name);
    const liveOid = oidOf(name);
    const dir = tempDir('pgkill');
    const entryFile = join(dir, 'entry.json');
    const memoFile = join(dir, 'memo.json');
    writeFileSync(entryFile, JSON.stringify(entry));
    writeFileSync(memoFile, '{}');
    const jobId = 'kill_swap';
    await stageFrom(engine, store, fakeJob(jobId, entry, memoFile));

    // Another session holds a lock on the database object (COMMENT ON
    // DATABASE in an open transaction), so the swap's
    // rename waits for it (up to its lock timeout): that is when it is killed.
    const holder = await holdSession('postgres', admin.username, password, `BEGIN; COMMENT ON DATABASE ${name} IS 'held'; SELECT pg_sleep(600);`, `rbt-lock-${name}`);
    try {
      const step = stepProcess('swap', withDatabase(admin, name), jobId, entryFile, memoFile);
      await until('the swap to wait for the lock', () => psql('postgres', `SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'git-rollback swap ${jobId} %' AND wait_event_type = 'Lock'`) !== '0');
      step.kill();
      await step.exited;
      assert.ok((JSON.parse(readFileSync(memoFile, 'utf8')) as { liveOid?: string }).liveOid === liveOid, 'the fact was saved before the change');
      // The live database was never closed and is the same one.
      assert.equal(allowConn(name), 't');
      assert.deepEqual(pgData(name), changed);
      assert.equal(oidOf(name), liveOid);
    } finally {
      await holder.stop();
    }
    const job = fakeJob(jobId, entry, memoFile);
    await engine.swap(job);
    assert.deepEqual(pgData(name), original);
    assert.equal(allowConn(name), 't');
    await engine.unswap(job);
    await engine.unswap(job);
    assert.deepEqual(pgData(name), changed);
    assert.equal(oidOf(name), liveOid);
    await engine.discardStaged(job);
    assert.deepEqual(databasesLike(name), [name]);
  });

  it('a stage killed part-way is not swapped in; the next stage replaces it; Ctrl-C (abort) removes what it made', async () => {
    const name = chinookDb('rbt_pgkst');
    const engine = createEngine({ name: 'main', engine: 'postgres', url: withDatabase(admin, name) }, ctx);
    const repo = tempRepo();
    const store = new GitDumpStore(repo);
    const entry = await dumpInto(engine, store);
    const original = pgData(name);
    psql(name, 'DELETE FROM invoice_line');
    const changed = pgData(name);
    const dir = tempDir('pgkst');
    const entryFile = join(dir, 'entry.json');
    const memoFile = join(dir, 'memo.json');
    writeFileSync(entryFile, JSON.stringify(entry));
    writeFileSync(memoFile, '{}');
    const jobId = 'kill_stage';
    const tmp = `${name}_rb_tmp_${jobId}`;

    // The load holds after the dump's first chunk, so the kill lands in it whatever the machine's speed.
    const step = stepProcess('stage', withDatabase(admin, name), jobId, entryFile, memoFile, repo, { PG_STEP_HOLD: '1' });
    await until('the load to start', () => psql('postgres', `SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'git-rollback stage ${jobId} %' AND datname = '${tmp}'`) !== '0', 60, () => `the step said: ${step.stderr() || '(nothing)'}; sessions: ${psql('postgres', `SELECT string_agg(datname || '/' || application_name, ', ') FROM pg_stat_activity WHERE application_name LIKE 'git-rollback%'`)}`);
    step.kill();
    await step.exited;
    assert.deepEqual(pgData(name), changed);
    // The half-made copy is never swapped in.
    await assert.rejects(engine.swap(fakeJob(jobId, entry, memoFile)), /nothing fully staged.*nothing was changed/);
    assert.deepEqual(pgData(name), changed);
    // A new attempt of the stage step replaces it.
    const job = fakeJob(jobId, entry, memoFile);
    await engine.stage(store.read(entry.chunks!, entry.sha256), job);
    await engine.swap(job);
    assert.deepEqual(pgData(name), original);
    await engine.dropParked(jobId);

    // Ctrl-C during a stage: it stops, removes the temp database, and says so.
    const cancelled = fakeJob('cancel1', entry);
    // The dump's first chunk goes in, the rest waits for the Ctrl-C: the load is under way when it comes.
    async function* heldUntilAbort(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      for await (const chunk of source) {
        yield chunk;
        await new Promise((resolve) => cancelled.signal.addEventListener('abort', resolve, { once: true }));
        return;
      }
    }
    const staging = engine.stage(Readable.from(heldUntilAbort(store.read(entry.chunks!, entry.sha256))), cancelled);
    await until('the load to start', () => psql('postgres', `SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'git-rollback stage cancel1 %'`) !== '0');
    cancelled.abort();
    await assert.rejects(staging, (e: Error & { exitCode?: number }) => {
      assert.equal(e.exitCode, 130);
      assert.match(e.message, /cancelled.*removed, nothing live was touched/);
      return true;
    });
    assert.deepEqual(databasesLike(name), [name]);
  });

  it('a live database left closed by an interrupted older swap, or a parked copy left open by a killed dump, is put right by the next call of the job', async () => {
    const name = smallDb('rbt_pgrep', 10);
    const engine = createEngine({ name: 'main', engine: 'postgres', url: withDatabase(admin, name) }, ctx);
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    // As a swap records before it changes anything, then a crash after
    // ALLOW_CONNECTIONS false (what versions before this one did).
    const job = fakeJob('rep1', entry);
    job.memo.liveOid = oidOf(name);
    job.memo.liveAllowConn = true;
    psql('postgres', `ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await engine.discardStaged(job);
    assert.equal(allowConn(name), 't');
    psql('postgres', `ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await engine.unswap(job);
    assert.equal(allowConn(name), 't');

    // A parked copy left open by a dumpParked killed while pg_dump read it is closed again by the next call.
    const swapped = fakeJob('rep2', entry);
    await stageFrom(engine, store, swapped);
    await engine.swap(swapped);
    const parked = `${name}_rollback_rep2`;
    psql('postgres', `ALTER DATABASE ${parked} ALLOW_CONNECTIONS true`);
    await engine.swap(swapped);
    assert.equal(allowConn(parked), 'f');
    assert.equal(allowConn(name), 't');
    await engine.dropParked('rep2');
  });
});

describe('postgres engine: absent databases, long names, digest', () => {
  it('a database absent at the point: dump says absent, the restore parks the live one, unswap brings it back', async () => {
    const name = uniqueName('rbt_pgabs');
    const engine = createEngine({ name: 'main', engine: 'postgres', url: withDatabase(admin, name) }, ctx);
    const store = new GitDumpStore(tempRepo());
    await assert.rejects(engine.dump(sink()), /does not exist/);
    const absent = await dumpInto(engine, store, (out) => engine.dump(out, { allowAbsent: true }));
    assert.equal(absent.absent, true);
    assert.equal(absent.size, 0);

    psql('postgres', `CREATE DATABASE ${name}`);
    cleanups.push(() => dropAllLike(name));
    psql(name, 'CREATE TABLE t (x int); INSERT INTO t VALUES (1);');
    const liveOid = oidOf(name);
    const job = fakeJob('abs1', absent);
    const check = await stageFrom(engine, store, job);
    assert.ok(check.notes.some((n) => /the point has no .*parked as/.test(english(n))), check.notes.map(english).join('\n'));
    await engine.swap(job);
    await engine.swap(job);
    assert.deepEqual(databasesLike(name), [`${name}_rollback_abs1`]);
    assert.equal(await engine.fingerprint(), 'absent');
    // Its backup: the parked copy's dump.
    const backup = await dumpInto(engine, store, (out) => engine.dumpParked!(job, out));
    assert.equal(backup.absent, undefined);
    await engine.unswap(job);
    assert.deepEqual(databasesLike(name), [name]);
    assert.equal(oidOf(name), liveOid);
    assert.equal(allowConn(name), 't');
    assert.equal(psql(name, 'SELECT count(*) FROM t'), '1');
  });

  it('long database names: temp names stay within 63 bytes, and leftovers() finds them with their job ids', async () => {
    const name = `rbt_${'long_name_'.repeat(5)}${uniqueName('x')}`.slice(0, 60);
    const engine = createEngine({ name: 'main', engine: 'postgres', url: withDatabase(admin, name) }, ctx);
    psql('postgres', `CREATE DATABASE ${name}`);
    cleanups.push(() => dropAllLike(name.slice(0, 30)));
    psql(name, 'CREATE TABLE t (x int); INSERT INTO t VALUES (7);');
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    const job = fakeJob('20261123_010203', entry);
    await stageFrom(engine, store, job);
    await engine.swap(job);
    const objects = engine.tempObjects(job.jobId);
    for (const o of objects) assert.ok(Buffer.byteLength(o.name) <= 63, o.name);
    const left = await engine.leftovers();
    assert.deepEqual(left.map((o) => [o.role, o.name, o.jobId]), [['parked', objects[1]!.name, '20261123_010203']]);
    await engine.dropParked(job.jobId);
    assert.deepEqual(await engine.leftovers(), []);
  });

  it('digest: two dumps of the same database compare equal (pg_dump\'s random \\restrict key aside), a change does not', async () => {
    const name = smallDb('rbt_pgdig', 500);
    const engine = createEngine({ name: 'main', engine: 'postgres', url: withDatabase(admin, name) }, ctx);
    const store = new GitDumpStore(tempRepo());
    const a = await dumpInto(engine, store);
    const b = await dumpInto(engine, store);
    const digestOf = (e: DatabaseEntry) => engine.digest!(store.read(e.chunks!, e.sha256));
    if (a.sha256 === b.sha256) assert.fail('expected pg_dump to write a random \\restrict key (15.14+) or the test to be revisited');
    assert.equal(await digestOf(a), await digestOf(b));
    psql(name, `ALTER DATABASE ${name} SET app.x = '1'`);
    const c = await dumpInto(engine, store);
    assert.notEqual(await digestOf(c), await digestOf(a), 'a database setting is part of what is compared');
    psql(name, `ALTER DATABASE ${name} RESET app.x; UPDATE t SET v = 'x' WHERE id = 1`);
    const d = await dumpInto(engine, store);
    assert.notEqual(await digestOf(d), await digestOf(a));
  });
});

describe('postgres engine: database-level state (issue 8)', () => {
  /** The fixture database: ICU, settings, role settings, ACL, connection limit, comment, owner. */
  function attributesDb(): { name: string; owner: string; reader: string } {
    const name = uniqueName('rbt_pgattr');
    const owner = `${name}_own`;
    const reader = `${name}_rd`;
    psql('postgres', `CREATE ROLE ${owner} NOLOGIN; CREATE ROLE ${reader} NOLOGIN;`);
    psql('postgres', `CREATE DATABASE ${name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'und' LOCALE 'C.UTF-8'`);
    cleanups.push(() => {
      dropAllLike(name);
      for (const r of [owner, reader]) psql('postgres', `DROP ROLE IF EXISTS ${r}`);
    });
    const fixture = readFileSync(join(repoRoot, 'test/fixtures/postgres-attributes.sql'), 'utf8');
    psql(name, fixture.replaceAll('__DB__', name).replaceAll('__OWNER__', owner).replaceAll('__READER__', reader));
    return { name, owner, reader };
  }

  /** What the application sees: rows the RLS policy lets the reader read (via the database setting), and ICU order. */
  const visibleRows = (db: string, reader: string) => psql(db, `SET ROLE ${reader}; SELECT count(*) FROM tenant_rows;`);
  const order = (db: string) => psql(db, `SELECT string_agg(w, ',' ORDER BY w) FROM words`);

  it('carries settings, role settings, ACL, connection limit, ICU locale, owner and comment through stage+swap, unswap, dumpParked and fast undo', async () => {
    const { name, owner, reader } = attributesDb();
    assert.equal(visibleRows(name, reader), '1000');
    assert.equal(order(name), 'a,ä,B,z');
    const pointState = pgFingerprint(name);
    assert.match(pointState['database settings']!, /^\*: app\.tenant=acme \| search_path="\$user", public, "we ird" \| app\.motto=it's a C:\\path$/m);
    assert.match(pointState['database acl']!, new RegExp(`^\\{${owner}=CTc/${owner},${reader}=C\\*c/${owner}\\}$`));

    const engine = createEngine({ name: 'main', engine: 'postgres', url: withDatabase(admin, name) }, ctx);
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    const attributes = entry.details!.attributes as Record<string, unknown>;
    assert.equal(attributes.owner, owner);
    assert.equal(attributes.localeProvider, 'icu');
    assert.equal(attributes.locale, 'und');
    assert.equal(attributes.connectionLimit, 50);
    assert.deepEqual(attributes.settings, ['app.tenant', 'search_path', 'app.motto']);
    assert.doesNotMatch(JSON.stringify(entry.details), /acme|motto=|C:|we ird|second line/, 'setting values and the comment stay inside the dump');

    // Now: another database under the same name, made the way the issue saw
    // it come back (libc, no settings, CONNECT for everyone, owner changed).
    psql('postgres', `ALTER DATABASE ${name} RENAME TO ${name}_gone`);
    cleanups.push(() => dropAllLike(`${name}_gone`));
    psql('postgres', `CREATE DATABASE ${name} TEMPLATE template0 LOCALE 'C.UTF-8'`);
    psql(name, `CREATE TABLE words (w text); INSERT INTO words VALUES ('z'), ('B'), ('ä'), ('a'), ('new');
      CREATE TABLE tenant_rows (id int PRIMARY KEY, tenant text NOT NULL, v text);`);
    psql('postgres', `ALTER DATABASE ${name} SET app.tenant = 'other'; COMMENT ON DATABASE ${name} IS 'now';`);
    assert.equal(order(name), 'B,a,new,z,ä');
    const nowState = pgFingerprint(name);
    for (const key of ['owner', 'locale', 'acl', 'connectionLimit', 'comment', 'settings']) {
      assert.notEqual(nowState[`database ${key}`], pointState[`database ${key}`], key);
    }

    const jobId = 'attr_to';
    const job = fakeJob(jobId, entry);
    const check = await stageFrom(engine, store, job);
    const carried = check.notes.map(english).find((n) => n.startsWith('carries '));
    assert.ok(carried, check.notes.map(english).join('\n'));
    for (const part of [`owner ${owner}`, 'icu locale und', 'connection limit 50', `privileges (${owner}: CREATE/TEMPORARY/CONNECT; ${reader}: CREATE with grant option/CONNECT; PUBLIC none)`,
      'settings app.tenant, search_path, app.motto', `role settings ${reader}: work_mem, app.tenant`, 'comment']) {
      assert.ok(carried.includes(part), `${part} in: ${carried}`);
    }
    await engine.swap(job);
    assert.deepEqual(pgFingerprint(name), pointState, 'after stage + swap: the database as it was at the point');
    assert.equal(visibleRows(name, reader), '1000', 'the RLS policy reads the database setting again');
    assert.equal(order(name), 'a,ä,B,z');

    await engine.unswap(job);
    assert.deepEqual(pgFingerprint(name), nowState, 'after unswap: the database as it was before');
    await engine.swap(job);
    assert.deepEqual(pgFingerprint(name), pointState);

    // The automatic backup's dump, from the parked copy: it records the
    // state the database had when it was live (connections on).
    const backup = await dumpInto(engine, store, (out) => engine.dumpParked!(job, out));
    assert.equal((backup.details!.attributes as { localeProvider: string }).localeProvider, 'libc');
    const parked = backup.details!.parked as { jobId: string; oid: string };
    assert.equal(parked.jobId, jobId);

    // Fast undo: the parked copy becomes the undo job's staged copy by a rename.
    const undo = fakeJob('attr_undo', backup);
    assert.equal(await engine.adoptParked!(jobId, undo), true);
    assert.equal(await engine.adoptParked!(jobId, undo), true, 'twice: already adopted');
    await engine.swap(undo);
    assert.deepEqual(pgFingerprint(name), nowState, 'after fast undo: the database as it was before the rollback');
    assert.equal(oidOf(name), parked.oid, 'the very same database, not a copy');
    // A revert of the undo: the adopted copy goes back to being job attr_to's parked copy.
    await engine.unswap(undo);
    await engine.discardStaged(undo);
    assert.deepEqual(pgFingerprint(name), pointState);
    assert.equal(oidOf(`${name}_rollback_${jobId}`), parked.oid);
    assert.equal(allowConn(`${name}_rollback_${jobId}`), 'f');

    // Undo from the stored dump (what happens once the parked copy is pruned): the same state.
    const slow = fakeJob('attr_undo2', backup);
    await stageFrom(engine, store, slow);
    await engine.swap(slow);
    assert.deepEqual(pgFingerprint(name), nowState, 'after undo from the dump: the database as it was before the rollback');
    await engine.unswap(slow);
    await engine.discardStaged(slow);

    // Written to since its dump: the parked copy is not adopted, nothing changes.
    psql('postgres', `ALTER DATABASE ${name}_rollback_${jobId} ALLOW_CONNECTIONS true`);
    psql(`${name}_rollback_${jobId}`, `INSERT INTO words VALUES ('sneaky')`);
    psql('postgres', `ALTER DATABASE ${name}_rollback_${jobId} ALLOW_CONNECTIONS false`);
    const recorded = (backup.details!.parked as { writes: string }).writes;
    await until('stats of the write', () => psql('postgres', `SELECT tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datid = ${parked.oid}`) !== recorded);
    const refused = fakeJob('attr_undo3', backup);
    assert.equal(await engine.adoptParked!(jobId, refused), false);
    assert.equal(oidOf(`${name}_rollback_${jobId}`), parked.oid);
    assert.deepEqual(databasesLike(name).filter((d) => !d.endsWith('_gone')), [name, `${name}_rollback_${jobId}`]);
    await engine.dropParked(jobId);
  });

  it('refuses before any change what cannot be carried: a missing tablespace, a missing role; a non-superuser owner gets a clear reason for settings it may not set', async () => {
    const { name, owner } = attributesDb();
    const engine = createEngine({ name: 'main', engine: 'postgres', url: withDatabase(admin, name) }, ctx);
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    const before = pgFingerprint(name);
    const attributes = entry.details!.attributes as Record<string, unknown>;
    const withTablespace = { ...entry, details: { ...entry.details, attributes: { ...attributes, tablespace: 'rbt_no_such_space' } } };
    await assert.rejects(engine.checkRestore(withTablespace, 'refuse1'), /tablespace rbt_no_such_space of .* does not exist on this server/);
    const withRole = { ...entry, details: { ...entry.details, attributes: { ...attributes, owner: 'rbt_no_such_role' } } };
    await assert.rejects(engine.checkRestore(withRole, 'refuse1'), (e: Error & { hint?: string }) => {
      assert.match(e.message, /role\(s\) rbt_no_such_role .* do not exist on this server/);
      assert.match(e.hint ?? '', /CREATE ROLE|noOwner/);
      return true;
    });
    // A non-superuser owner may not set another role's settings in the database.
    const pw = `pw_${uniqueName('x')}`;
    psql('postgres', `ALTER ROLE ${owner} LOGIN CREATEDB PASSWORD '${pw}'`);
    const asOwner = createEngine({ name: 'main', engine: 'postgres', url: roleUrl(owner, pw, name) }, ctx);
    await assert.rejects(asOwner.checkRestore(entry, 'refuse2'), (e: Error & { hint?: string }) => {
      assert.match(e.message, /may not set every database-level setting/);
      assert.doesNotMatch(e.message, /acme|8MB/);
      return true;
    });
    assert.deepEqual(pgFingerprint(name), before, 'nothing changed');
    assert.deepEqual(databasesLike(name), [name]);
    assert.equal(pgDatabaseAttributes(name).allowConnections, 't');
  });
});
