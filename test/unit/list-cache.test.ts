// list's cache file: a temp file left by a killed list is removed by the next write; a live writer's is not;
// tag facts are written and read back only in the shape git gives them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readListCache, writeListCache } from '../../src/adapters/list-cache.js';

const dir = mkdtempSync(join(tmpdir(), 'rb-list-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('list cache file', () => {
  it("removes a killed writer's temp file, keeps a live one's and anything else", async () => {
    const file = join(dir, 'list-notes.json');
    const gone = spawnSync(process.execPath, ['-e', '0']).pid as number; // exited: its pid is free
    const orphan = `list-notes.json.${gone}.deadbeef.tmp`;
    const live = `list-notes.json.${process.pid}.cafef00d.tmp`;
    for (const name of [orphan, live, 'other.tmp']) writeFileSync(join(dir, name), '{');
    await writeListCache(file, { notes: new Map([['a'.repeat(40), null]]), tags: new Map() });
    assert.ok(!existsSync(join(dir, orphan)), 'orphan removed');
    assert.deepEqual(readdirSync(dir).sort(), [live, 'list-notes.json', 'other.tmp'].sort());
    assert.deepEqual([...(await readListCache(file)).notes.entries()], [['a'.repeat(40), null]]);
  });
});

describe('list cache: tag facts', () => {
  const id = (c: string) => c.repeat(40);
  const good = { type: 'tag', peeled: id('b'), created: '1700000000', description: '第一个点', trailers: { branch: 'main', summary: 'config=1 paths=0 databases=0 size=3' } };
  const plain = { type: 'commit', peeled: '', created: '1700000001', description: '', trailers: {} };

  it('reads back what it wrote', async () => {
    const file = join(dir, 'tags.json');
    await writeListCache(file, { notes: new Map(), tags: new Map([[id('a'), good], [id('c'), plain]]) });
    assert.deepEqual([...(await readListCache(file)).tags.entries()], [[id('a'), good], [id('c'), plain]]);
  });

  it('writes only tag facts of the shape git gives, and reads a file with any other as empty', async () => {
    const file = join(dir, 'tags-bad.json');
    const bad = [
      { ...good, peeled: '' },
      { ...good, created: '17e8' },
      { ...good, description: 5 },
      { ...good, trailers: { Branch: 'main' } },
      { ...good, trailers: { branch: 'a\nb' } },
      { ...plain, description: 'a plain ref has no message' },
      { ...plain, type: 'other' },
    ];
    for (const f of bad) {
      await writeListCache(file, { notes: new Map(), tags: new Map([[id('a'), good], [id('d'), f as typeof good]]) });
      assert.deepEqual([...(await readListCache(file)).tags.keys()], [id('a')], JSON.stringify(f));
      const raw = JSON.parse(readFileSync(file, 'utf8')) as { tags: Record<string, unknown[]> };
      raw.tags[id('d')] = [f.type, f.peeled, f.created, f.description, f.trailers];
      writeFileSync(file, JSON.stringify(raw));
      assert.equal((await readListCache(file)).tags.size, 0, `whole file ignored with ${JSON.stringify(f)}`);
    }
  });
});
