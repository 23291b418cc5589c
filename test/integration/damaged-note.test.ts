// A note of this clone damaged by hand or by a tool (a field of the wrong
// type): no command stops with a TypeError. The note is not read; every
// command says which field is damaged, and the point's facts come from its
// tag and the snapshot manifest the tag names. `to` still restores from it;
// verify fails (exit 6); protect refuses to rewrite it; prune keeps the point.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cli, makeRepo, type CliResult, type Repo } from '../helpers/repo.js';

const repos: Repo[] = [];
after(() => repos.forEach((r) => r.cleanup()));

const sql = (r: Repo, query: string) => execFileSync('sqlite3', [join(r.dir, 'data/app.db'), query], { encoding: 'utf8' }).trim();

/** Damages the note of rollback/p: `mutate` changes the parsed JSON (or returns what to write instead). */
function damage(r: Repo, original: string, mutate: (n: Record<string, any>) => unknown): void {
  const n = JSON.parse(original) as Record<string, any>;
  const out = mutate(n) ?? n;
  const file = join(r.home, 'note.json');
  writeFileSync(file, JSON.stringify(out));
  r.git('notes', '--ref=rollback', 'add', '-f', '-F', file, r.git('rev-parse', 'rollback/p'));
}

/** No crash: a TypeError surfaces as the "unexpected problem" hint, or as JS words in the output. */
function noCrash(res: CliResult, what: string): void {
  const all = res.stdout + res.stderr;
  assert.doesNotMatch(all, /--verbose for details|TypeError|is not (iterable|a function)|Cannot read prop|undefined|NaN/, `${what}: ${all}`);
}

const MUTATIONS: [string, (n: Record<string, any>) => unknown, RegExp][] = [
  ['snapshot a string', (n) => void (n.snapshot = 'x'), /\(snapshot: expected an object\)/],
  ['databases an object', (n) => void (n.snapshot.databases = { a: 1 }), /\(snapshot\.databases: expected a list\)/],
  ['a database null', (n) => void (n.snapshot.databases = [null]), /\(snapshot\.databases\[0\]: expected an object\)/],
  ['config a number', (n) => void (n.snapshot.config = 5), /\(snapshot\.config: expected a list\)/],
  ['a config entry a string', (n) => void (n.snapshot.config = ['x']), /\(snapshot\.config\[0\]: expected an object\)/],
  ['chunks an object', (n) => void (n.snapshot.databases[0].chunks = { a: 1 }), /\(snapshot\.databases\[0\]\.chunks: expected a list\)/],
  ['captures a string', (n) => void (n.snapshot.captures = 'x'), /\(snapshot\.captures: expected a list\)/],
  ['worktree a string', (n) => void (n.snapshot.worktree = 'x'), /\(snapshot\.worktree: expected an object\)/],
  ['createdBy null', (n) => void (n.createdBy = null), /\(createdBy: expected an object\)/],
  ['release a string', (n) => void (n.release = 'v1'), /\(release: expected an object\)/],
  ['description a number', (n) => void (n.description = 5), /\(description: expected a string\)/],
  ['protected a string', (n) => void (n.protected = 'yes'), /\(protected: expected true or false\)/],
  ['a list', () => [1, 2], /\(\(note\): expected an object\)/],
];

describe('a damaged note of this clone', () => {
  it('every command says which field is damaged and reads the point from its tag and manifest; to restores from it', async () => {
    const r = makeRepo({ files: { 'app.py': 'v1\n', '.gitignore': '.env\ndata/\n', '.rollbackrc.yaml': 'config: [".env"]\ndatabases:\n  main: { engine: sqlite, path: "data/app.db" }\n' } });
    repos.push(r);
    r.write('.env', 'K=1\n');
    mkdirSync(join(r.dir, 'data'));
    sql(r, 'CREATE TABLE t (v); INSERT INTO t VALUES (1);');
    assert.equal((await cli(r, ['trust', '--yes'])).code, 0);
    assert.equal((await cli(r, ['point', '--name', 'p'])).code, 0);
    const original = r.git('notes', '--ref=rollback', 'show', r.git('rev-parse', 'rollback/p'));
    const snapshotLine = /snapshot .*/.exec((await cli(r, ['show', 'p'])).stdout)?.[0];
    assert.match(snapshotLine ?? '', /, \d+(\.\d)? KiB$/);

    for (const [name, mutate, says] of MUTATIONS) {
      damage(r, original, mutate);
      for (const args of [['list'], ['list', '--json'], ['show', 'p'], ['show', 'p', '--json'], ['status'], ['diff', 'p'], ['to', 'p', '--dry-run'], ['log']]) {
        const res = await cli(r, args);
        assert.equal(res.code, 0, `${name}: ${args.join(' ')}: ${res.stderr}`);
        noCrash(res, `${name}: ${args.join(' ')}`);
      }
      const show = await cli(r, ['show', 'p']);
      assert.match(show.stderr, new RegExp(`warning: the note of rollback/p is damaged ${says.source}; its facts come from the tag and the snapshot it names`), name);
      // From the manifest: the config file and the database are still there to restore.
      assert.match(show.stdout, /\.env[\s\S]*main {2}sqlite/, name);
      assert.equal(/snapshot .*/.exec(show.stdout)?.[0], snapshotLine, `${name}: the same snapshot and size as the note said`);
      assert.equal(JSON.parse((await cli(r, ['show', 'p', '--json'])).stdout).note, null, name);
      const verify = await cli(r, ['verify', 'p']);
      assert.equal(verify.code, 6, `${name}: verify: ${verify.stderr}`);
      assert.match(verify.stdout, says, name);
      noCrash(verify, `${name}: verify`);
      const protect = await cli(r, ['protect', 'p']);
      assert.equal(protect.code, 6, `${name}: protect: ${protect.stderr}`);
      assert.match(protect.stderr, says, name);
      assert.notEqual(r.git('notes', '--ref=rollback', 'show', r.git('rev-parse', 'rollback/p')), original, `${name}: protect left the note alone`);
      const prune = JSON.parse((await cli(r, ['prune', '--keep-last', '0', '--dry-run', '--json'])).stdout) as { points: { tag: string; keep: boolean; reason: string }[] };
      assert.deepEqual(prune.points.find((p) => p.tag === 'rollback/p'), { tag: 'rollback/p', keep: true, reason: 'its note is damaged' }, name);
    }

    // The rollback itself, from the manifest the tag names: config and database come back.
    writeFileSync(join(r.dir, '.env'), 'K=2\n');
    sql(r, 'UPDATE t SET v = 2;');
    const to = await cli(r, ['to', 'p', '--yes']);
    assert.equal(to.code, 0, to.stderr);
    assert.match(to.stderr, /warning: the note of rollback\/p is damaged/);
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'K=1\n');
    assert.equal(sql(r, 'SELECT v FROM t'), '1');
  });

  it('a damaged snapshot manifest is refused by name (exit 6), not a TypeError', async () => {
    const r = makeRepo({ files: { 'app.py': 'v1\n', '.gitignore': '.env\n', '.rollbackrc.yaml': 'config: [".env"]\n' } });
    repos.push(r);
    r.write('.env', 'K=1\n');
    assert.equal((await cli(r, ['trust', '--yes'])).code, 0);
    assert.equal((await cli(r, ['point', '--name', 'p'])).code, 0);
    const original = r.git('notes', '--ref=rollback', 'show', r.git('rev-parse', 'rollback/p'));
    damage(r, original, (n) => void (n.snapshot = 7));
    // The tag's snapshot names a commit whose manifest.json says config is not a list.
    const snap = JSON.parse(original).snapshot.commit as string;
    assert.match(snap, /^[0-9a-f]{40}$/);
    const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: r.dir, env: r.env, input: '{"config": 1, "paths": [], "databases": [], "captures": []}', encoding: 'utf8' }).trim();
    const bad = execFileSync('git', ['mktree'], { cwd: r.dir, env: r.env, input: `100644 blob ${blob}\tmanifest.json\n`, encoding: 'utf8' }).trim();
    const commit = r.git('commit-tree', bad, '-m', 'bad');
    // Re-make the tag with the same message but the damaged snapshot named in its trailer.
    const message = r.git('for-each-ref', '--format=%(contents)', 'refs/tags/rollback/p').replace(snap, commit);
    writeFileSync(join(r.home, 'msg'), message);
    r.git('tag', '-f', '-a', 'rollback/p', '-F', join(r.home, 'msg'), r.git('rev-parse', 'rollback/p^{commit}'));
    for (const args of [['show', 'p'], ['to', 'p', '--dry-run'], ['verify', 'p']]) {
      const res = await cli(r, args);
      assert.equal(res.code, 6, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stdout + res.stderr, /the snapshot manifest of rollback\/p is damaged \(config: expected a list\)/, args.join(' '));
      noCrash(res, args.join(' '));
    }
  });
});
