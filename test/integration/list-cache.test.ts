// list reads what it shows of each note through a cache keyed by note blob id
// (src/adapters/list-cache.ts): output with and without the cache is the
// same, a changed note shows at once, and a cache file that is not ours is
// ignored and rewritten.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cli, makeRepo, type Repo } from '../helpers/repo.js';

const repos: Repo[] = [];
after(() => repos.forEach((r) => r.cleanup()));

const LISTS = [['list', '--json'], ['list'], ['list', '--all'], ['list', '--all', '--json'], ['list', '--kind', 'backup'], ['--lang', 'zh-CN', 'list']];

async function out(r: Repo, args: string[]): Promise<string> {
  const res = await cli(r, args, { env: { COLUMNS: '160' } });
  assert.equal(res.code, 0, res.stderr);
  return res.stdout;
}

/**
 * Every listing; in tables the age ("just now", "1 minute ago" / "刚刚"…) and
 * the padding it changes are taken out, so a slow run does not change the text.
 */
async function allOutputs(r: Repo): Promise<string[]> {
  const outs: string[] = [];
  for (const args of LISTS) {
    const text = await out(r, args);
    outs.push(args.includes('--json') ? text : text.replace(/[(（][^)）]*[)）]/g, '()').replace(/ {2,}/g, '  '));
  }
  return outs;
}

describe('list: cache of note facts', () => {
  const r = makeRepo({ files: { 'app.py': 'v1\n', '.gitignore': '.env\n', '.rollbackrc.yaml': 'config: [".env"]\n' } });
  repos.push(r);
  const cache = join(r.dir, '.git', 'rollback', 'cache', 'list-notes.json');

  it('shows the same with a cold cache, a warm one and none, and equals show --json', async () => {
    r.write('.env', 'A=1\n', 0o600);
    for (const [i, d] of ['第一个点', 'second point', '🚀 third'].entries()) {
      r.write('app.py', `v${i + 2}\n`);
      r.commit(`c${i}`);
      assert.equal((await cli(r, ['point', d, '--name', `p${i}`])).code, 0);
    }
    assert.equal((await cli(r, ['protect', 'p1'])).code, 0);
    // A note that is not JSON and one whose fields have the wrong types: both left alone, the tags still listed.
    r.git('notes', '--ref=refs/notes/rollback', 'add', '-f', '-m', 'not json', r.git('rev-parse', 'rollback/p0'));
    r.git('notes', '--ref=refs/notes/rollback', 'add', '-f', '-m', '{"branch": 5, "protected": "yes"}', r.git('rev-parse', 'rollback/p2'));
    rmSync(cache, { force: true });
    const cold = await allOutputs(r);
    assert.ok(existsSync(cache), 'list wrote its cache');
    const warm = await allOutputs(r);
    assert.deepEqual(warm, cold);
    rmSync(cache);
    assert.deepEqual(await allOutputs(r), cold);

    const listed = JSON.parse(cold[0] as string) as Record<string, unknown>[];
    assert.equal(listed.length, 3);
    for (const p of listed) {
      const shown = JSON.parse(await out(r, ['show', String(p.tag), '--json'])) as Record<string, unknown>;
      // show's `snapshot` is the whole snapshot (from the note, else the manifest); list's is its summary.
      for (const [k, v] of Object.entries(p)) if (k !== 'snapshot') assert.deepEqual(shown[k], v, `${String(p.tag)}: ${k}`);
      const s = p.snapshot as { commit: string; config: number } | null;
      const full = shown.snapshot as { commit: string; config: unknown[] } | null;
      if (s) assert.deepEqual([s.commit, s.config], [full?.commit, full?.config.length]);
    }
    const byTag = new Map(listed.map((p) => [p.tag, p]));
    assert.equal(byTag.get('rollback/p1')?.protected, true);
    assert.equal(byTag.get('rollback/p2')?.protected, false);
    assert.equal(byTag.get('rollback/p2')?.description, '🚀 third');
  });

  it('shows a changed note at once (a new blob)', async () => {
    assert.equal(JSON.parse(await out(r, ['list', '--json'])).find((p: { tag: string }) => p.tag === 'rollback/p1').protected, true);
    assert.equal((await cli(r, ['unprotect', 'p1'])).code, 0);
    assert.equal(JSON.parse(await out(r, ['list', '--json'])).find((p: { tag: string }) => p.tag === 'rollback/p1').protected, false);
    const entries = Object.keys((JSON.parse(readFileSync(cache, 'utf8')) as { notes: object }).notes);
    assert.equal(entries.length, 3, 'the old note blob is dropped from the cache');
  });

  it('ignores a cache file that is not ours, and rewrites it', async () => {
    const good = await allOutputs(r);
    const blob = Object.keys((JSON.parse(readFileSync(cache, 'utf8')) as { notes: object }).notes)[0] as string;
    const forged = [
      'not json',
      '[]',
      JSON.stringify({ v: 2, notes: {} }),
      JSON.stringify({ v: 1, notes: { [blob]: { branch: 'x', protected: 'yes', description: '', snapshot: null } } }),
      JSON.stringify({ v: 1, notes: { [blob]: { branch: 'x', protected: true, description: '', snapshot: { commit: 'c', ref: 'r', config: -1, paths: 0, databases: [], dirty: false, size: 1 } } } }),
      JSON.stringify({ v: 1, notes: { '../x': null } }),
    ];
    for (const text of forged) {
      writeFileSync(cache, text);
      assert.deepEqual(await allOutputs(r), good, text);
      assert.equal((JSON.parse(readFileSync(cache, 'utf8')) as { v: number }).v, 1, `rewritten after ${text}`);
    }
  });
});
