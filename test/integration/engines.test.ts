// PostgreSQL and MySQL against a real server with the Chinook sample database
// (SQLite, Redis and command engines: engine-sqlite/redis/command.test.ts):
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
import {
  chinookSql, mysql, mysqlState, pgState, psql, serverUrl, tempRepo, uniqueName, withDatabase,
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
