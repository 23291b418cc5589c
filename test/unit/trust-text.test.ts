// Pure parts of the trust model (src/core/trust.ts) and terminal-safe text (src/core/text.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activeSettings, describeChanges, needsApproval } from '../../src/core/trust.js';
import { sanitize } from '../../src/core/text.js';
import { english } from '../../src/core/i18n.js';

describe('activeSettings', () => {
  it('collects commands, databases, health, encryption and removeExtra; not globs or tags', () => {
    const s = activeSettings({
      config: ['.env'],
      paths: ['uploads/'],
      tags: { point: 'p/' },
      capture: { services: 'docker compose ps' },
      hooks: { beforeRollback: 'stop', afterRollback: null },
      health: { url: 'http://127.0.0.1/health', retries: 3 },
      databases: { main: { engine: 'postgres', url: '${DATABASE_URL}' } },
      encryption: { recipients: ['age1x'] },
      restore: { removeExtra: true, dropOld: true },
    });
    assert.deepEqual(s, {
      'capture.services': 'docker compose ps',
      'hooks.beforeRollback': 'stop',
      'health.url': 'http://127.0.0.1/health',
      'databases.main.engine': 'postgres',
      'databases.main.url': '${DATABASE_URL}',
      'encryption.recipients': '["age1x"]',
      'restore.removeExtra': 'true',
    });
    assert.ok(needsApproval(s));
    assert.ok(!needsApproval(activeSettings({ config: ['.env'], restore: { removeExtra: false } })));
    assert.deepEqual(activeSettings(null), {});
  });
  it('describes what changed, in key order', () => {
    assert.deepEqual(describeChanges({ a: '1', b: '2', c: '3' }, { b: '2', c: '4', d: '5' }).map(english), ['a removed', 'c changed', 'd added']);
    assert.deepEqual(describeChanges({ a: '1' }, { a: '1' }), []);
  });
});

describe('sanitize', () => {
  it('removes ANSI/OSC escapes and bidi overrides, marks other controls, keeps UTF-8', () => {
    assert.equal(sanitize('\u001b[31mred\u001b[0m \u001b]8;;http://x\u0007link\u001b]8;;\u0007'), 'red link');
    assert.equal(sanitize('evil\u202etxt.exe'), 'eviltxt.exe');
    assert.equal(sanitize('a\u0007b\u0085c\u0000d\re'), 'a\ufffdb\ufffdc\ufffdd\ufffde');
    assert.equal(sanitize('AI服务集成完成 ✓'), 'AI服务集成完成 ✓');
    assert.equal(sanitize('two\nlines\tx'), 'two lines x');
    assert.equal(sanitize('two\nlines', { multiline: true }), 'two\nlines');
    assert.equal(sanitize('\u001b[2J\u001b[H\u001bcreset'), 'reset');
  });
});
