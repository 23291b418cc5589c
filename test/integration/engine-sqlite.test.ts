// The SQLite engine's restore steps driven by hand, as the step runner drives
// them (possibly across processes: the memo is reloaded as saved): Chinook in
// WAL mode owned by nobody:nogroup with mode 0664, restored and swapped back
// exactly (rows, schema, pragmas, journal mode, mode, owner, the very inode);
// every step run twice and after a crash inside itself; parked copies, fast
// undo, absent files, corrupt and cancelled stages.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, linkSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statfsSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from 'esbuild';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GitDumpStore } from '../../src/adapters/dump-store.js';
import { createEngine } from '../../src/adapters/engines/index.js';
import { racyWindowMs } from '../../src/adapters/engines/sqlite-facts.js';
import { tmpdir } from 'node:os';
import { chinookSql, repoRoot, tempDir, tempRepo } from '../helpers/servers.js';
import { corrupted, dumpInto, dumpParkedInto, entryOf, readEntry, sink, stageFrom, testJob } from '../helpers/kv-job.js';
import { sqlite3, sqliteFull } from '../helpers/kv-state.js';
import { english, type Msg } from '../../src/core/i18n.js';

const NOBODY = 65534;
const cleanups: string[] = [];
after(() => cleanups.forEach((d) => rmSync(d, { recursive: true, force: true })));

function setup(file = 'data/app.db') {
  const dir = tempDir('sqlite');
  cleanups.push(dir);
  const engine = createEngine({ name: 'local', engine: 'sqlite', path: file }, { cwd: dir, env: process.env });
  return { dir, db: join(dir, file), engine, store: new GitDumpStore(tempRepo()) };
}

function chinook(db: string) {
  sqlite3(db, `PRAGMA journal_mode=WAL;\nPRAGMA user_version=42;\nPRAGMA application_id=1234;\n${chinookSql('Chinook_Sqlite.sql')}`);
  chownSync(db, NOBODY, NOBODY);
  chmodSync(db, 0o664);
}

const ourFiles = (dir: string) => readdirSync(dir).filter((f) => f.includes('.rb-')).sort();

describe('sqlite engine', () => {
  it('restores Chinook exactly (WAL, pragmas, mode, owner) and swaps back to the very same file', async () => {
    const { dir, db, engine, store } = setup();
    mkdirSync(join(dir, 'data'));
    chinook(db);
    const original = sqliteFull(db);
    assert.equal(original.journal_mode, 'wal');
    assert.equal(original.owner, `${NOBODY}:${NOBODY}`);
    const entry = await dumpInto(engine, store);
    assert.equal(entry.format, 'sqlite-file');
    assert.equal(entry.details?.journalMode, 'wal');
    assert.equal(entry.details?.mode, '0664');

    sqlite3(db, 'ALTER TABLE Album ADD COLUMN Note TEXT; DELETE FROM InvoiceLine WHERE InvoiceLineId % 3 = 0; CREATE TABLE Extra (x); PRAGMA user_version=43;');
    const changed = sqliteFull(db);
    assert.notDeepEqual(changed, original);
    const before = await engine.fingerprint();

    const job = testJob('20261123_010203', entry);
    const check = await engine.checkRestore(entry, job.jobId);
    assert.ok(check.notes.some((n) => /mode 0664, owner 65534:65534/.test(english(n))), check.notes.map(english).join('\n'));
    assert.deepEqual(engine.tempObjects(job.jobId).map((o) => `${o.role} ${o.name}`), [
      'staged data/.app.db.rb-stage-20261123_010203', 'parked data/.app.db.rb-old-20261123_010203',
    ]);
    await stageFrom(engine, store, job);
    assert.deepEqual(sqliteFull(db), changed, 'stage must not touch the live file');
    await engine.swap(job);
    assert.deepEqual(sqliteFull(db), original);
    await engine.swap(job.reload()); // twice, in a "new process": nothing more happens
    assert.deepEqual(sqliteFull(db), original);
    assert.deepEqual(ourFiles(join(dir, 'data')), ['.app.db.rb-old-20261123_010203']);

    await engine.unswap(job.reload());
    assert.deepEqual(sqliteFull(db), changed);
    assert.equal(await engine.fingerprint(), before, 'the very same file is back');
    await engine.unswap(job.reload());
    await engine.discardStaged(job.reload());
    await engine.discardStaged(job.reload());
    assert.deepEqual(sqliteFull(db), changed);
    assert.deepEqual(ourFiles(join(dir, 'data')), []);
    assert.deepEqual(await engine.leftovers(), []);
  });

  it('parks the previous file, stores its dump, and undoes with a rename of it (fast undo)', async () => {
    const { dir, db, engine, store } = setup('app.db');
    chinook(db);
    const original = sqliteFull(db);
    const point = await dumpInto(engine, store);
    sqlite3(db, 'DELETE FROM Track WHERE TrackId > 100; CREATE TABLE Later (x);');
    const changed = sqliteFull(db);

    const job = testJob('job1', point);
    await stageFrom(engine, store, job);
    await engine.swap(job);
    assert.deepEqual(sqliteFull(db), original);
    const backup = await dumpParkedInto(engine, job.reload(), store);
    assert.equal(backup.format, 'sqlite-file');
    assert.equal((backup.details?.parked as { jobId: string }).jobId, 'job1');
    assert.deepEqual((await engine.leftovers()).map((o) => `${o.role} ${o.jobId}`), ['parked job1']);

    // undo: the backup entry says it came from job1's parked copy.
    const undo = testJob('job2', backup);
    await engine.checkRestore(backup, undo.jobId);
    assert.equal(await engine.adoptParked!('job1', undo), true);
    assert.equal(await engine.adoptParked!('job1', undo.reload()), true, 'adopting twice is fine');
    await engine.swap(undo);
    assert.deepEqual(sqliteFull(db), changed);
    assert.deepEqual(ourFiles(dir), ['.app.db.rb-old-job2']);
    await engine.dropParked('job2');
    await engine.dropParked('job2');
    assert.deepEqual(ourFiles(dir), []);

    // The stored backup restores the same state when the parked copy is gone (or changed).
    const again = testJob('job3', backup);
    assert.equal(await engine.adoptParked!('job1', again), false);
    await stageFrom(engine, store, again);
    await engine.swap(again);
    assert.deepEqual(sqliteFull(db), changed);
  });

  it('refuses to adopt a parked copy that changed after its dump', async () => {
    const { db, engine, store } = setup('app.db');
    chinook(db);
    const point = await dumpInto(engine, store);
    sqlite3(db, 'DELETE FROM Track;');
    const job = testJob('job1', point);
    await stageFrom(engine, store, job);
    await engine.swap(job);
    const backup = await dumpParkedInto(engine, job, store);
    // An app connection still open on the old file writes to it.
    sqlite3(join(db, '..', '.app.db.rb-old-job1'), 'INSERT INTO Genre (GenreId, Name) VALUES (999, \'late write\');');
    assert.equal(await engine.adoptParked!('job1', testJob('job2', backup)), false);
  });

  it('finishes or reverts a swap interrupted after the old file was linked, and an unswap interrupted half-way', async () => {
    const { dir, db, engine, store } = setup('app.db');
    chinook(db);
    const original = sqliteFull(db);
    const point = await dumpInto(engine, store);
    sqlite3(db, 'DELETE FROM Track WHERE TrackId % 2 = 0;');
    const changed = sqliteFull(db);
    const parked = join(dir, '.app.db.rb-old-j1');
    const staged = join(dir, '.app.db.rb-stage-j1');

    // Crash inside swap: memo saved, old file linked as parked, staged not yet renamed.
    let job = testJob('j1', point);
    await stageFrom(engine, store, job);
    job.memo.liveExisted = true;
    await job.save();
    linkSync(db, parked);
    await engine.unswap(job.reload()); // --abort
    assert.deepEqual(sqliteFull(db), changed);
    assert.ok(!existsSync(parked));
    await engine.swap(job.reload()); // or --continue
    assert.deepEqual(sqliteFull(db), original);

    // Crash inside unswap: the restored file already linked back as staged.
    job = job.reload();
    linkSync(db, staged);
    await engine.unswap(job);
    assert.deepEqual(sqliteFull(db), changed);
    await engine.unswap(job.reload());
    assert.deepEqual(sqliteFull(db), changed);
    await engine.discardStaged(job);
    assert.deepEqual(ourFiles(dir), []);

    // Crash inside swap on a filesystem without hard links: live renamed away, staged not yet live.
    job = testJob('j2', point);
    await stageFrom(engine, store, job);
    job.memo.liveExisted = true;
    await job.save();
    renameSync(db, join(dir, '.app.db.rb-old-j2'));
    await engine.swap(job.reload());
    assert.deepEqual(sqliteFull(db), original);
    await engine.unswap(job.reload());
    assert.deepEqual(sqliteFull(db), changed);
  });

  it('an absent file: dumped as absent, restored by parking the live file, and created by a restore of a real dump', async () => {
    const { dir, db, engine, store } = setup('app.db');
    await assert.rejects(engine.dump(sink()), /app\.db does not exist/);
    const absent = await dumpInto(engine, store, { allowAbsent: true });
    assert.equal(absent.absent, true);
    assert.equal(absent.size, 0);

    chinook(db);
    const live = sqliteFull(db);
    const point = await dumpInto(engine, store);

    // Restoring "absent" parks the live file; unswap puts it back.
    const job = testJob('gone', absent);
    assert.ok((await engine.checkRestore(absent, job.jobId)).notes.some((n) => /did not exist at the point/.test(english(n))));
    await stageFrom(engine, store, job);
    await engine.swap(job);
    assert.ok(!existsSync(db));
    await engine.swap(job.reload());
    const parkedDump = await dumpParkedInto(engine, job.reload(), store);
    assert.equal(parkedDump.absent, undefined);
    await engine.unswap(job.reload());
    assert.deepEqual(sqliteFull(db), live);
    await engine.unswap(job.reload());
    assert.deepEqual(sqliteFull(db), live);

    // Restoring a real dump where there is no file creates it, with the mode and owner recorded at the point.
    await engine.swap(job.reload());
    await engine.dropParked('gone');
    assert.ok(!existsSync(db));
    const create = testJob('create', point);
    assert.ok((await engine.checkRestore(point, create.jobId)).notes.some((n) => /does not exist now: the restore creates it/.test(english(n))));
    await stageFrom(engine, store, create);
    await engine.swap(create);
    assert.deepEqual(sqliteFull(db), live);
    const noPrevious = await dumpParkedInto(engine, create, store);
    assert.equal(noPrevious.absent, true);
    await engine.unswap(create.reload());
    assert.ok(!existsSync(db));
    await engine.discardStaged(create);
    assert.deepEqual(ourFiles(dir), []);
  });

  it('refuses a corrupt dump and a cancelled stage with nothing live touched and nothing left', async () => {
    const { dir, db, engine, store } = setup('app.db');
    chinook(db);
    const point = await dumpInto(engine, store);
    const live = sqliteFull(db);
    const bad = corrupted(store, point);
    await assert.rejects(engine.stage(readEntry(store, bad), testJob('bad', bad)), /checksum|does not match/);
    assert.deepEqual(ourFiles(dir), []);

    const job = testJob('cancel', point);
    job.controller.abort();
    await assert.rejects(engine.stage(readEntry(store, point), job), /cancelled/);
    assert.deepEqual(ourFiles(dir), []);
    await assert.rejects(engine.swap(testJob('never-staged', point)), /nothing is staged/);
    assert.deepEqual(sqliteFull(db), live);
  });

  it('digest: a fresh dump and a stored one compare equal when the data is, and differ when it is not', async () => {
    const { db, engine, store } = setup('app.db');
    chinook(db);
    const first = await dumpInto(engine, store);
    sqlite3(db, 'VACUUM;');
    const second = await dumpInto(engine, store);
    const digest = (e: typeof first) => engine.digest!(readEntry(store, e));
    assert.equal(await digest(first), await digest(second));
    sqlite3(db, 'UPDATE Artist SET Name = Name || \'!\' WHERE ArtistId = 1;');
    assert.notEqual(await digest(await dumpInto(engine, store)), await digest(first));
  });

  for (const mode of ['WAL', 'DELETE']) {
    it(`dumps one consistent state while another process writes (journal_mode ${mode})`, async () => {
      const { dir, db, engine, store } = setup('app.db');
      // 8 MiB to start with, so that copying takes long enough for writers to commit meanwhile.
      sqlite3(db, `PRAGMA journal_mode=${mode}; CREATE TABLE c (id INTEGER PRIMARY KEY, v INT); INSERT INTO c VALUES (1, 0), (2, 0); CREATE TABLE log (b BLOB);
        CREATE TABLE filler (b BLOB); WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 2000) INSERT INTO filler SELECT randomblob(4000) FROM n;`);
      // Each transaction moves both counters and appends 4 KiB: a torn copy shows as unequal counters or a broken file.
      const txn = "BEGIN; UPDATE c SET v = v + 1; INSERT INTO log VALUES (randomblob(4000)); COMMIT;\n";
      const writer = spawn('sqlite3', ['-batch', db], { stdio: ['pipe', 'pipe', 'ignore'] });
      writer.stdin.write('.timeout 10000\n');
      // One transaction at a time: the next is sent when the last one answered.
      let answered = 0;
      writer.stdout.on('data', (chunk: Buffer) => {
        answered += chunk.toString().split('\n').length - 1;
      });
      let writing = true;
      const feeding = (async () => {
        for (let sent = 1; writing && writer.exitCode === null; sent++) {
          writer.stdin.write(`${txn}SELECT 'ok';\n`);
          while (answered < sent && writing) await sleep(1);
        }
      })();
      let entry;
      try {
        await sleep(300);
        entry = await dumpInto(engine, store);
      } finally {
        writing = false;
        await feeding;
        const exited = new Promise((r) => writer.once('exit', r));
        writer.stdin.end();
        await exited;
      }
      const job = testJob('pit', entry);
      await stageFrom(engine, store, job);
      const staged = join(dir, '.app.db.rb-stage-pit');
      assert.equal(sqlite3(staged, 'PRAGMA quick_check;'), 'ok');
      const [v1, v2, logged] = sqlite3(staged, 'SELECT v FROM c ORDER BY id; SELECT count(*) FROM log;').split('\n').map(Number);
      assert.ok(v1! > 0, 'the writer had committed before the dump');
      assert.equal(v1, v2, 'both counters from one transaction');
      assert.equal(logged, v1, 'and the rows of exactly those transactions');
      assert.equal(sqlite3(staged, 'PRAGMA journal_mode;'), mode.toLowerCase());
      await engine.discardStaged(job);
    });
  }

  it('reads a WAL file with no WAL frames in place: a commit made while it streams is not in the dump, nor is the file taken as unchanged', async () => {
    const { dir, db, engine, store } = setup('app.db');
    sqlite3(db, `PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB);
      WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 500) INSERT INTO t SELECT x, randomblob(4000) FROM n;`);
    assert.equal(existsSync(`${db}-wal`), false, 'the last connection folded and removed the WAL');
    // A writer commits once the first bytes have been streamed, i.e. while our read transaction holds the file.
    const pass = new PassThrough();
    let wrote = false;
    pass.once('data', () => {
      sqlite3(db, 'INSERT INTO t VALUES (1000, zeroblob(10));');
      wrote = true;
    });
    const [outcome, stored] = await Promise.all([engine.dump(pass), store.write(pass)]);
    assert.ok(wrote);
    const entry = { ...entryOf(engine, outcome, stored) };
    assert.equal(entry.details?.source, undefined, 'the WAL moved while it was read: not recorded as the identity of the file');
    assert.equal(entry.details?.checked, 'quick_check');
    assert.equal(sqlite3(db, 'SELECT count(*) FROM t;'), '501', 'the write went through');
    const job = testJob('inplace', entry);
    await stageFrom(engine, store, job);
    const staged = join(dir, '.app.db.rb-stage-inplace');
    assert.equal(sqlite3(staged, 'PRAGMA quick_check;'), 'ok');
    assert.equal(sqlite3(staged, 'SELECT count(*) FROM t;'), '500', 'the state when the dump began');
    await engine.discardStaged(job);
  });

  it('a broken file is still dumped (with a warning) and restored as it was; an old dump is still integrity-checked', async () => {
    const { dir, db, engine, store } = setup('app.db');
    sqlite3(db, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 2000) INSERT INTO t SELECT x, hex(randomblob(100)) FROM n; CREATE INDEX t_v ON t(v);`);
    const good = await dumpInto(engine, store);
    assert.equal(good.details?.checked, 'quick_check');
    assert.equal(good.warnings, undefined);
    // Break an index page in the middle of the file, as a bad disk would.
    const pageSize = Number(sqlite3(db, 'PRAGMA page_size;'));
    const rootpage = Number(sqlite3(db, "SELECT rootpage FROM sqlite_schema WHERE name = 't_v';"));
    const fd = openSync(db, 'r+');
    writeSync(fd, Buffer.alloc(200, 0x41), 0, 200, (rootpage - 1) * pageSize + 8);
    closeSync(fd);
    const broken = await dumpInto(engine, store);
    assert.equal(broken.details?.checked, 'quick_check: failed');
    assert.match(broken.warnings?.[0] ?? '', /app\.db fails PRAGMA quick_check .*stored as it is/);
    assert.ok((await engine.checkRestore(broken, 'b')).notes.some((n) => /already failed PRAGMA quick_check/.test(english(n))));

    // Older dumps (no `checked`) get integrity_check at restore: a broken one is refused, nothing left.
    const old = { ...broken, details: { ...broken.details, checked: undefined } };
    await assert.rejects(engine.stage(readEntry(store, old), testJob('old', old)), /fails integrity_check/);
    assert.deepEqual(ourFiles(dir), []);
    // Bytes that are no SQLite file at all are refused whatever the entry says.
    const pass = new PassThrough();
    pass.end(Buffer.alloc(8192, 0x42));
    const junk = { ...good, ...(await store.write(pass)) };
    await assert.rejects(engine.stage(readEntry(store, junk), testJob('junk', junk)), /not an SQLite database/);
    assert.deepEqual(ourFiles(dir), []);
  });

  it('tells when the live file is provably the one a point was dumped from (unchanged repeat)', async () => {
    const { db, engine, store } = setup('app.db');
    chinook(db);
    const sqliteEngine = engine as typeof engine & { unchangedSince(e: unknown): Promise<boolean> };
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(db, old, old);
    const first = await dumpInto(engine, store);
    assert.equal(await sqliteEngine.unchangedSince(first), true);
    assert.equal(await sqliteEngine.unchangedSince({ ...first, details: { ...first.details, path: 'other.db' } }), false);
    sqlite3(db, "UPDATE Artist SET Name = 'x' WHERE ArtistId = 1;");
    assert.equal(await sqliteEngine.unchangedSince(first), false, 'a write (into the WAL) is a change');
    // Written within the racy window of the dump (stamped ahead, so that this does not depend on how fast the dump starts).
    const soon = new Date(Date.now() + 60_000);
    utimesSync(db, soon, soon);
    const second = await dumpInto(engine, store);
    assert.equal(await sqliteEngine.unchangedSince(second), false, 'written just before the dump: not trusted (racy)');
    sqlite3(db, 'PRAGMA wal_checkpoint(TRUNCATE);');
    utimesSync(db, old, old);
    const third = await dumpInto(engine, store);
    assert.equal(await sqliteEngine.unchangedSince(third), true);
    assert.notEqual(third.sha256, first.sha256);
  });

  it('trusts an mtime 100 ms old on file systems with nanosecond timestamps, 2 s elsewhere', async () => {
    assert.equal(await racyWindowMs('/no/such/dir/app.db'), 2000);
    const fine = new Set([0xef53, 0x58465342, 0x9123683e, 0x01021994, 0xf2f52010]);
    for (const dir of [tmpdir(), '/dev/shm']) {
      const fs = statfsSync(dir, { bigint: false }) as { type: number } | undefined;
      if (fs) assert.equal(await racyWindowMs(dir), process.platform === 'linux' && fine.has(fs.type) ? 100 : 2000, dir);
    }
  });

  it('run by a user who may not give files away: the plan says the owner cannot be kept, and the swap warns', async () => {
    const { dir, db } = setup('app.db');
    chmodSync(dir, 0o777);
    sqlite3(db, 'CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    chmodSync(db, 0o666); // root's file, which nobody may replace in this shared folder
    const script = join(dir, 'as-nobody.mts');
    writeFileSync(script, `
      import { Readable, Writable } from 'node:stream';
      import { createEngine } from ${JSON.stringify(join(repoRoot, 'src/adapters/engines/index.ts'))};
      const engine = createEngine({ name: 'local', engine: 'sqlite', path: 'app.db' }, { cwd: ${JSON.stringify(dir)}, env: process.env });
      const chunks = [];
      const outcome = await engine.dump(new Writable({ write(c, _e, done) { chunks.push(c); done(); } }));
      const entry = { name: 'local', engine: 'sqlite', format: outcome.format, path: 'db/local.sqlite', size: 0, sha256: '', tool: '', ms: 0, details: outcome.details };
      const warnings = [];
      const job = { jobId: 'nobody', entry, memo: {}, async save() {}, signal: new AbortController().signal, warn: (t) => warnings.push(t) };
      const { notes } = await engine.checkRestore(entry, job.jobId);
      await engine.stage(Readable.from([Buffer.concat(chunks)]), job);
      await engine.swap(job);
      console.log(JSON.stringify({ notes, warnings }));
    `);
    // Bundled into the shared folder: user nobody may not be able to read the
    // checkout (a clone in /root, or in a 0700 temp dir as CI's).
    const bundled = join(dir, 'as-nobody.mjs');
    await build({
      entryPoints: [script],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: bundled,
      logLevel: 'silent',
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    const out = execFileSync('runuser', ['-u', 'nobody', '--', process.execPath, bundled], { cwd: dir, encoding: 'utf8' });
    const parsed = JSON.parse(out.trim().split('\n').pop()!) as { notes: Array<string | Msg>; warnings: Array<string | Msg> };
    const notes = parsed.notes.map(english);
    const warnings = parsed.warnings.map(english);
    assert.ok(notes.some((n) => /cannot keep owner 0 .*will belong to uid 65534/.test(english(n))), notes.join('\n'));
    assert.ok(warnings.some((w) => /cannot give it owner 0:0 \(EPERM\)/.test(w)), warnings.join('\n'));
    assert.equal(statSync(db).uid, NOBODY, 'the plan told the truth');
    assert.equal((statSync(db).mode & 0o777).toString(8), '666', 'the mode is kept');
    assert.equal(sqlite3(db, 'SELECT count(*) FROM t;'), '1');
  });

  it('keeps a non-WAL database in its journal mode', async () => {
    const { db, engine, store } = setup('app.db');
    sqlite3(db, 'CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    const point = await dumpInto(engine, store);
    sqlite3(db, 'PRAGMA journal_mode=WAL; INSERT INTO t VALUES (2);');
    const job = testJob('j', point);
    await stageFrom(engine, store, job);
    await engine.swap(job);
    assert.equal(sqliteFull(db).journal_mode, 'delete', 'the point\'s journal mode');
    assert.equal(statSync(db).size > 0, true);
  });
});

