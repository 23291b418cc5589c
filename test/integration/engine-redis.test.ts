// The Redis engine's restore steps driven by hand against a real server, as
// the step runner drives them (the memo reloaded as a new process would see
// it): every type, binary keys, absolute expiries (an expiry that must not
// drift, a key that expired since the point), SWAPDB there and back, each
// step twice and after a crash inside itself, the parked keyspace as the
// backup and fast undo, a scratch db that is not ours, old v1 dumps.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type { Engine } from '../../src/core/engine.js';
import { GitDumpStore } from '../../src/adapters/dump-store.js';
import { createEngine } from '../../src/adapters/engines/index.js';
import { MARKER } from '../../src/adapters/engines/redis.js';
import { RespClient } from '../../src/adapters/engines/resp.js';
import { chinookSql, serverUrl, tempRepo, withDatabase } from '../helpers/servers.js';
import { corrupted, dumpInto, dumpParkedInto, readEntry, sink, stageFrom, testJob } from '../helpers/kv-job.js';
import { redisCall, redisState, redisTarget } from '../helpers/kv-state.js';
import { english } from '../../src/core/i18n.js';

const admin = serverUrl('REDIS');
const password = decodeURIComponent(admin.password);
const target = redisTarget(admin);
const ctx = { cwd: process.cwd(), env: process.env };
// Databases of this file (others use 3-5 and the default scratch 15).
const DB = 10;
const SCRATCH = 11;

const engineFor = (db: number, scratch: number): Engine => createEngine({ name: 'cache', engine: 'redis', url: withDatabase(admin, String(db)), scratchDb: scratch }, ctx);
const flush = (...dbs: number[]) => Promise.all(dbs.map((db) => redisCall(target, db, ['FLUSHDB'])));

/** Chinook artists as hashes, plus every type in small and large encodings, binary keys and expiries. */
async function load(db: number, fixedExpiry: number): Promise<void> {
  const sql = chinookSql('Chinook_Sqlite.sql');
  const block = sql.slice(sql.indexOf('INSERT INTO [Artist]'), sql.indexOf(';', sql.indexOf('INSERT INTO [Artist]')));
  const artists = [...block.matchAll(/\((\d+), N?'((?:[^']|'')*)'\)/g)].map((m) => m[2]!);
  assert.ok(artists.length > 200);
  const many = Array.from({ length: 600 }, (_, i) => `member-${i}`);
  const commands: Array<Array<string | number | Buffer>> = artists.map((artist, i) => ['HSET', `artist:${i}`, 'name', artist, 'id', i]);
  commands.push(
    ['SET', 'greeting', '你好 Ünïcødé'], ['SET', 'counter', 12345], ['SET', 'session', 'x', 'PX', 600000],
    ['SET', 'fixed-expiry', 'y'], ['PEXPIREAT', 'fixed-expiry', fixedExpiry],
    ['RPUSH', 'queue', 'a', 'b', 'c'], ['RPUSH', 'biglist', ...many], ['SADD', 'tags', 'rock', 'jazz'], ['SADD', 'ints', 1, 2, 3, 99999],
    ['SADD', 'bigset', ...many], ['ZADD', 'top', 1, 'x', 2.5, 'y'], ['ZADD', 'bigz', ...many.flatMap((m, i) => [i / 3, m])],
    ['HSET', 'bighash', ...many.flatMap((m, i) => [m, `v${i}`])],
    ['XADD', 'events', '1-1', 'type', 'login'], ['XADD', 'events', '2-1', 'type', 'logout'], ['XGROUP', 'CREATE', 'events', 'workers', '0'],
    ['XREADGROUP', 'GROUP', 'workers', 'w1', 'COUNT', 1, 'STREAMS', 'events', '>'],
    ['SET', Buffer.from([0xff, 0, 10, 13]), Buffer.from([1, 2, 3, 0])],
  );
  await redisCall(target, db, ...commands);
}

describe('redis engine', () => {
  it('restores every key with its absolute expiry (SWAPDB), drops keys expired since, and swaps back', async () => {
    await flush(DB, SCRATCH);
    const fixed = Date.now() + 3_600_000;
    await load(DB, fixed);
    await redisCall(target, DB, ['SET', 'short-lived', 'z', 'PX', 1500]);
    const engine = engineFor(DB, SCRATCH);
    assert.doesNotMatch(engine.describe(), new RegExp(password));
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    assert.equal(entry.format, 'redis-dump-v2');
    const original = await redisState(target, DB);
    assert.match(original[Buffer.from('fixed-expiry').toString('hex')]!, new RegExp(` ${fixed}$`));

    await redisCall(target, DB, ['DEL', 'greeting', 'artist:1'], ['SET', 'new-key', 'made since'], ['RPUSH', 'queue', 'd'], ['PEXPIREAT', 'fixed-expiry', fixed + 5000]);
    await sleep(1600); // short-lived expires
    const changed = await redisState(target, DB);
    assert.notDeepEqual(changed, original);

    const job = testJob('job1', entry);
    const check = await engine.checkRestore(entry, job.jobId);
    assert.ok(check.notes.some((n) => /expiries are absolute/.test(english(n))), check.notes.map(english).join('\n'));
    assert.deepEqual(engine.tempObjects(job.jobId).map((o) => `${o.role} ${o.kind} ${o.name}`), ['scratch redis db 11']);
    await stageFrom(engine, store, job);
    assert.deepEqual(await redisState(target, DB), changed, 'stage must not touch the live db');
    await engine.swap(job);
    const expected = { ...original };
    delete expected[Buffer.from('short-lived').toString('hex')];
    assert.deepEqual(await redisState(target, DB), expected, 'every key back, expiries to the millisecond, the expired key not brought back');
    await engine.swap(job.reload());
    assert.deepEqual(await redisState(target, DB), expected);
    assert.deepEqual((await engine.leftovers()).map((o) => `${o.role} ${o.jobId} ${o.name}`), ['parked job1 11']);

    await engine.unswap(job.reload());
    assert.deepEqual(await redisState(target, DB), changed);
    await engine.unswap(job.reload());
    await engine.discardStaged(job.reload());
    await engine.discardStaged(job.reload());
    assert.deepEqual(await redisState(target, DB), changed);
    assert.deepEqual(await redisCall(target, SCRATCH, ['DBSIZE']), [0]);
    assert.deepEqual(await engine.leftovers(), []);
  });

  it('keeps the previous keyspace parked, stores its dump, and undoes by adopting it', async () => {
    await flush(DB, SCRATCH);
    await load(DB, Date.now() + 3_600_000);
    const engine = engineFor(DB, SCRATCH);
    const store = new GitDumpStore(tempRepo());
    const point = await dumpInto(engine, store);
    const original = await redisState(target, DB);
    await redisCall(target, DB, ['FLUSHDB'], ['SET', 'only', 'this']);
    const changed = await redisState(target, DB);

    const job = testJob('to1', point);
    await stageFrom(engine, store, job);
    await engine.swap(job);
    const backup = await dumpParkedInto(engine, job.reload(), store);
    assert.equal((backup.details?.parked as { jobId: string }).jobId, 'to1');
    assert.equal(backup.details?.keys, 1);

    const undo = testJob('undo1', backup);
    await engine.checkRestore(backup, undo.jobId);
    assert.equal(await engine.adoptParked!('to1', undo), true);
    assert.equal(await engine.adoptParked!('to1', undo.reload()), true);
    await engine.swap(undo);
    assert.deepEqual(await redisState(target, DB), changed);
    assert.deepEqual((await engine.leftovers()).map((o) => `${o.role} ${o.jobId}`), ['parked undo1']);
    assert.deepEqual(await redisState(target, SCRATCH), original, 'the keyspace of the point is now the parked one');

    // A later restore replaces a finished job's parked copy; its dump is in that job's backup.
    const next = testJob('to2', point);
    assert.ok((await engine.checkRestore(point, next.jobId)).notes.some((n) => /previous keyspace kept by job undo1/.test(english(n))));
    await stageFrom(engine, store, next);
    await engine.swap(next);
    assert.deepEqual(await redisState(target, DB), original);
    await engine.dropParked('to2');
    await engine.dropParked('to2');
    assert.deepEqual(await redisCall(target, SCRATCH, ['DBSIZE']), [0]);
  });

  it('does not adopt a parked keyspace that changed after its dump', async () => {
    await flush(DB, SCRATCH);
    await redisCall(target, DB, ['SET', 'a', '1'], ['SET', 'b', '2']);
    const engine = engineFor(DB, SCRATCH);
    const store = new GitDumpStore(tempRepo());
    const point = await dumpInto(engine, store);
    await redisCall(target, DB, ['SET', 'a', 'changed']);
    const job = testJob('p1', point);
    await stageFrom(engine, store, job);
    await engine.swap(job);
    const backup = await dumpParkedInto(engine, job, store);
    await redisCall(target, SCRATCH, ['SET', 'a', 'touched']);
    assert.equal(await engine.adoptParked!('p1', testJob('p2', backup)), false);
    await redisCall(target, SCRATCH, ['SET', 'a', 'changed']);
    assert.equal(await engine.adoptParked!('p1', testJob('p2', backup)), true, 'same content again: adoptable');
  });

  it('a crash part-way through stage: the same job empties its half-made copy; swap refuses it; others are told', async () => {
    await flush(DB, SCRATCH);
    await load(DB, Date.now() + 3_600_000);
    const engine = engineFor(DB, SCRATCH);
    const store = new GitDumpStore(tempRepo());
    const point = await dumpInto(engine, store);
    const live = await redisState(target, DB);

    // A stage killed half-way: our marker says "staging", some keys are there.
    await redisCall(target, SCRATCH, ['SET', MARKER, JSON.stringify({ job: 'crashed', db: DB, state: 'staging' })], ['SET', 'half', 'made']);
    assert.deepEqual((await engine.leftovers()).map((o) => `${o.role} ${o.jobId}`), ['staged crashed']);
    await assert.rejects(engine.swap(testJob('crashed', point)), /nothing completely staged/);
    const again = testJob('crashed', point);
    await stageFrom(engine, store, again);
    await engine.swap(again);
    assert.deepEqual(await redisState(target, DB), live);
    assert.equal((await redisState(target, SCRATCH))[Buffer.from('half').toString('hex')], undefined);
    await engine.dropParked('crashed');

    // A stage cancelled by the user: nothing left.
    const cancelled = testJob('cancelled', point);
    cancelled.controller.abort();
    await assert.rejects(engine.stage(readEntry(store, point), cancelled), /cancelled/);
    assert.deepEqual(await redisCall(target, SCRATCH, ['DBSIZE']), [0]);

    // A corrupt dump: refused, nothing left.
    const bad = corrupted(store, point);
    await assert.rejects(engine.stage(readEntry(store, bad), testJob('bad', bad)), /checksum|does not match|malformed/);
    assert.deepEqual(await redisCall(target, SCRATCH, ['DBSIZE']), [0]);
    assert.deepEqual(await redisState(target, DB), live);
  });

  it('refuses a scratch db that holds data that is not ours, or serves another database', async () => {
    await flush(DB, SCRATCH);
    const engine = engineFor(DB, SCRATCH);
    const store = new GitDumpStore(tempRepo());
    await redisCall(target, DB, ['SET', 'k', 'v']);
    const point = await dumpInto(engine, store);
    await redisCall(target, SCRATCH, ['SET', 'someone-elses', 'data']);
    await assert.rejects(engine.checkRestore(point, 'j'), (error: Error & { hint?: string }) => {
      assert.match(error.message, /scratch db 11 holds 1 keys that are not git-rollback's/);
      assert.match(error.hint ?? '', /scratchDb/);
      return true;
    });
    await assert.rejects(engine.stage(readEntry(store, point), testJob('j', point)), /not git-rollback's/);
    assert.deepEqual(await redisCall(target, SCRATCH, ['GET', 'someone-elses']), [Buffer.from('data')]);
    await engine.discardStaged(testJob('j', point));
    await engine.dropParked('j');
    assert.deepEqual(await redisCall(target, SCRATCH, ['DBSIZE']), [1], 'never touched');

    await flush(SCRATCH);
    await redisCall(target, SCRATCH, ['SET', MARKER, JSON.stringify({ job: 'other', db: 12, state: 'parked' })]);
    await assert.rejects(engine.checkRestore(point, 'j'), /scratch db 11 is in use for db 12/);
    await flush(SCRATCH);
  });

  it('still restores a v1 dump (remaining TTLs, counted from the restore)', async () => {
    await flush(DB, SCRATCH);
    const engine = engineFor(DB, SCRATCH);
    const store = new GitDumpStore(tempRepo());
    const [payload] = (await redisCall(target, DB, ['SET', 'tmp', 'hello'], ['DUMP', 'tmp'])).slice(1) as [Buffer];
    await flush(DB);
    const record = (key: string, pttl: number) => {
      const k = Buffer.from(key);
      const head = Buffer.alloc(5);
      head.write('K', 0);
      head.writeUInt32BE(k.length, 1);
      const mid = Buffer.alloc(12);
      mid.writeBigInt64BE(BigInt(pttl), 0);
      mid.writeUInt32BE(payload.length, 8);
      return Buffer.concat([head, k, mid, payload]);
    };
    const end = Buffer.alloc(9);
    end.write('E', 0);
    end.writeBigUInt64BE(2n, 1);
    const v1 = Buffer.concat([Buffer.from('GITROLLBACK-REDIS 1\n'), record('plain', -1), record('ttl', 600000), end]);
    const pass = new PassThrough();
    pass.end(v1);
    const stored = await store.write(pass);
    const entry = { name: 'cache', engine: 'redis', format: 'redis-dump-v1', path: 'db/cache.redis', size: stored.size, sha256: stored.sha256, chunks: stored.chunks, tool: 'x', ms: 0 };
    const job = testJob('v1', entry);
    assert.ok((await engine.checkRestore(entry, job.jobId)).notes.some((n) => /predates absolute expiries/.test(english(n))));
    await stageFrom(engine, store, job);
    await engine.swap(job);
    const [plain, ttl] = await redisCall(target, DB, ['GET', 'plain'], ['PTTL', 'ttl']);
    assert.deepEqual(plain, Buffer.from('hello'));
    assert.ok((ttl as number) > 590000 && (ttl as number) <= 600000);
    await engine.dropParked('v1');
  });

  it('dumps a point-in-time replication snapshot while clients write, skipping the other databases', async () => {
    await flush(DB, SCRATCH, 12);
    await load(12, Date.now() + 3_600_000); // another db with every type: the reader must step over it
    const counters = Array.from({ length: 200 }, (_, i) => `counter:${i}`);
    await redisCall(target, DB, ...counters.map((c) => ['SET', c, 0]), ...Array.from({ length: 5000 }, (_, i) => ['SET', `filler:${i}`, 'x'.repeat(50)]));
    // A writer that always moves every counter together, in one transaction;
    // read one by one, counters would come from different moments.
    let writing = true;
    const writer = await RespClient.open(target.host, target.port, 'writer');
    await writer.call('AUTH', target.password);
    await writer.call('SELECT', DB);
    const writes = (async () => {
      let n = 0;
      while (writing) {
        await Promise.all(writer.batch([['MULTI'], ...counters.map((c) => ['INCR', c]), ['EXEC']]));
        n++;
      }
      writer.close();
      return n;
    })();
    const engine = engineFor(DB, SCRATCH);
    const store = new GitDumpStore(tempRepo());
    await sleep(50);
    const entry = await dumpInto(engine, store);
    writing = false;
    assert.ok((await writes) > 0);
    assert.equal(entry.details?.snapshot, 'rdb');
    assert.equal(entry.details?.keys, 5200);
    assert.equal(entry.warnings, undefined);
    const job = testJob('pit', entry);
    await stageFrom(engine, store, job);
    await engine.swap(job);
    const values = (await redisCall(target, DB, ['MGET', ...counters]))[0] as Buffer[];
    assert.equal(new Set(values.map(String)).size, 1, `one moment: every counter as one transaction left them (${[...new Set(values.map(String))].join(', ')})`);
    assert.deepEqual(await redisCall(target, DB, ['DBSIZE']), [5200]);
    await engine.dropParked('pit');
    await flush(12);
  });

  it('falls back to reading keys one by one, and says so, when the server refuses SYNC or the config asks', async () => {
    await flush(DB, SCRATCH);
    await redisCall(target, DB, ['SET', 'k', 'v'], ['ACL', 'SETUSER', 'rb_nosync', 'reset', 'on', '>nosync-pw', '~*', '&*', '+@all', '-sync', '-psync']);
    try {
      const url = new URL(withDatabase(admin, String(DB)));
      url.username = 'rb_nosync';
      url.password = 'nosync-pw';
      const store = new GitDumpStore(tempRepo());
      const refused = await dumpInto(createEngine({ name: 'cache', engine: 'redis', url: url.href, scratchDb: SCRATCH }, ctx), store);
      assert.equal(refused.details?.snapshot, 'scan');
      assert.match(refused.warnings?.[0] ?? '', /no point-in-time snapshot \(SYNC refused: NOPERM.*keys were read one by one/);
      const configured = await dumpInto(createEngine({ name: 'cache', engine: 'redis', url: withDatabase(admin, String(DB)), scratchDb: SCRATCH, snapshot: 'scan' }, ctx), store);
      assert.match(configured.warnings?.[0] ?? '', /databases\.cache\.snapshot is "scan"/);
      assert.equal(configured.sha256, refused.sha256, 'both read the same single key');
      assert.ok((await engineFor(DB, SCRATCH).checkRestore(configured, 'j')).notes.some((n) => /read key by key/.test(english(n))));
      assert.throws(() => createEngine({ name: 'cache', engine: 'redis', url: withDatabase(admin, '1'), snapshot: 'fork' }, ctx), /databases\.cache\.snapshot: expected "sync"/);
    } finally {
      await redisCall(target, DB, ['ACL', 'DELUSER', 'rb_nosync']);
    }
  });

  it('digest: equal for the same data however Redis encodes it, absolute expiries included; different after a change', async () => {
    await flush(DB, SCRATCH);
    await load(DB, Date.now() + 3_600_000);
    const engine = engineFor(DB, SCRATCH);
    const store = new GitDumpStore(tempRepo());
    const point = await dumpInto(engine, store);
    const digest = (e: typeof point) => engine.digest!(readEntry(store, e));
    // Restored: sets and hashes rebuilt in new hash tables, TTLs counted down since.
    const job = testJob('dg', point);
    await stageFrom(engine, store, job);
    await engine.swap(job);
    await engine.dropParked('dg');
    await sleep(20);
    const fresh = await dumpInto(engine, store);
    const scanned = await dumpInto(createEngine({ name: 'cache', engine: 'redis', url: withDatabase(admin, String(DB)), scratchDb: SCRATCH, snapshot: 'scan' }, ctx), store);
    assert.equal(await digest(fresh), await digest(point));
    assert.equal(await digest(scanned), await digest(point));
    await redisCall(target, DB, ['PEXPIRE', 'session', 900000]);
    assert.notEqual(await digest(await dumpInto(engine, store)), await digest(point), 'an expiry that moved is a change');
    await redisCall(target, DB, ['SADD', 'bigset', 'one-more']);
    assert.notEqual(await digest(await dumpInto(engine, store)), await digest(point));
  });

  it('refuses a wrong password without printing it, and says when the server is down', async () => {
    const wrong = new URL(withDatabase(admin, String(DB)));
    wrong.password = 'Sup3rSecretWrong';
    const fails = (promise: Promise<unknown>, pattern: RegExp) => assert.rejects(promise, (error: Error & { hint?: string }) => {
      const text = `${error.message} ${error.hint ?? ''}`;
      assert.doesNotMatch(text, /Sup3rSecretWrong/);
      assert.doesNotMatch(text, new RegExp(password));
      assert.match(text, pattern);
      return true;
    });
    await fails(createEngine({ name: 'cache', engine: 'redis', url: wrong.href }, ctx).dump(sink()), /WRONGPASS|invalid|password/i);
    const down = new URL(withDatabase(admin, String(DB)));
    down.port = '1';
    await fails(createEngine({ name: 'cache', engine: 'redis', url: down.href }, ctx).check('dump'), /cannot connect.*ECONNREFUSED/);
  });
});
