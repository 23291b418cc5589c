// The SQLite file identity a point records (note data: untrusted) and what it proves later.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { recordedFacts, sameFacts, sinceCopy, sourceFacts } from '../../src/adapters/engines/sqlite-facts.js';

const dir = mkdtempSync(join(tmpdir(), 'rb-facts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('recorded SQLite facts', () => {
  const good = { ino: '123', size: 4096, mtimeNs: '1763900000000000000', walSize: null, walMtimeNs: null, statAtMs: 1763900005000 };

  it('accepts well-formed facts and rejects anything else from a note', () => {
    assert.deepEqual(recordedFacts(good), good);
    for (const bad of [null, 'x', [], { ...good, ino: 12 }, { ...good, mtimeNs: '1e18' }, { ...good, size: -1 }, { ...good, size: 1.5 }, { ...good, walSize: '0' }, { ...good, walMtimeNs: 5 }, { ...good, statAtMs: undefined }, { ...good, ino: '9'.repeat(40) }]) {
      assert.equal(recordedFacts(bad), undefined, JSON.stringify(bad));
    }
  });

  it('compares identity, not when it was looked at', () => {
    assert.ok(sameFacts(good, { ...good, statAtMs: 1 }));
    assert.ok(!sameFacts(good, { ...good, size: 8192 }));
    assert.ok(!sameFacts(good, { ...good, walSize: 32, walMtimeNs: good.mtimeNs }));
  });

  it('proves "same" only for a file settled before the copy, and tells a write or a hot journal', async () => {
    const db = join(dir, 'a.db');
    writeFileSync(db, 'x'.repeat(4096));
    const past = new Date(Date.now() - 60_000);
    utimesSync(db, past, past);
    const settled = await sourceFacts(db);
    assert.deepEqual(await sinceCopy(db, settled), { state: 'same' });
    // The same facts recorded 50 ms after the last write: within any file system's racy window.
    assert.equal((await sinceCopy(db, { ...settled, statAtMs: past.getTime() + 50 })).state, 'unsure');
    writeFileSync(`${db}-journal`, 'hot');
    assert.equal((await sinceCopy(db, settled)).state, 'unsure');
    rmSync(`${db}-journal`);
    writeFileSync(db, 'y'.repeat(4096));
    assert.equal((await sinceCopy(db, settled)).state, 'written');
    rmSync(db);
    assert.deepEqual(await sinceCopy(db, settled), { state: 'absent' });
  });
});
