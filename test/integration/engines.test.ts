// Every engine against a real server (PostgreSQL: engine-postgres.test.ts) with the Chinook sample database:
// load → dump into a GitDumpStore → change data and schema → stage + swap
// from the stored dump → state equals the original → unswap → state equals
// the changed one. Plus the failure paths users hit: server down, wrong
// password (never printed), corrupt chunk (refused, live untouched), dump
// command failing or silent.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import type { DatabaseConfig, Engine } from '../../src/core/engine.js';
import type { DatabaseEntry } from '../../src/core/types.js';
import { GitDumpStore } from '../../src/adapters/dump-store.js';
import { createEngine } from '../../src/adapters/engines/index.js';
import { RespClient } from '../../src/adapters/engines/resp.js';
import {
  chinookSql, mysql, mysqlState, serverUrl, sqlite, sqliteState, tempDir, tempRepo, uniqueName, withDatabase,
} from '../helpers/servers.js';

const ctx = { cwd: process.cwd(), env: process.env };

/** A destination for dumps expected to fail: consumed, so its error is observed. */
function sink(): PassThrough {
  const pass = new PassThrough();
  pass.on('error', () => {});
  pass.resume();
  return pass;
}

async function dumpInto(engine: Engine, store: GitDumpStore): Promise<DatabaseEntry> {
  const pass = new PassThrough();
  const started = Date.now();
  const [outcome, stored] = await Promise.all([engine.dump(pass), store.write(pass)]);
  return {
    name: engine.name, engine: engine.engine, format: outcome.format, path: `db/${engine.name}`, size: stored.size,
    sha256: stored.sha256, chunks: stored.chunks, tool: outcome.tool, serverVersion: outcome.serverVersion, ms: Date.now() - started,
  };
}

async function restore(engine: Engine, store: GitDumpStore, entry: DatabaseEntry, jobId: string) {
  await store.verify(entry.chunks!, entry.sha256);
  await engine.check('restore', entry);
  return engine.stage(store.read(entry.chunks!, entry.sha256), { jobId, entry });
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

describe('sqlite engine', () => {
  it('snapshots while writing, restores atomically, unswaps', async () => {
    const dir = tempDir('sqlite');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const db = join(dir, 'app.db');
    sqlite(db, `PRAGMA journal_mode=WAL;\n${chinookSql('Chinook_Sqlite.sql')}`);
    const original = sqliteState(db);
    const engine = createEngine({ name: 'local', engine: 'sqlite', path: 'app.db' }, { cwd: dir, env: process.env });
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    assert.equal(entry.format, 'sqlite-file');
    assert.match(entry.tool, /^sqlite3 3\./);

    sqlite(db, 'ALTER TABLE Album ADD COLUMN Note TEXT; DELETE FROM InvoiceLine WHERE InvoiceLineId % 3 = 0; CREATE TABLE Extra (x);');
    const changed = sqliteState(db);
    assert.notDeepEqual(changed, original);

    const staged = await restore(engine, store, entry, '20261122-223451');
    assert.deepEqual(sqliteState(db), changed, 'stage must not touch the live file');
    await staged.swap();
    assert.deepEqual(sqliteState(db), original);
    await staged.unswap();
    assert.deepEqual(sqliteState(db), changed);
    await staged.discard();

    // Corrupt dump: refused, live untouched.
    const bad = corrupted(store, entry);
    await assert.rejects(restore(engine, store, bad, 'bad1'), /checksum|does not match/);
    await assert.rejects(engine.stage(store.read(bad.chunks!, bad.sha256), { jobId: 'bad2', entry: bad }), /checksum|does not match/);
    assert.deepEqual(sqliteState(db), changed);
  });

  it('names a missing file', async () => {
    const engine = createEngine({ name: 'local', engine: 'sqlite', path: 'nope.db' }, { cwd: tempDir('sqlite'), env: process.env });
    await assert.rejects(engine.dump(sink()), /nope\.db does not exist/);
  });
});

describe('mysql engine', () => {
  const admin = serverUrl('MYSQL');
  const password = decodeURIComponent(admin.password);

  it('dumps Chinook, swaps every table in one RENAME, recreates views and triggers, and unswaps', async () => {
    const name = uniqueName('rbt_my');
    mysql(null, `CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
    cleanups.push(() => mysql(null, `SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE '${name}%'`).split('\n').filter(Boolean).forEach((d) => mysql(null, `DROP DATABASE \`${d}\``)));
    mysql(name, chinookSql('Chinook_MySql.sql'));
    mysql(name, `
      CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, artist INT);
      CREATE VIEW album_count AS SELECT ArtistId, count(*) AS n FROM Album GROUP BY ArtistId;
      CREATE TRIGGER artist_audit AFTER INSERT ON Artist FOR EACH ROW INSERT INTO audit (artist) VALUES (NEW.ArtistId);
      CREATE PROCEDURE artist_total() SELECT count(*) FROM Artist;
      INSERT INTO Artist (ArtistId, Name) VALUES (9001, '周杰倫 Ünïcødé');`);
    const original = mysqlState(name);
    assert.equal(original['table audit']!.split(' ')[0], '1', 'trigger fired');

    const engine = createEngine({ name: 'jobs', engine: 'mysql', url: withDatabase(admin, name) }, ctx);
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    assert.equal(entry.format, 'mysqldump-sql');

    mysql(name, `ALTER TABLE Album ADD COLUMN Note TEXT; DELETE FROM InvoiceLine WHERE InvoiceLineId % 3 = 0;
      DROP VIEW album_count; CREATE TABLE extra (x INT); INSERT INTO Artist (ArtistId, Name) VALUES (9002, 'new');`);
    const changed = mysqlState(name);
    assert.notDeepEqual(changed, original);

    const staged = await restore(engine, store, entry, '20261122-223451');
    assert.deepEqual(mysqlState(name), changed, 'stage must not touch the live schema');
    await staged.swap();
    assert.equal(staged.keptAs, `${name}_rollback_20261122_223451`);
    assert.deepEqual(mysqlState(name), original);
    assert.deepEqual(mysqlState(staged.keptAs), changed);
    // The recreated trigger works on the live tables.
    mysql(name, "INSERT INTO Artist (ArtistId, Name) VALUES (9003, 'after swap')");
    assert.equal(mysql(name, 'SELECT count(*) FROM audit'), '2');
    mysql(name, 'DELETE FROM Artist WHERE ArtistId = 9003; DELETE FROM audit WHERE artist = 9003');
    await staged.unswap();
    assert.deepEqual(mysqlState(name), changed);
    await staged.discard();
    const left = mysql(null, `SELECT group_concat(schema_name) FROM information_schema.schemata WHERE schema_name LIKE '${name}%'`);
    assert.equal(left, name);

    const bad = corrupted(store, entry);
    await assert.rejects(engine.stage(store.read(bad.chunks!, bad.sha256), { jobId: 'bad1', entry: bad }), /checksum|does not match/);
    assert.deepEqual(mysqlState(name), changed);
    assert.equal(mysql(null, `SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE '${name}_rb_tmp%'`), '0');
  });

  it('refuses a wrong password without printing it, and says when the server is down', async () => {
    const wrong = new URL(admin.href);
    wrong.password = 'Sup3rSecretWrong';
    const engine = createEngine({ name: 'jobs', engine: 'mysql', url: wrong.href }, ctx);
    await assertRejectsWithout(engine.dump(sink()), 'Sup3rSecretWrong', /Access denied/);
    const down = new URL(admin.href);
    down.port = '1';
    await assertRejectsWithout(createEngine({ name: 'jobs', engine: 'mysql', url: down.href }, ctx).check('dump'), password, /Can't connect|connect/);
  });
});

describe('redis engine', () => {
  const admin = serverUrl('REDIS');
  const password = decodeURIComponent(admin.password);
  const dbUrl = (db: number) => withDatabase(admin, String(db));

  async function redis(db: number, ...commands: Array<Array<string | number | Buffer>>) {
    const client = await RespClient.open(admin.hostname, Number(admin.port), 'test');
    try {
      await client.call('AUTH', password);
      await client.call('SELECT', db);
      const replies = [];
      for (const c of commands) replies.push(await client.call(...c));
      return replies;
    } finally {
      client.close();
    }
  }

  async function state(db: number): Promise<Record<string, string>> {
    const [keys] = (await redis(db, ['KEYS', '*'])) as [Buffer[]];
    const out: Record<string, string> = {};
    for (const key of keys) {
      const [payload, ttl, type] = (await redis(db, ['DUMP', key], ['PTTL', key], ['TYPE', key])) as [Buffer, number, Buffer | string];
      // A set's DUMP bytes follow its hash table's order, which a RESTORE may
      // rebuild differently (Redis < 7.2): compare its members instead.
      let value = payload.toString('hex');
      if (String(type) === 'set') {
        const [members] = (await redis(db, ['SMEMBERS', key])) as [Buffer[]];
        value = `set:${members.map((m) => m.toString('hex')).sort().join(',')}`;
      }
      out[key.toString('hex')] = `${value} ${ttl > 0 ? 'ttl' : 'none'}`;
    }
    return out;
  }

  it('snapshots every key with its TTL and restores exactly (SWAPDB), then unswaps', async () => {
    const db = 3;
    const scratch = 9;
    await redis(db, ['FLUSHDB']);
    await redis(scratch, ['FLUSHDB']);
    // Chinook artists as hashes, plus every type, a binary key and TTLs.
    const sql = chinookSql('Chinook_Sqlite.sql');
    const block = sql.slice(sql.indexOf('INSERT INTO [Artist]'), sql.indexOf(';', sql.indexOf('INSERT INTO [Artist]')));
    const artists = [...block.matchAll(/\((\d+), N?'((?:[^']|'')*)'\)/g)].map((m) => m[2]!);
    assert.ok(artists.length > 200);
    const commands: Array<Array<string | number | Buffer>> = artists.map((artist, i) => ['HSET', `artist:${i}`, 'name', artist]);
    commands.push(['SET', 'greeting', '你好 Ünïcødé'], ['SET', 'session', 'x', 'PX', 600000], ['RPUSH', 'queue', 'a', 'b', 'c'],
      ['SADD', 'tags', 'rock', 'jazz'], ['ZADD', 'top', 1, 'x', 2, 'y'], ['SET', Buffer.from([0, 255, 10, 13]), Buffer.from([1, 2, 3, 0])]);
    await redis(db, ...commands);
    const original = await state(db);

    const engine = createEngine({ name: 'cache', engine: 'redis', url: dbUrl(db), scratchDb: scratch }, ctx);
    assert.doesNotMatch(engine.describe(), new RegExp(password));
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    assert.equal(entry.format, 'redis-dump-v1');

    await redis(db, ['DEL', 'greeting', 'artist:1'], ['SET', 'new-key', 'made since'], ['RPUSH', 'queue', 'd']);
    const changed = await state(db);
    assert.notDeepEqual(changed, original);

    const staged = await restore(engine, store, entry, 'job1');
    assert.deepEqual(await state(db), changed);
    await staged.swap();
    assert.deepEqual(await state(db), original);
    await staged.unswap();
    assert.deepEqual(await state(db), changed);
    await staged.discard();
    assert.deepEqual(await state(scratch), {});

    const bad = corrupted(store, entry);
    await assert.rejects(engine.stage(store.read(bad.chunks!, bad.sha256), { jobId: 'bad', entry: bad }), /checksum|does not match|malformed/);
    assert.deepEqual(await state(db), changed);
    assert.deepEqual(await state(scratch), {}, 'a refused stage leaves the scratch db empty');
  });

  it('refuses a wrong password without printing it, and says when the server is down', async () => {
    const wrong = new URL(dbUrl(3));
    wrong.password = 'Sup3rSecretWrong';
    await assertRejectsWithout(createEngine({ name: 'cache', engine: 'redis', url: wrong.href }, ctx).dump(sink()), 'Sup3rSecretWrong', /WRONGPASS|invalid|password/i);
    const down = new URL(dbUrl(3));
    down.port = '1';
    await assertRejectsWithout(createEngine({ name: 'cache', engine: 'redis', url: down.href }, ctx).check('dump'), password, /cannot connect.*ECONNREFUSED/);
  });
});

describe('command engine', () => {
  it('stores stdout and restores it on stdin', async () => {
    const dir = tempDir('cmd');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    sqlite(join(dir, 'src.db'), chinookSql('Chinook_Sqlite.sql'));
    const config: DatabaseConfig = { name: 'search', engine: 'command', dump: 'sqlite3 src.db .dump', restore: 'rm -f dst.db && sqlite3 dst.db', check: 'test -f src.db' };
    const engine = createEngine(config, { cwd: dir, env: process.env });
    await engine.check('dump');
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    const staged = await restore(engine, store, entry, 'job1');
    await staged.swap();
    await staged.discard();
    assert.deepEqual(sqliteState(join(dir, 'dst.db')), sqliteState(join(dir, 'src.db')));
    await assert.rejects(staged.unswap(), /cannot put the previous data back/);
  });

  it('fails a dump that exits non-zero or writes nothing, with its stderr', async () => {
    const dir = tempDir('cmd');
    const store = new GitDumpStore(tempRepo());
    const failing = createEngine({ name: 'x', engine: 'command', dump: 'echo partial; echo "boom: disk on fire" >&2; exit 3', restore: 'cat' }, { cwd: dir, env: process.env });
    await assert.rejects(dumpInto(failing, store), /exit 3.*boom: disk on fire/);
    const silent = createEngine({ name: 'x', engine: 'command', dump: 'echo "nothing to say" >&2', restore: 'cat' }, { cwd: dir, env: process.env });
    await assert.rejects(dumpInto(silent, store), /wrote nothing: nothing to say/);
  });
});

describe('createEngine', () => {
  it('names the key and what is expected', () => {
    assert.throws(() => createEngine({ name: 'main', engine: 'postgress' }, ctx), /databases\.main\.engine: expected one of sqlite, postgres/);
    assert.throws(() => createEngine({ name: 'main', engine: 'postgres' }, ctx), /databases\.main\.url: missing/);
    assert.throws(() => createEngine({ name: 'main', engine: 'postgres', url: 'mysql://x@h/db' }, ctx), /databases\.main\.url: expected a postgres:\/\//);
    assert.throws(() => createEngine({ name: 'main', engine: 'sqlite', path: 'a.db', pth: 1 }, ctx), /databases\.main\.pth: unknown key/);
    assert.throws(() => createEngine({ name: 'c', engine: 'command', dump: 'x' }, ctx), /databases\.c\.restore: missing/);
    assert.throws(() => createEngine({ name: 'r', engine: 'redis', url: 'redis://h/abc' }, ctx), /databases\.r\.url/);
  });
});
