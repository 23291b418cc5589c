// What every engine shares: createEngine's checks of a config entry. Each
// engine's own tests (real servers, dump → stage → swap → unswap, crash and
// retry paths) are in engine-<engine>.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEngine } from '../../src/adapters/engines/index.js';

const ctx = { cwd: process.cwd(), env: process.env };

describe('createEngine', () => {
  it('names the key and what is expected', () => {
    assert.throws(() => createEngine({ name: 'main', engine: 'postgress' }, ctx), /databases\.main\.engine: expected one of sqlite, postgres/);
    assert.throws(() => createEngine({ name: 'main', engine: 'postgres' }, ctx), /databases\.main\.url: missing/);
    assert.throws(() => createEngine({ name: 'main', engine: 'postgres', url: 'mysql://x@h/db' }, ctx), /databases\.main\.url: expected a postgres:\/\//);
    assert.throws(() => createEngine({ name: 'main', engine: 'sqlite', path: 'a.db', pth: 1 }, ctx), /databases\.main\.pth: unknown key/);
    assert.throws(() => createEngine({ name: 'c', engine: 'command', dump: 'x' }, ctx), /databases\.c\.restore: missing/);
    assert.throws(() => createEngine({ name: 'r', engine: 'redis', url: 'redis://h/abc' }, ctx), /databases\.r\.url/);
  });
});
