// list reads what it shows of each note and tag through a cache keyed by note
// blob id and tag object id (src/adapters/list-cache.ts): output with and
// without the cache is the same, a changed note or re-made tag shows at once,
// a cache file that is not ours is ignored and rewritten, and a killed
// writer's temp file is removed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
    const written = JSON.parse(readFileSync(cache, 'utf8')) as { tags: Record<string, unknown[]> };
    const tagObject = Object.keys(written.tags)[0] as string;
    const entry = written.tags[tagObject] as unknown[];
    const withTag = (e: unknown) => JSON.stringify({ v: 2, notes: {}, tags: { [tagObject]: e } });
    const forged = [
      'not json',
      '[]',
      '{"v": 2, "notes": {}, "tags": {', // what a write cut short would leave (ours are renamed into place)
      JSON.stringify({ v: 1, notes: {} }),
      JSON.stringify({ v: 2, notes: {} }),
      JSON.stringify({ v: 2, notes: { [blob]: { branch: 'x', protected: 'yes', description: '', snapshot: null } }, tags: {} }),
      JSON.stringify({ v: 2, notes: { [blob]: { branch: 'x', protected: true, description: '', snapshot: { commit: 'c', ref: 'r', config: -1, paths: 0, databases: [], dirty: false, size: 1 } } }, tags: {} }),
      JSON.stringify({ v: 2, notes: { '../x': null }, tags: {} }),
      // Tag entries: [type, peeled, created, description, trailers], each field checked.
      withTag(entry.slice(0, 4)),
      withTag(['tag', 'not an id', ...entry.slice(2)]),
      withTag(['blob', ...entry.slice(1)]),
      withTag([entry[0], entry[1], '-5', ...entry.slice(3)]),
      withTag([...entry.slice(0, 3), 7, entry[4]]),
      withTag([...entry.slice(0, 4), { branch: 'x\nRollback-Kind: release' }]),
      withTag([...entry.slice(0, 4), { 'Not-Lower': 'x' }]),
      withTag([...entry.slice(0, 4), ['branch', 'x']]),
      JSON.stringify({ v: 2, notes: {}, tags: { 'refs/tags/x': entry } }),
    ];
    for (const text of forged) {
      writeFileSync(cache, text);
      assert.deepEqual(await allOutputs(r), good, text);
      const rewritten = JSON.parse(readFileSync(cache, 'utf8')) as { v: number; tags: Record<string, unknown[]> };
      assert.equal(rewritten.v, 2, `rewritten after ${text}`);
      assert.deepEqual(rewritten.tags[tagObject], entry, `tag entry read again after ${text}`);
    }
  });

  it("leaves no temp file of a killed list, and the next list's output is the same", async () => {
    const good = await allOutputs(r);
    const gone = spawnSync(process.execPath, ['-e', '0']).pid as number; // exited: its pid is free
    const orphan = `${cache}.${gone}.deadbeef.tmp`;
    writeFileSync(orphan, '{"v": 2, "notes": {}, "ta'); // a list killed between write and rename
    rmSync(cache); // so that the next list writes
    assert.deepEqual(await allOutputs(r), good);
    assert.ok(!existsSync(orphan), 'the temp file of the killed list is removed');
    assert.deepEqual(readdirSync(dirname(cache)).filter((n) => n.endsWith('.tmp')), []);
    assert.ok(existsSync(cache));
  });

  it('keeps tag facts by tag object: a moved or re-made tag shows its new message, a plain release tag is listed', async () => {
    await out(r, ['list', '--json']); // warm
    const before = JSON.parse(await out(r, ['list', '--json'])) as { tag: string; description: string; commit: string; createdAt: string }[];
    const p0 = before.find((p) => p.tag === 'rollback/p0');
    assert.ok(p0);
    // Re-made by hand with another message and another commit: another tag object under the same name.
    const commit = r.git('rev-parse', 'HEAD~1');
    r.git('tag', '-f', '-a', 'rollback/p0', '-m', 'moved by hand\n\nRollback-Branch: elsewhere', commit);
    r.git('tag', 'release/v9.9.9', commit); // a plain (lightweight) release tag
    const warm = await allOutputs(r);
    const after = JSON.parse(warm[0] as string) as { tag: string; description: string; commit: string; branch: string | null; version: string | null }[];
    const moved = after.find((p) => p.tag === 'rollback/p0');
    assert.equal(moved?.description, 'moved by hand');
    assert.equal(moved?.commit, commit);
    assert.equal(moved?.branch, 'elsewhere', 'the re-made tag has no note: its trailer shows');
    const plain = after.find((p) => p.tag === 'release/v9.9.9');
    assert.equal(plain?.commit, commit);
    assert.equal(plain?.version, '9.9.9');
    const written = JSON.parse(readFileSync(cache, 'utf8')) as { tags: Record<string, unknown[]> };
    assert.equal(Object.keys(written.tags).length, 4, 'the old tag object is dropped from the cache');
    assert.equal(written.tags[commit]?.[0], 'commit');
    rmSync(cache);
    assert.deepEqual(await allOutputs(r), warm, 'the same without the cache');
    r.git('tag', '-d', 'release/v9.9.9');
  });

  it('asks for-each-ref for tag messages only for tags not in the cache', async () => {
    await out(r, ['list', '--json']); // warm
    const trace = join(r.dir, '..', `trace-${process.pid}.txt`);
    const traced = async (args: string[]) => {
      rmSync(trace, { force: true });
      const res = await cli(r, args, { env: { COLUMNS: '160', GIT_TRACE: trace } });
      assert.equal(res.code, 0, res.stderr);
      return readFileSync(trace, 'utf8').split('\n').filter((l) => l.includes('for-each-ref') && l.includes('%(contents)'));
    };
    try {
      assert.deepEqual(await traced(['list', '--json']), [], 'a warm list reads no tag message');
      r.git('tag', '-f', '-a', 'rollback/p1', '-m', 'again', r.git('rev-parse', 'HEAD'));
      const read = await traced(['list', '--json']);
      assert.equal(read.length, 1);
      assert.match(read[0] as string, /refs\/tags\/rollback\/p1'?$/, 'only the re-made tag is read, by name');
    } finally {
      rmSync(trace, { force: true });
    }
  });
});
