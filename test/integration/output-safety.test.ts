// Names and human output: descriptions and names read from git cannot drive
// the terminal (JSON keeps them), point names follow git's ref rules and
// shadow nothing, "--" keeps a description starting with "-", and symlinked
// config files are reported.
import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cli, makeRepo, type Repo } from '../helpers/repo.js';

const repos: Repo[] = [];
after(() => repos.forEach((r) => r.cleanup()));
function repo(files?: Record<string, string>): Repo {
  const r = makeRepo(files ? { files } : {});
  repos.push(r);
  return r;
}

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('output safety', () => {
  it('list, show, log and errors print descriptions without escapes or bidi overrides; JSON keeps them', async () => {
    const r = repo();
    const evil = 'deploy \u001b[2J\u001b]0;owned\u0007\u001b[8mhidden\u001b[0m \u202eexe.txt\r done';
    const made = await cli(r, ['point', evil, '--name', 'evil']);
    assert.equal(made.code, 0, made.stderr);
    for (const args of [['list'], ['show', 'evil'], ['log'], ['point', evil, '--name', 'evil']]) {
      const res = await cli(r, args);
      assert.doesNotMatch(res.stdout + res.stderr, UNSAFE, args.join(' '));
    }
    const list = await cli(r, ['list']);
    assert.match(list.stdout, /deploy hidden exe\.txt\ufffd done/);
    const json = JSON.parse((await cli(r, ['list', '--json'])).stdout);
    assert.equal(json[0].description, evil);
  });

  it('point names follow git ref rules and shadow neither HEAD, a branch, a word nor a commit id', async () => {
    const r = repo();
    r.git('branch', 'feature');
    const cases: [string, RegExp][] = [
      ['HEAD', /already means something else/],
      ['latest', /already means something else/],
      ['main', /a branch is called "main"/],
      ['feature', /a branch is called "feature"/],
      ['deadbeef', /looks like a commit id/],
      ['x.lock', /invalid point name/],
      ['a..b', /invalid point name/],
    ];
    for (const [name, re] of cases) {
      const res = await cli(r, ['point', 'x', '--name', name]);
      assert.equal(res.code, 2, name);
      assert.match(res.stderr, re, name);
    }
    assert.equal(r.git('tag', '-l'), '');
    assert.equal((await cli(r, ['point', 'ok', '--name', 'pre-m42'])).code, 0);
  });

  it('point -- "-rf /" keeps the description', async () => {
    const r = repo();
    const res = await cli(r, ['point', '--', '-rf /']);
    assert.equal(res.code, 0, res.stderr);
    const json = JSON.parse((await cli(r, ['list', '--json'])).stdout);
    assert.equal(json[0].description, '-rf /');
  });

  it('a symlinked config file is reported: kept as a link inside the repository, left out when it points outside', async () => {
    const r = repo({ '.rollbackrc.yaml': 'config: [".env", "config/*.yml"]\n', '.gitignore': '.env\nconfig/\n' });
    const outside = join(r.dir, '..', 'outside.env');
    writeFileSync(outside, 'SECRET=1\n');
    symlinkSync(outside, join(r.dir, '.env'));
    r.write('config/prod.yml', 'a: 1\n');
    symlinkSync('prod.yml', join(r.dir, 'config', 'current.yml'));
    const res = await cli(r, ['point', 'links']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /config file \.env is a symbolic link to .*outside\.env, outside the repository: not snapshotted/);
    assert.match(res.stderr, /config file config\/current\.yml is a symbolic link \(to prod\.yml\): the link is kept/);
    const show = JSON.parse((await cli(r, ['show', 'latest', '--json'])).stdout);
    assert.deepEqual(show.snapshot.config.map((f: { path: string }) => f.path), ['config/current.yml', 'config/prod.yml']);
    const to = await cli(r, ['to', 'latest', '--yes', '--remove-extra']);
    assert.equal(to.code, 0, to.stderr);
    assert.doesNotMatch(to.stderr + to.stdout, /remove .*\.env/, 'a link left out is not removed as "extra"');
  });
});
