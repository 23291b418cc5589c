// Applications hold sessions while a rollback runs: the rollback must never
// leave the database unreachable, must say what it waits for, and must end
// where it started when it cannot get through.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { cli, makeRepo, type Repo } from '../helpers/repo.js';
import { mysql, psql, serverUrl, uniqueName, withDatabase } from '../helpers/servers.js';

const repos: Repo[] = [];
const sessions: ChildProcess[] = [];
const cleanups: Array<() => void> = [];
after(() => {
  sessions.forEach((s) => s.kill('SIGKILL'));
  repos.forEach((r) => r.cleanup());
  for (const c of cleanups) {
    try {
      c();
    } catch {
      /* best effort */
    }
  }
});

/** A client session kept open on its own connection; resolves once `ready` is printed. */
function openSession(command: string, args: string[], env: NodeJS.ProcessEnv, input: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
    sessions.push(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve(child);
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`${command} exited ${code} before it was ready: ${out}`)));
    child.stdin.write(input);
  });
}

function appWith(config: string): Repo {
  const r = makeRepo({ files: { 'app.txt': 'v1\n', '.rollbackrc.yaml': config } });
  repos.push(r);
  return r;
}

describe('a MariaDB transaction open during to', () => {
  it('waits at most lockWaitTimeout, then everything is as before and the session still works; --end-sessions ends it', async () => {
    const db = uniqueName('rb_sess_my');
    mysql(null, `CREATE DATABASE ${db}`);
    cleanups.push(() => {
      for (const d of mysql(null, `SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE '${db}%'`).split('\n').filter(Boolean)) mysql(null, `DROP DATABASE IF EXISTS \`${d}\``);
    });
    mysql(db, "CREATE TABLE item (id int PRIMARY KEY, name varchar(20)); INSERT INTO item VALUES (1, 'one'), (2, 'two');");
    const env = { APP_MY_URL: withDatabase(serverUrl('MYSQL'), db) };
    const r = appWith('databases:\n  jobs: { engine: mysql, url: "${APP_MY_URL}", lockWaitTimeout: "1s" }\n');
    assert.equal((await cli(r, ['point', 'v1', '--name', 'p1'], { env })).code, 0);
    mysql(db, "UPDATE item SET name = 'changed' WHERE id = 1;");
    const state = () => mysql(db, 'SELECT group_concat(id, name ORDER BY id) FROM item');
    const before = state();

    // An application transaction holds a row lock (and the table's metadata lock) and stays open.
    const url = serverUrl('MYSQL');
    const app = await openSession(
      'mariadb',
      ['-h', url.hostname, '-P', url.port, '-u', decodeURIComponent(url.username), '--batch', '-n', db],
      { MYSQL_PWD: decodeURIComponent(url.password) },
      "BEGIN; UPDATE item SET name = name WHERE id = 2; SELECT 'ready';\n",
    );
    const res = await cli(r, ['to', 'p1', '--yes'], { env });
    assert.notEqual(res.code, 0, 'the swap could not get its locks');
    assert.match(res.stderr, /lock/i, res.stderr);
    assert.equal(state(), before, 'the live tables are as they were');
    assert.equal(mysql(null, `SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE '${db}\\_%'`), '0', 'no temp or parked schema is left');
    assert.equal(mysql(db, 'SELECT count(*) FROM item'), '2', 'the database still serves');
    // The application's transaction is alive and can finish.
    app.stdin!.write("SELECT 'still ready';\n");

    const ended = await cli(r, ['to', 'p1', '--yes', '--end-sessions'], { env });
    assert.equal(ended.code, 0, ended.stderr);
    assert.match(ended.stderr, /end|KILL/i);
    assert.equal(state(), '1one,2two');
  });
});

describe('PostgreSQL as a non-superuser owner while another role is connected', () => {
  it('is refused before any change, and the database keeps accepting connections', async () => {
    const db = uniqueName('rb_sess_pg');
    const owner = uniqueName('rb_owner');
    const other = uniqueName('rb_other');
    const pw = 'Owner-pass-1';
    psql('postgres', `CREATE ROLE ${owner} LOGIN CREATEDB PASSWORD '${pw}'; CREATE ROLE ${other} LOGIN PASSWORD '${pw}'; CREATE DATABASE ${db} OWNER ${owner};`);
    cleanups.push(() => {
      for (const d of psql('postgres', `SELECT datname FROM pg_database WHERE datname LIKE '${db}%'`).split('\n').filter(Boolean)) psql('postgres', `DROP DATABASE IF EXISTS "${d}" WITH (FORCE)`);
      psql('postgres', `DROP ROLE IF EXISTS ${other}; DROP ROLE IF EXISTS ${owner};`);
    });
    psql(db, `CREATE TABLE t (id int); INSERT INTO t VALUES (1); ALTER TABLE t OWNER TO ${owner}; GRANT CONNECT ON DATABASE ${db} TO ${other};`);
    const admin = serverUrl('PG');
    const asOwner = new URL(withDatabase(admin, db));
    asOwner.username = owner;
    asOwner.password = pw;
    const env = { APP_PG_URL: asOwner.href };
    const r = appWith('databases:\n  main: { engine: postgres, url: "${APP_PG_URL}" }\n');
    assert.equal((await cli(r, ['point', 'v1', '--name', 'p1'], { env })).code, 0);
    psql(db, 'INSERT INTO t VALUES (2);');

    // Another role's session stays open on the database.
    await openSession('psql', ['-X', '-w', '-q', '-At', '-h', admin.hostname, '-p', admin.port, '-U', other, '-d', db], { PGPASSWORD: pw }, "SELECT 'ready';\n");
    const before = psql('postgres', `SELECT oid FROM pg_database WHERE datname = '${db}'`);
    const res = await cli(r, ['to', 'p1', '--yes'], { env });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, new RegExp(other), 'the message names the role whose session is in the way');
    assert.match(res.stderr, /pg_signal_backend|superuser/);
    assert.equal(psql('postgres', `SELECT oid FROM pg_database WHERE datname = '${db}'`), before, 'the same database is live');
    assert.equal(psql('postgres', `SELECT datallowconn FROM pg_database WHERE datname = '${db}'`), 't', 'it accepts connections');
    assert.equal(psql(db, 'SELECT count(*) FROM t'), '2', 'and serves its data');
    assert.equal(psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '${db}\\_%'`), '0', 'no temp database is left');
  });
});
