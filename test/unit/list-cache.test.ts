// list's cache file: a temp file left by a killed list is removed by the next write; a live writer's is not.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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
