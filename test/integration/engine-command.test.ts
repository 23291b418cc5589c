// The command engine driven by hand, as the step runner drives it: the dump
// command's stdout stored, the restore command fed the verified dump on
// stdin; a pipeline whose first stage fails fails the point; stderr of a
// successful dump is a warning; a restore interrupted half-way runs again.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { DatabaseConfig } from '../../src/core/engine.js';
import { GitDumpStore } from '../../src/adapters/dump-store.js';
import { createEngine } from '../../src/adapters/engines/index.js';
import { chinookSql, sqlite, sqliteState, tempDir, tempRepo } from '../helpers/servers.js';
import { corrupted, dumpInto, readEntry, stageFrom, testJob } from '../helpers/kv-job.js';

const cleanups: string[] = [];
after(() => cleanups.forEach((d) => rmSync(d, { recursive: true, force: true })));

function repoDir(): string {
  const dir = tempDir('cmd');
  cleanups.push(dir);
  execFileSync('git', ['init', '-q', dir]);
  return dir;
}

describe('command engine', () => {
  it('stores stdout and restores it on stdin; the staged dump waits in .git/rollback/tmp; swap runs once', async () => {
    const dir = repoDir();
    sqlite(join(dir, 'src.db'), chinookSql('Chinook_Sqlite.sql'));
    const config: DatabaseConfig = {
      name: 'search', engine: 'command', dump: 'sqlite3 src.db .dump', restore: 'echo run >> restores.log && rm -f dst.db && sqlite3 dst.db', check: 'test -f src.db',
    };
    const engine = createEngine(config, { cwd: dir, env: process.env });
    assert.equal(engine.parks, false);
    assert.match((await engine.check('dump')).tool, /^bash -o pipefail$/);
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    assert.equal(entry.format, 'command');
    assert.equal(entry.warnings, undefined);

    const job = testJob('job_1', entry);
    await stageFrom(engine, store, job);
    const staged = join(dir, '.git/rollback/tmp/search.job_1.dump');
    assert.ok(existsSync(staged));
    assert.deepEqual(engine.tempObjects(job.jobId).map((o) => o.name), ['.git/rollback/tmp/search.job_1.dump']);
    assert.deepEqual((await engine.leftovers()).map((o) => `${o.role} ${o.jobId} ${o.name}`), ['staged job_1 .git/rollback/tmp/search.job_1.dump']);
    await engine.unswap(job); // not swapped: nothing to do
    await engine.swap(job);
    await engine.swap(job.reload());
    assert.equal(readFileSync(join(dir, 'restores.log'), 'utf8'), 'run\n', 'a finished restore is not run again');
    assert.deepEqual(sqliteState(join(dir, 'dst.db')), sqliteState(join(dir, 'src.db')));
    await assert.rejects(engine.unswap(job.reload()), /cannot put the previous data back/);
    await engine.discardStaged(job);
    await engine.discardStaged(job);
    await engine.dropParked(job.jobId);
    assert.ok(!existsSync(staged));
    assert.deepEqual(await engine.leftovers(), []);
    assert.equal(await engine.fingerprint(), null);
  });

  it('runs a restore again after it was interrupted half-way', async () => {
    const dir = repoDir();
    writeFileSync(join(dir, 'data.txt'), 'v1\n');
    // The first restore dies after truncating the target; the second completes.
    const restore = 'if [ -e crashed ]; then cat > data.txt; else : > data.txt; touch crashed; exit 9; fi';
    const engine = createEngine({ name: 'files', engine: 'command', dump: 'cat data.txt', restore }, { cwd: dir, env: process.env });
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    writeFileSync(join(dir, 'data.txt'), 'v2\n');
    const job = testJob('j', entry);
    await stageFrom(engine, store, job);
    await assert.rejects(engine.swap(job), /restore command of database files failed \(exit 9\)/);
    assert.equal(job.reload().memo.restoreStarted, true, 'the journal knows the live data may be half replaced');
    await assert.rejects(engine.unswap(job.reload()), /cannot put the previous data back/);
    await engine.swap(job.reload());
    assert.equal(readFileSync(join(dir, 'data.txt'), 'utf8'), 'v1\n');
  });

  it('fails a dump when any stage of a pipeline fails, exits non-zero, or writes nothing, with its stderr', async () => {
    const dir = repoDir();
    const store = new GitDumpStore(tempRepo());
    const make = (dump: string) => createEngine({ name: 'x', engine: 'command', dump, restore: 'cat' }, { cwd: dir, env: process.env });
    // The shape of `mongodump --archive | gzip` when mongodump dies half-way: gzip exits 0.
    await assert.rejects(dumpInto(make('{ echo partial; echo "mongodump: connection reset" >&2; exit 3; } | gzip'), store), /exit 3.*connection reset/);
    await assert.rejects(dumpInto(make('echo partial; echo "boom: disk on fire" >&2; exit 3'), store), /exit 3.*boom: disk on fire/);
    await assert.rejects(dumpInto(make('echo "nothing to say" >&2'), store), /wrote nothing: nothing to say/);
  });

  it('shows the stderr of a dump that exited 0 as a warning', async () => {
    const dir = repoDir();
    const store = new GitDumpStore(tempRepo());
    const engine = createEngine({ name: 'x', engine: 'command', dump: 'echo data; echo "warning: 3 collections skipped" >&2', restore: 'cat' }, { cwd: dir, env: process.env });
    const entry = await dumpInto(engine, store);
    assert.deepEqual(entry.warnings, ['dump command of database x exited 0 but wrote on stderr: warning: 3 collections skipped']);
  });

  it('refuses a corrupt dump before the restore command sees a byte', async () => {
    const dir = repoDir();
    const store = new GitDumpStore(tempRepo());
    const engine = createEngine({ name: 'x', engine: 'command', dump: 'seq 1 100000', restore: 'cat > restored.txt' }, { cwd: dir, env: process.env });
    const entry = await dumpInto(engine, store);
    const bad = corrupted(store, entry);
    await assert.rejects(engine.stage(readEntry(store, bad), testJob('bad', bad)), /checksum|does not match/);
    assert.deepEqual(await engine.leftovers(), []);
    await assert.rejects(engine.swap(testJob('bad', bad)), /nothing is staged/);
    assert.ok(!existsSync(join(dir, 'restored.txt')));
    await assert.rejects(engine.checkRestore({ ...entry, absent: true }, 'x'), /cannot make a database absent/);
  });
});
