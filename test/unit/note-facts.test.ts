// noteFacts: what list shows of a note, checked; isNoteFacts: a cache entry read back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNoteFacts, noteFacts } from '../../src/core/points.js';

const note = {
  schema: 1,
  id: 'p1',
  kind: 'point',
  description: '修复登录页面的错误',
  branch: 'main',
  protected: true,
  snapshot: {
    commit: 'a'.repeat(40),
    ref: 'refs/rollback/snapshots/point/p1',
    config: [{ path: '.env' }, { path: 'b' }],
    paths: [],
    databases: [{ name: 'main', chunks: ['x'] }, { name: 'jobs' }],
    captures: [],
    worktree: { stash: 'b'.repeat(40) },
    size: 1234,
  },
};

describe('noteFacts', () => {
  it('keeps what list shows, and counts instead of lists', () => {
    const f = noteFacts(note);
    assert.deepEqual(f, {
      branch: 'main',
      protected: true,
      description: '修复登录页面的错误',
      snapshot: { commit: 'a'.repeat(40), ref: 'refs/rollback/snapshots/point/p1', config: 2, paths: 0, databases: ['main', 'jobs'], dirty: true, size: 1234 },
    });
    assert.ok(isNoteFacts(f));
    assert.ok(isNoteFacts(JSON.parse(JSON.stringify(f))));
  });

  it('reads missing optional fields as list did (no branch, not protected, no snapshot)', () => {
    const f = noteFacts({ schema: 1 });
    assert.deepEqual(f, { branch: null, protected: false, description: '', snapshot: null });
    assert.ok(isNoteFacts(f));
    assert.equal(noteFacts({ ...note, snapshot: null })?.snapshot, null);
  });

  it('leaves alone a note whose shown fields have other types', () => {
    for (const bad of [
      null,
      [],
      'text',
      { branch: 5 },
      { protected: 'yes' },
      { description: {} },
      { snapshot: 'x' },
      { snapshot: { ...note.snapshot, config: 'abc' } },
      { snapshot: { ...note.snapshot, size: '1' } },
      { snapshot: { ...note.snapshot, databases: [{ name: 1 }] } },
      { snapshot: { ...note.snapshot, databases: [null] } },
    ]) {
      assert.equal(noteFacts(bad), null, JSON.stringify(bad));
    }
  });

  it('refuses cache entries that are not exactly what noteFacts makes', () => {
    const good = noteFacts(note);
    for (const bad of [
      { ...good, protected: 'true' },
      { ...good, branch: undefined },
      { ...good, snapshot: { ...good?.snapshot, config: -1 } },
      { ...good, snapshot: { ...good?.snapshot, paths: 1.5 } },
      { ...good, snapshot: { ...good?.snapshot, databases: [1] } },
      { ...good, snapshot: { ...good?.snapshot, dirty: 'no' } },
      { ...good, snapshot: [] },
    ]) {
      assert.equal(isNoteFacts(bad), false, JSON.stringify(bad));
    }
  });
});
