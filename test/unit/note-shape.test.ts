import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manifestShapeProblem, noteShapeProblem } from '../../src/core/note-shape.js';

const file = { path: '.env', mode: '100600', size: 4, sha256: 'a'.repeat(64), blob: 'b'.repeat(40) };
const db = { name: 'main', engine: 'sqlite', format: 'sqlite-file', path: 'db/main.sqlite', size: 8, sha256: 'c'.repeat(64), chunks: [{ blob: 'd'.repeat(40), size: 8 }], tool: 'sqlite3', ms: 1 };
const snapshot = () => ({ commit: 'e'.repeat(40), ref: 'refs/rollback/snapshots/point/p', size: 12, config: [file], paths: [], databases: [db], captures: [], worktree: null });
const note = () => ({ schema: 1, id: 'p', kind: 'point', description: 'x', createdAt: '2026-01-01T00:00:00Z', createdBy: { name: 'a', email: 'b', host: 'c' }, commit: 'f'.repeat(40), branch: 'main', dirty: false, protected: false, release: null, snapshot: snapshot() });

describe('note shape', () => {
  it('accepts a note as the format documents it, with unknown fields and without optional ones', () => {
    assert.equal(noteShapeProblem(note()), null);
    assert.equal(noteShapeProblem({ ...note(), verified: { ok: true }, clone: 'x' }), null);
    const { release, protected: _p, createdBy, ...older } = note();
    assert.equal(noteShapeProblem(older), null, 'fields a note may lack');
    assert.equal(noteShapeProblem({ ...note(), snapshot: null, release: { version: '1.0.0', previous: null, change: null } }), null);
    void release;
    void createdBy;
  });

  it('names the first field not as documented', () => {
    const cases: [unknown, string, string][] = [
      [[1], '(note)', 'an object'],
      [{ ...note(), schema: 2 }, 'schema', '1'],
      [{ ...note(), description: 5 }, 'description', 'a string'],
      [{ ...note(), branch: 5 }, 'branch', 'a string or null'],
      [{ ...note(), protected: 'yes' }, 'protected', 'true or false'],
      [{ ...note(), createdBy: null }, 'createdBy', 'an object'],
      [{ ...note(), release: { previous: null } }, 'release.version', 'present'],
      [{ ...note(), snapshot: { ...snapshot(), databases: {} } }, 'snapshot.databases', 'a list'],
      [{ ...note(), snapshot: { ...snapshot(), captures: undefined } }, 'snapshot.captures', 'present'],
      [{ ...note(), snapshot: { ...snapshot(), config: [file, { ...file, mode: 644 }] } }, 'snapshot.config[1].mode', 'a string'],
      [{ ...note(), snapshot: { ...snapshot(), databases: [{ ...db, chunks: [{ blob: 'x' }] }] } }, 'snapshot.databases[0].chunks[0].size', 'present'],
      [{ ...note(), snapshot: { ...snapshot(), databases: [{ ...db, size: Infinity }] } }, 'snapshot.databases[0].size', 'a number'],
      [{ ...note(), snapshot: { ...snapshot(), worktree: { commit: 'x' } } }, 'snapshot.worktree.index', 'present'],
    ];
    for (const [value, field, expected] of cases) assert.deepEqual(noteShapeProblem(value), { field, expected }, field);
  });

  it('checks a manifest.json the same way', () => {
    const { commit: _c, ref: _r, size: _s, ...manifest } = snapshot();
    assert.equal(manifestShapeProblem({ schema: 1, id: 'p', ...manifest }), null);
    assert.deepEqual(manifestShapeProblem({ ...manifest, paths: 'x' }), { field: 'paths', expected: 'a list' });
    assert.deepEqual(manifestShapeProblem(null), { field: '(manifest.json)', expected: 'an object' });
  });
});
