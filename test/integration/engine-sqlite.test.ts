// The SQLite engine's restore steps driven by hand, as the step runner drives
// them (possibly across processes: the memo is reloaded as saved): Chinook in
// WAL mode owned by nobody:nogroup with mode 0664, restored and swapped back
// exactly (rows, schema, pragmas, journal mode, mode, owner, the very inode);
// every step run twice and after a crash inside itself; parked copies, fast
// undo, absent files, corrupt and cancelled stages.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GitDumpStore } from '../../src/adapters/dump-store.js';
import { createEngine } from '../../src/adapters/engines/index.js';
import { chinookSql, tempDir, tempRepo } from '../helpers/servers.js';
import { corrupted, dumpInto, dumpParkedInto, readEntry, sink, stageFrom, testJob } from '../helpers/kv-job.js';
import { sqlite3, sqliteFull } from '../helpers/kv-state.js';

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
    assert.ok(check.notes.some((n) => /mode 0664, owner 65534:65534/.test(n)), check.notes.join('\n'));
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
    assert.equal((backup.details?.parked as { job: string }).job, 'job1');
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
    assert.ok((await engine.checkRestore(absent, job.jobId)).notes.some((n) => /did not exist at the point/.test(n)));
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
    assert.ok((await engine.checkRestore(point, create.jobId)).notes.some((n) => /does not exist now: the restore creates it/.test(n)));
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

