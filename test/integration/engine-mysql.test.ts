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
    warn: (text) => j.warnings.push(text),
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
    assert.ok(check.notes.some((n) => /by one RENAME TABLE/.test(n)), check.notes.join('\n'));

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
    // The parked copy refuses changes.
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
      assert.match(error.message, /ECONNREFUSED/);
      assert.doesNotMatch(`${error.message} ${error.hint}`, new RegExp(password));
      assert.match(error.hint ?? '', /server running and reachable/);
      return true;
    });
  });
});
