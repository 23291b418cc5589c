// Databases through the CLI, as a user runs it: Chinook on real PostgreSQL,
// MariaDB and SQLite servers/files plus Redis, rolled back together with code
// and config, then undone; and every failure path that must change nothing
// (or put everything back).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cli, fsck, makeRepo, type Repo } from '../helpers/repo.js';
import { chinookSql, mysql, mysqlState, pgState, psql, serverUrl, sqlite, sqliteState, uniqueName, withDatabase } from '../helpers/servers.js';

const repos: Repo[] = [];
const pgDbs: string[] = [];
const myDbs: string[] = [];
after(() => {
  repos.forEach((r) => r.cleanup());
  for (const db of pgDbs) {
    const all = psql('postgres', `SELECT datname FROM pg_database WHERE datname LIKE '${db}%'`).split('\n').filter(Boolean);
    for (const d of all) psql('postgres', `DROP DATABASE IF EXISTS "${d}" WITH (FORCE)`);
  }
  for (const db of myDbs) {
    const all = mysql(null, `SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE '${db}%'`).split('\n').filter(Boolean);
    for (const d of all) mysql(null, `DROP DATABASE IF EXISTS \`${d}\``);
  }
});

function newPg(load = true): string {
  const db = uniqueName('rb_cli_pg');
  pgDbs.push(db);
  psql('postgres', `CREATE DATABASE ${db}`);
  if (load) psql(db, chinookSql('Chinook_PostgreSql.sql'));
  return db;
}

function newMysql(): string {
  const db = uniqueName('rb_cli_my');
  myDbs.push(db);
  mysql(null, `CREATE DATABASE ${db} CHARACTER SET utf8mb4`);
  mysql(db, chinookSql('Chinook_MySql.sql'));
  return db;
}

function redisCli(db: number, ...args: string[]): string {
  const url = serverUrl('REDIS');
  return execFileSync('redis-cli', ['-h', url.hostname, '-p', url.port, '-n', String(db), '--no-raw', ...args], {
    env: { ...process.env, REDISCLI_AUTH: decodeURIComponent(url.password) },
    encoding: 'utf8',
  }).trim();
}

/** Every key with its DUMP payload and whether it has a TTL: the database's observable state. */
function redisState(db: number): string {
  const keys = redisCli(db, '--raw', 'KEYS', '*').split('\n').filter(Boolean).sort();
  return keys.map((k) => `${k}=${redisCli(db, 'DUMP', k)} ttl:${Number(redisCli(db, '--raw', 'PTTL', k)) > 0}`).join('\n');
}

function appRepo(config: string): Repo {
  const r = makeRepo({ files: { 'app.py': 'print("v1")\n', '.gitignore': '.env\ndata/\n', '.rollbackrc.yaml': config } });
  repos.push(r);
  r.write('.env', 'MODE=v1\n', 0o600);
  return r;
}

const pgUrl = (db: string) => withDatabase(serverUrl('PG'), db);
const myUrl = (db: string) => withDatabase(serverUrl('MYSQL'), db);

/**
 * A PostgreSQL database and a command engine whose restore command comes from
 * $BROKEN_RESTORE, a point "p" of v1, then v2 with the data, code and .env changed.
 */
async function withBrokenRestore(): Promise<{ pg: string; r: Repo; env: Record<string, string>; head: string }> {
    const pg = newPg(false);
    psql(pg, 'CREATE TABLE t (id int); INSERT INTO t VALUES (1);');
    const r = appRepo(
      'config: [".env"]\ndatabases:\n  main: { engine: postgres, url: "${APP_PG_URL}" }\n  broken: { engine: command, dump: "echo dumped", restore: "${BROKEN_RESTORE}" }\n',
    );
    const env = { APP_PG_URL: pgUrl(pg), BROKEN_RESTORE: 'cat >/dev/null' };
    assert.equal((await cli(r, ['point', '--name', 'p'], { env })).code, 0);
    psql(pg, 'INSERT INTO t VALUES (2);');
    r.write('app.py', 'print("v2")\n');
    const head = r.commit('v2');
    r.write('.env', 'MODE=v2\n', 0o600);
    return { pg, r, env, head };
}

describe('databases through the CLI', () => {
  it('Chinook on PostgreSQL, MariaDB, SQLite and Redis: point, change data and schema, to, compare, undo, compare', async () => {
    const pg = newPg();
    const my = newMysql();
    const redisDb = 4;
    redisCli(redisDb, 'FLUSHDB');
    redisCli(5, 'FLUSHDB');
    redisCli(redisDb, 'SET', 'greeting', '你好');
    redisCli(redisDb, 'SET', 'session', 'abc', 'PX', '600000');
    redisCli(redisDb, 'RPUSH', 'queue', 'a', 'b');
    const r = appRepo(
      [
        'config: [".env"]',
        'databases:',
        '  main: { engine: postgres, url: "${APP_PG_URL}" }',
        '  jobs: { engine: mysql, url: "${APP_MY_URL}" }',
        '  local: { engine: sqlite, path: "data/chinook.db" }',
        '  cache: { engine: redis, url: "${APP_REDIS_URL}", scratchDb: 5 }',
        '',
      ].join('\n'),
    );
    r.commit('config');
    mkdirSync(join(r.dir, 'data'));
    sqlite(join(r.dir, 'data/chinook.db'), chinookSql('Chinook_Sqlite.sql'));
    const redisUrl = new URL(serverUrl('REDIS').href);
    redisUrl.pathname = `/${redisDb}`;
    const env = { APP_PG_URL: pgUrl(pg), APP_MY_URL: myUrl(my), APP_REDIS_URL: redisUrl.href };
    const original = { pg: pgState(pg), my: mysqlState(my), lite: sqliteState(join(r.dir, 'data/chinook.db')), redis: redisState(redisDb) };

    const made = await cli(r, ['point', '发布前 Chinook', '--name', 'chinook', '--json'], { env });
    assert.equal(made.code, 0, made.stderr);
    const note = JSON.parse(made.stdout);
    assert.deepEqual(note.snapshot.databases.map((d: { name: string }) => d.name), ['main', 'jobs', 'local', 'cache']);
    for (const d of note.snapshot.databases) {
      assert.ok(d.size > 0 && /^[0-9a-f]{64}$/.test(d.sha256) && d.tool && d.ms >= 0, JSON.stringify(d));
      assert.ok(d.chunks.length > 0);
    }
    const secret = decodeURIComponent(serverUrl('PG').password);
    assert.ok(!made.stdout.includes(secret) && !made.stderr.includes(secret), 'no password in output');

    // Change data and schema everywhere, and the code and config.
    psql(pg, "ALTER TABLE artist ADD COLUMN country text; DELETE FROM invoice_line WHERE invoice_line_id % 3 = 0; UPDATE album SET title = '改了' WHERE album_id < 10;");
    mysql(my, 'ALTER TABLE Artist ADD COLUMN Country varchar(40); DELETE FROM InvoiceLine WHERE InvoiceLineId % 3 = 0; CREATE TABLE added_since (id int);');
    sqlite(join(r.dir, 'data/chinook.db'), 'ALTER TABLE Artist ADD COLUMN Country TEXT; DELETE FROM InvoiceLine WHERE InvoiceLineId % 3 = 0;');
    redisCli(redisDb, 'DEL', 'greeting');
    redisCli(redisDb, 'SET', 'made-since', '1');
    r.write('app.py', 'print("v2")\n');
    r.commit('v2');
    r.write('.env', 'MODE=v2\n', 0o600);
    const changed = { pg: pgState(pg), my: mysqlState(my), lite: sqliteState(join(r.dir, 'data/chinook.db')), redis: redisState(redisDb) };
    assert.notDeepEqual(changed.pg, original.pg);

    const dry = await cli(r, ['to', 'chinook', '--dry-run'], { env });
    assert.equal(dry.code, 0, dry.stderr);
    for (const name of ['main', 'jobs', 'local', 'cache']) assert.match(dry.stdout, new RegExp(`load database ${name} \\(`));
    assert.match(dry.stdout, /strategy: restore into .*_rb_tmp_.*then rename swap/);
    assert.match(dry.stdout, /downtime: /);
    assert.deepEqual(pgState(pg), changed.pg, 'dry run changed nothing');

    const to = await cli(r, ['to', 'chinook', '--yes', '--reason', '数据回滚演练'], { env });
    assert.equal(to.code, 0, to.stderr);
    assert.deepEqual(pgState(pg), original.pg);
    assert.deepEqual(mysqlState(my), original.my);
    assert.deepEqual(sqliteState(join(r.dir, 'data/chinook.db')), original.lite);
    assert.equal(redisState(redisDb), original.redis);
    assert.equal(readFileSync(join(r.dir, 'app.py'), 'utf8'), 'print("v1")\n');
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'MODE=v1\n');
    assert.match(to.stdout, /Previous databases kept as: .*rollback_/);
    // Right after the rollback every database holds the point's data: a fresh
    // dump compares equal by what matters (not pg_dump's random \restrict line,
    // not Redis TTLs that count down).
    const deep = JSON.parse((await cli(r, ['status', '--deep', '--json'], { env })).stdout) as { drift: { databases: Array<{ name: string; state: string; detail: string }> } };
    for (const d of deep.drift.databases) assert.equal(d.state, 'same', `${d.name}: ${d.detail}`);

    const undo = await cli(r, ['undo', '--yes'], { env });
    assert.equal(undo.code, 0, undo.stderr);
    assert.deepEqual(pgState(pg), changed.pg);
    assert.deepEqual(mysqlState(my), changed.my);
    assert.deepEqual(sqliteState(join(r.dir, 'data/chinook.db')), changed.lite);
    assert.equal(redisState(redisDb), changed.redis);
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'MODE=v2\n');

    // Previous copies are kept until prune.
    const dry2 = await cli(r, ['prune', '--dry-run', '--json'], { env });
    assert.equal(dry2.code, 0, dry2.stderr);
    const dropped = JSON.parse(dry2.stdout).databases as { database: string; drop: string }[];
    assert.ok(dropped.some((d) => d.database === 'main') && dropped.some((d) => d.database === 'jobs'), dry2.stdout);
    const prune = await cli(r, ['prune', '--yes'], { env });
    assert.equal(prune.code, 0, prune.stderr);
    assert.equal(psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '${pg}_rollback%'`), '0');
    fsck(r);
  });

  it('--only db:<name> restores one database and nothing else; --skip db none', async () => {
    const pg = newPg(false);
    psql(pg, 'CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2);');
    const r = appRepo('config: [".env"]\ndatabases:\n  main: { engine: postgres, url: "${APP_PG_URL}" }\n  local: { engine: sqlite, path: "data/app.db" }\n');
    mkdirSync(join(r.dir, 'data'));
    sqlite(join(r.dir, 'data/app.db'), 'CREATE TABLE t (id int); INSERT INTO t VALUES (1);');
    const env = { APP_PG_URL: pgUrl(pg) };
    assert.equal((await cli(r, ['point', '--name', 'p'], { env })).code, 0);
    psql(pg, 'INSERT INTO t VALUES (3);');
    sqlite(join(r.dir, 'data/app.db'), 'INSERT INTO t VALUES (2);');
    r.write('.env', 'MODE=changed\n', 0o600);
    const res = await cli(r, ['to', 'p', '--yes', '--only', 'db:main', '--drop-old'], { env });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(psql(pg, 'SELECT count(*) FROM t'), '2');
    assert.equal(psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '${pg}_rollback%'`), '0', '--drop-old');
    assert.equal(sqlite(join(r.dir, 'data/app.db'), 'SELECT count(*) FROM t'), '2', 'sqlite untouched');
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'MODE=changed\n', 'config untouched');
    psql(pg, 'INSERT INTO t VALUES (4);');
    const skip = await cli(r, ['to', 'p', '--yes', '--skip', 'db'], { env });
    assert.equal(skip.code, 0, skip.stderr);
    assert.equal(psql(pg, 'SELECT count(*) FROM t'), '3');
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'MODE=v1\n');
  });

  it('server down at point time: no point is made, a clear message', async () => {
    const r = appRepo('databases:\n  main: { engine: postgres, url: "postgres://nobody@127.0.0.1:1/app" }\n');
    const res = await cli(r, ['point', '--name', 'p']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /^git-rollback: database main: .*Connection refused.*\nhint: is the PostgreSQL server running/);
    assert.equal(r.git('tag', '-l'), '');
    assert.equal(r.git('for-each-ref', 'refs/rollback/snapshots'), '');
  });

  it('wrong credentials: the error never shows the password', async () => {
    const url = new URL(serverUrl('PG').href);
    url.password = 'Sup3r-S3cret-Wrong';
    const r = appRepo('databases:\n  main: { engine: postgres, url: "${APP_PG_URL}" }\n');
    const res = await cli(r, ['point', '--verbose'], { env: { APP_PG_URL: url.href } });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /password/i);
    assert.ok(!res.stderr.includes('Sup3r-S3cret-Wrong') && !res.stdout.includes('Sup3r-S3cret-Wrong'), res.stderr);
    assert.equal(r.git('tag', '-l'), '');
  });

  it('server down at `to` time: refused, nothing changed', async () => {
    const pg = newPg(false);
    psql(pg, 'CREATE TABLE t (id int); INSERT INTO t VALUES (1);');
    const r = appRepo('config: [".env"]\ndatabases:\n  main: { engine: postgres, url: "${APP_PG_URL}" }\n');
    assert.equal((await cli(r, ['point', '--name', 'p'], { env: { APP_PG_URL: pgUrl(pg) } })).code, 0);
    r.write('app.py', 'print("v2")\n');
    const head = r.commit('v2');
    const refs = r.git('for-each-ref');
    const down = pgUrl(pg).replace(/:\d+\//, ':1/');
    const res = await cli(r, ['to', 'p', '--yes'], { env: { APP_PG_URL: down } });
    assert.equal(res.code, 1, res.stderr);
    // The error, then what it left: it stopped before its first step, so it says so; the server's hint stays.
    assert.match(res.stderr, /^git-rollback: database main: psql failed .*Connection refused.* — nothing changed: it stopped in the checks, before the first step\nhint: is the PostgreSQL server running/);
    assert.equal(r.git('rev-parse', 'HEAD'), head);
    assert.equal(r.git('for-each-ref'), refs, 'no backup left behind');
    assert.equal(psql(pg, 'SELECT count(*) FROM t'), '1');
    const zh = await cli(r, ['to', 'p', '--yes'], { env: { APP_PG_URL: down, LANG: 'zh_CN.UTF-8', LC_ALL: '' } });
    assert.match(zh.stderr, /——没有任何改动：在检查阶段即已停止，尚未执行任何步骤\n/);
    // A dry run changes nothing anyway: the error alone.
    const dry = await cli(r, ['to', 'p', '--dry-run'], { env: { APP_PG_URL: down } });
    assert.equal(dry.code, 1);
    assert.doesNotMatch(dry.stderr, /nothing changed/);
    // undo takes the same path: a rollback, then the server goes away.
    assert.equal((await cli(r, ['to', 'p', '--yes'], { env: { APP_PG_URL: pgUrl(pg) } })).code, 0);
    const undoRefs = r.git('for-each-ref');
    const undo = await cli(r, ['undo', '--yes'], { env: { APP_PG_URL: down } });
    assert.equal(undo.code, 1, undo.stderr);
    assert.match(undo.stderr, /Connection refused.* — nothing changed: it stopped in the checks, before the first step\n/);
    assert.equal(r.git('for-each-ref'), undoRefs);
  });

  it('a corrupt dump chunk is refused before any change', async () => {
    const r = appRepo('config: [".env"]\ndatabases:\n  local: { engine: sqlite, path: "data/app.db" }\n');
    mkdirSync(join(r.dir, 'data'));
    sqlite(join(r.dir, 'data/app.db'), 'CREATE TABLE t (id int); INSERT INTO t VALUES (1);');
    const made = await cli(r, ['point', '--name', 'p', '--json']);
    assert.equal(made.code, 0, made.stderr);
    const chunk = JSON.parse(made.stdout).snapshot.databases[0].chunks[0].blob as string;
    // Rewrite the objects in loose form so one can be swapped for another.
    r.git('repack', '-a', '-d', '-q');
    execFileSync('sh', ['-c', 'for p in .git/objects/pack/*.pack; do mv "$p" "$p.old"; git unpack-objects -q < "$p.old"; rm -f "$p.old" "${p%.pack}.idx" "${p%.pack}.rev"; done'], { cwd: r.dir, env: r.env });
    const evil = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: r.dir, input: 'not a database', encoding: 'utf8' }).trim();
    const obj = (id: string) => join(r.dir, '.git/objects', id.slice(0, 2), id.slice(2));
    rmSync(obj(chunk), { force: true });
    writeFileSync(obj(chunk), readFileSync(obj(evil)));
    sqlite(join(r.dir, 'data/app.db'), 'INSERT INTO t VALUES (2);');
    r.write('app.py', 'print("v2")\n');
    const head = r.commit('v2');
    const refs = r.git('for-each-ref');
    const res = await cli(r, ['to', 'p', '--yes']);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /sha256|checksum|corrupt|does not match|not the size recorded/i);
    assert.equal(r.git('rev-parse', 'HEAD'), head);
    assert.equal(r.git('for-each-ref'), refs);
    assert.equal(sqlite(join(r.dir, 'data/app.db'), 'SELECT count(*) FROM t'), '2');
  });

  it('a restore that fails half-way puts databases, code and config back (exit 7)', async () => {
    const { pg, r, env, head } = await withBrokenRestore();
    // The second database's restore breaks once, after the first was swapped
    // in; putting it back replays the backup's dump through it, which works.
    const flag = join(r.home, 'exploded-once');
    const res = await cli(r, ['to', 'p', '--yes'], { env: { ...env, BROKEN_RESTORE: `cat >/dev/null; test -f ${flag} && exit 0; touch ${flag}; echo restore exploded >&2; exit 3` } });
    assert.equal(res.code, 7, res.stderr);
    assert.match(res.stderr, /failed and was reverted: .*restore exploded/);
    assert.match(res.stderr, /nothing changed — checked: code \(/);
    assert.equal(psql(pg, 'SELECT count(*) FROM t'), '2', 'database main is back to the state before');
    assert.equal(r.git('rev-parse', 'HEAD'), head);
    assert.equal(r.git('symbolic-ref', '--short', 'HEAD'), 'main');
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'MODE=v2\n');
    fsck(r);
  });

  it('a restore that cannot be put back either: the rest is put back, the journal says what is left (exit 8), --abort finishes', async () => {
    const { pg, r, env, head } = await withBrokenRestore();
    const broken = { ...env, BROKEN_RESTORE: 'cat >/dev/null; echo restore exploded >&2; exit 3' };
    const res = await cli(r, ['to', 'p', '--yes'], { env: broken });
    assert.equal(res.code, 8, res.stderr);
    assert.match(res.stderr, /putting things back also failed: .*restore exploded/);
    assert.match(res.stderr, /Where things are: code as before; files as before; database main as before; database broken part-way/);
    assert.equal(psql(pg, 'SELECT count(*) FROM t'), '2', 'database main was put back all the same');
    assert.equal(r.git('rev-parse', 'HEAD'), head);
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'MODE=v2\n');
    const st = await cli(r, ['status'], { env });
    assert.match(st.stdout, /was being put back when it stopped/);
    // Once the restore command works again, --abort puts the last resource back.
    const abort = await cli(r, ['to', '--abort', '--yes'], { env });
    assert.equal(abort.code, 0, abort.stderr);
    assert.ok(!existsSync(join(r.dir, '.git/rollback/journal.json')));
    fsck(r);
  });

  it('a point of an unchanged SQLite file reuses the previous dump without reading it; a change is dumped again', async () => {
    const r = appRepo('databases:\n  local: { engine: sqlite, path: "data/app.db" }\n');
    mkdirSync(join(r.dir, 'data'));
    const db = join(r.dir, 'data/app.db');
    sqlite(db, "CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('one');");
    // The file must have settled before the first dump (racy-clean rule): age its mtime.
    const old = new Date(Date.now() - 60_000);
    utimesSync(db, old, old);
    const entry = async (name: string) => {
      const made = await cli(r, ['point', name, '--name', name, '--json']);
      assert.equal(made.code, 0, made.stderr);
      return JSON.parse(made.stdout).snapshot.databases[0] as { chunks: { blob: string }[]; details: Record<string, unknown> };
    };
    const first = await entry('a');
    const second = await entry('b');
    assert.equal(second.details.reusedUnchanged, true, 'the unchanged file was not read again');
    assert.deepEqual(second.chunks, first.chunks);
    sqlite(db, "INSERT INTO t VALUES ('two');");
    const third = await entry('c');
    assert.notEqual(third.details.reusedUnchanged, true, 'a changed file is dumped again');
    assert.equal((await cli(r, ['to', 'b', '--yes'])).code, 0);
    assert.equal(sqlite(db, 'SELECT group_concat(x) FROM t'), 'one', 'the reused dump restores the data it stands for');
  });

  it("prune reclaims the dumps no point reaches, but keeps those the last delete's undo needs", async () => {
    const r = appRepo('databases:\n  local: { engine: sqlite, path: "data/app.db" }\n');
    mkdirSync(join(r.dir, 'data'));
    const db = join(r.dir, 'data/app.db');
    sqlite(db, `CREATE TABLE t (x BLOB); INSERT INTO t SELECT randomblob(4000) FROM generate_series(1, 300);`);
    assert.equal((await cli(r, ['point', 'a', '--name', 'a'])).code, 0);
    sqlite(db, 'DELETE FROM t; INSERT INTO t SELECT randomblob(4000) FROM generate_series(1, 300);');
    assert.equal((await cli(r, ['point', 'b', '--name', 'b'])).code, 0);
    assert.equal((await cli(r, ['delete', 'a', '--yes'])).code, 0);

    // The delete can still be undone: its dump stays.
    const first = JSON.parse((await cli(r, ['prune', '--yes', '--json'])).stdout);
    assert.equal(first.reclaimedBytes, 0, 'nothing the undo of the delete needs is reclaimed');
    assert.equal((await cli(r, ['undo', '--yes'])).code, 0, 'the deleted point comes back');
    assert.equal((await cli(r, ['verify', 'a'])).code, 0, 'with its dump');
    assert.equal((await cli(r, ['delete', 'a', '--yes'])).code, 0);
    // A rollback since (to b: its backup holds b's data, not a's): the delete is no longer what undo returns to.
    assert.equal((await cli(r, ['to', 'b', '--yes'])).code, 0);
    const second = JSON.parse((await cli(r, ['prune', '--yes', '--json'])).stdout);
    assert.ok(second.reclaimedBytes > 1_000_000, `the deleted point's dump is reclaimed: ${second.reclaimedBytes}`);
    assert.equal((await cli(r, ['undo', '--yes'])).code, 0, 'the undo of the rollback still works');
    assert.equal((await cli(r, ['verify', '--all'])).code, 0, 'every remaining point is whole');
    fsck(r);
  });

  it('a missing client tool is a clear error naming the Debian package', async () => {
    const r = appRepo('databases:\n  main: { engine: postgres, url: "postgres://app@127.0.0.1:5432/app" }\n');
    // A PATH with git (and a shell) but no PostgreSQL client tools.
    const bin = join(r.home, 'bin');
    mkdirSync(bin);
    for (const tool of ['git', 'sh']) symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool));
    const res = await cli(r, ['point'], { env: { PATH: bin } });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /(pg_dump|psql) is not installed or not on PATH — no point was made\nhint: install it: apt-get install postgresql-client/);
    assert.equal(r.git('tag', '-l'), '');
  });

  it('a dump command that fails or writes nothing fails the point loudly; no half snapshot', async () => {
    for (const dump of ['echo oops >&2; exit 4', 'true']) {
      const r = appRepo(`databases:\n  other: { engine: command, dump: "${dump}", restore: "cat" }\n`);
      const res = await cli(r, ['point']);
      assert.equal(res.code, 1, dump);
      if (dump.includes('oops')) assert.match(res.stderr, /oops/);
      else assert.match(res.stderr, /nothing|empty/i);
      assert.equal(r.git('tag', '-l'), '');
      assert.equal(r.git('for-each-ref', 'refs/rollback'), '');
    }
  });
});
