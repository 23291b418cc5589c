// Every engine against a real server with the Chinook sample database:
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
import { PostgresEngine } from '../../src/adapters/engines/postgres.js';
import { RespClient } from '../../src/adapters/engines/resp.js';
import {
  chinookSql, pgState, psql, serverUrl, sqlite, sqliteState, tempDir, tempRepo, uniqueName, withDatabase,
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

describe('postgres engine', () => {
  const admin = serverUrl('PG');
  const password = decodeURIComponent(admin.password);

  it('dumps Chinook, restores it over a changed database, and unswaps', async () => {
    const name = uniqueName('rbt_pg');
    psql('postgres', `CREATE DATABASE ${name}`);
    cleanups.push(() => psql('postgres', `SELECT datname FROM pg_database WHERE datname LIKE '${name}%'`).split('\n').filter(Boolean).forEach((d) => psql('postgres', `DROP DATABASE "${d}" WITH (FORCE)`)));
    psql(name, chinookSql('Chinook_PostgreSql.sql'));
    psql(name, `
      CREATE EXTENSION IF NOT EXISTS citext;
      CREATE SEQUENCE ticket_seq; SELECT setval('ticket_seq', 42);
      CREATE VIEW album_count AS SELECT artist_id, count(*) AS n FROM album GROUP BY artist_id;
      CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.name := trim(NEW.name); RETURN NEW; END $$;
      CREATE TRIGGER artist_touch BEFORE INSERT ON artist FOR EACH ROW EXECUTE FUNCTION touch();
      INSERT INTO artist (artist_id, name) VALUES (9001, ' 周杰倫 Ünïcødé ');`);
    const original = pgState(name);
    assert.match(original['table artist']!, /^276 /);

    const engine = createEngine({ name: 'main', engine: 'postgres', url: withDatabase(admin, name) }, ctx);
    assert.doesNotMatch(engine.describe(), new RegExp(password));
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    assert.equal(entry.format, 'pg_dump-plain');
    assert.match(entry.tool, /^pg_dump \d+/);
    assert.match((await engine.check('restore', entry)).tool, /^psql \d+/);

    psql(name, `ALTER TABLE album ADD COLUMN note text; DELETE FROM invoice_line WHERE invoice_line_id % 3 = 0;
      SELECT nextval('ticket_seq'); DROP VIEW album_count; CREATE TABLE extra (x int);`);
    const changed = pgState(name);
    assert.notDeepEqual(changed, original);

    const jobId = '20261122-223451';
    const staged = await restore(engine, store, entry, jobId);
    assert.deepEqual(pgState(name), changed, 'stage must not touch the live database');
    await staged.swap();
    assert.equal(staged.keptAs, `${name}_rollback_20261122_223451`);
    assert.deepEqual(pgState(name), original);
    assert.deepEqual(pgState(staged.keptAs), changed);
    await staged.unswap();
    assert.deepEqual(pgState(name), changed);
    await staged.discard();
    const left = psql('postgres', `SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE '${name}%'`);
    assert.equal(left, name, 'after unswap + discard only the live database is left');

    // A swap that stays: the old copy is kept, the temp name is gone.
    const staged2 = await restore(engine, store, entry, 'job2');
    await staged2.swap();
    await staged2.discard();
    assert.deepEqual(pgState(name), original);
    assert.equal(staged2.keptAs, `${name}_rollback_job2`);
    const pg = engine as Engine & { listKept(): Promise<string[]>; dropKept(n: string): Promise<void> };
    assert.deepEqual(await pg.listKept(), [`${name}_rollback_job2`]);
    await assert.rejects(pg.dropKept(name), /not a kept copy/);
    await pg.dropKept(`${name}_rollback_job2`);
    assert.deepEqual(await pg.listKept(), []);

    // Corrupt chunk: refused, live untouched, no temp database left.
    const bad = corrupted(store, entry);
    await assert.rejects(engine.stage(store.read(bad.chunks!, bad.sha256), { jobId: 'bad1', entry: bad }), /checksum|does not match/);
    assert.deepEqual(pgState(name), original);
    assert.equal(psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '%_rb_tmp_%'`), '0');
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

  it('still restores a tar dump (the format stored before plain), Chinook with sequences, views, triggers and non-ASCII', async () => {
    const name = uniqueName('rbt_pgtar');
    psql('postgres', `CREATE DATABASE ${name}`);
    cleanups.push(() => psql('postgres', `SELECT datname FROM pg_database WHERE datname LIKE '${name}%'`).split('\n').filter(Boolean).forEach((d) => psql('postgres', `DROP DATABASE "${d}" WITH (FORCE)`)));
    psql(name, chinookSql('Chinook_PostgreSql.sql'));
    psql(name, `
      CREATE SEQUENCE ticket_seq; SELECT setval('ticket_seq', 7);
      CREATE VIEW album_count AS SELECT artist_id, count(*) AS n FROM album GROUP BY artist_id;
      INSERT INTO artist (artist_id, name) VALUES (9002, 'Ünïcødé 周杰倫');`);
    const original = pgState(name);
    const engine = new PostgresEngine({ name: 'main', engine: 'postgres', url: withDatabase(admin, name) }, ctx, 'tar');
    const store = new GitDumpStore(tempRepo());
    const entry = await dumpInto(engine, store);
    assert.equal(entry.format, 'pg_dump-tar');
    // Restored by the engine as it is now (which dumps plain).
    const current = createEngine({ name: 'main', engine: 'postgres', url: withDatabase(admin, name) }, ctx);
    assert.match((await current.check('restore', entry)).tool, /^pg_restore \d+/);
    psql(name, `DELETE FROM invoice_line; DROP VIEW album_count; SELECT setval('ticket_seq', 99);`);
    assert.notDeepEqual(pgState(name), original);
    const staged = await restore(current, store, entry, 'tarjob');
    await staged.swap();
    await staged.discard();
    assert.deepEqual(pgState(name), original);
  });

  it('plain dumps: a missing owner role fails clearly with nothing live touched; noOwner dumps without owners', async () => {
    const name = uniqueName('rbt_pgown');
    const role = `${name}_owner`;
    psql('postgres', `CREATE DATABASE ${name}; CREATE ROLE ${role} NOLOGIN;`);
    cleanups.push(() => {
      psql('postgres', `SELECT datname FROM pg_database WHERE datname LIKE '${name}%'`).split('\n').filter(Boolean).forEach((d) => psql('postgres', `DROP DATABASE "${d}" WITH (FORCE)`));
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
    const live = pgState(name);
    await assert.rejects(restore(withOwners, store, owned, 'own1'), (error: Error & { hint?: string; stderr?: string }) => {
      assert.match(`${error.message} ${error.stderr ?? ''}`, new RegExp(`role "${role}" does not exist`));
      assert.match(error.hint ?? '', /nothing live was touched.*noOwner/);
      return true;
    });
    // noOwner set later cannot strip owners out of a dump that has them: the hint says so.
    await assert.rejects(restore(noOwner, store, owned, 'own2'), (error: Error & { hint?: string }) => /made before noOwner was set/.test(error.hint ?? ''));
    assert.deepEqual(pgState(name), live);
    assert.equal(psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '${name}_rb_tmp_%'`), '0');

    // A dump made with noOwner restores; the tables belong to the restoring user.
    const staged = await restore(noOwner, store, unowned, 'own3');
    await staged.swap();
    await staged.discard();
    assert.equal(psql(name, 'SELECT count(*) FROM t'), '100');
    assert.equal(psql(name, "SELECT tableowner = current_user FROM pg_tables WHERE tablename = 't'"), 't');
  });

  it('refuses a plain dump from a newer PostgreSQL major than the server', async () => {
    const engine = createEngine({ name: 'main', engine: 'postgres', url: withDatabase(admin, 'postgres') }, ctx);
    const entry = {
      name: 'main', engine: 'postgres', format: 'pg_dump-plain', path: 'db/main.sql', size: 1, sha256: '0'.repeat(64), tool: 'pg_dump 1.0', serverVersion: '999.1', ms: 1,
    } satisfies DatabaseEntry;
    await assert.rejects(engine.check('restore', entry), /comes from PostgreSQL 999\.1.*older major version cannot load it/);
    await assert.rejects(engine.check('restore', { ...entry, serverVersion: '9.6', tool: 'pg_dump 999.0' }), /made by pg_dump 999\.0, but psql \d+.* cannot read newer dumps/);
    // An older server's dump is fine.
    await engine.check('restore', { ...entry, serverVersion: '9.6' });
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
