// The config schema: every error names the file, the key and what is expected
// (in English and in Chinese); ${VAR} is expanded only when a database is used.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ENGINE_KEYS, expandVars, resolveDatabase, validateConfig } from '../../src/core/config.js';
import { ConfigError } from '../../src/core/errors.js';
import { setLang } from '../../src/core/i18n.js';

after(() => setLang('en'));

function problem(raw: unknown): ConfigError {
  try {
    validateConfig(raw, '.rollbackrc.yaml');
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail(`accepted ${JSON.stringify(raw)}`);
}

describe('config schema', () => {
  it('accepts the full example and leaves ${VAR} for when a database is used', () => {
    const cfg = validateConfig(
      {
        config: ['.env'],
        paths: 'uploads/',
        databases: { main: { engine: 'postgres', url: '${DB}', noOwner: true }, jobs: { engine: 'mariadb', url: 'mysql://a@h/j', lockWaitTimeout: '5s' }, local: { engine: 'sqlite', path: 'data/app.db' } },
        capture: { migrations: 'alembic current' },
        hooks: { beforePoint: 'neo4j stop', afterPoint: 'neo4j start', onFailure: 'curl -d @- $WEBHOOK' },
        health: { url: 'http://x', interval: '3s', timeout: 2 },
        retention: { keepLast: 3 },
        restore: { removeExtra: true },
        lang: 'zh-CN',
      },
      '.rollbackrc.yaml',
    );
    assert.deepEqual(cfg.paths, ['uploads/']);
    assert.equal(cfg.databases[0]?.url, '${DB}');
    assert.equal(cfg.databases[1]?.engine, 'mariadb');
    assert.equal(cfg.health?.intervalMs, 3000);
    assert.equal(cfg.health?.timeoutMs, 2000);
    assert.equal(cfg.hooks.beforePoint, 'neo4j stop');
    assert.equal(cfg.hooks.beforeRollback, null);
    assert.equal(cfg.restore.removeExtra, true);
    assert.equal(cfg.lang, 'zh-CN');
    assert.equal(resolveDatabase(cfg.databases[0]!, { DB: 'postgres://u@h/db' }, cfg.file).url, 'postgres://u@h/db');
    assert.throws(() => resolveDatabase(cfg.databases[0]!, {}, cfg.file), /^ConfigError: \.rollbackrc\.yaml: databases\.main\.url: environment variable DB is not set$/m);
  });

  it('names file, key and expectation for every kind of mistake', () => {
    const cases: [unknown, RegExp][] = [
      [{ config: [1] }, /^\.rollbackrc\.yaml: config: expected a list of file paths or globs, got a list$/],
      [{ databases: { m: { engine: 'oracle' } } }, /^\.rollbackrc\.yaml: databases\.m\.engine: expected one of sqlite, postgres, mysql, redis, command, got "oracle"$/],
      [{ databases: { m: { path: 'x' } } }, /^\.rollbackrc\.yaml: databases\.m\.engine: expected one of .*, got nothing$/],
      [{ databases: { m: { engine: 'sqlite', pth: 'x' } } }, /^\.rollbackrc\.yaml: databases\.m\.pth: unknown key for engine sqlite \(did you mean "path"\?\)$/],
      [{ databases: { m: { engine: 'postgres', url: 'x', noOwner: 'yes' } } }, /databases\.m\.noOwner: expected true or false, got "yes"$/],
      [{ databases: { m: { engine: 'redis', url: 'x', scratchDb: -1 } } }, /databases\.m\.scratchDb: expected a whole number >= 0, got -1$/],
      [{ databases: { m: { engine: 'mysql', url: 'x', lockWaitTimeout: 'soon' } } }, /databases\.m\.lockWaitTimeout: expected a duration like "3s" or "500ms", got "soon"$/],
      [{ databases: { 'a b': { engine: 'sqlite', path: 'x' } } }, /databases\.a b: expected a name of letters/],
      [{ databases: { m: 'x' } }, /databases\.m: expected a mapping with an engine, got "x"$/],
      [{ paths: ['../etc'] }, /paths: expected paths inside the repository \(relative, no ".."\), got a list$/],
      [{ tags: { point: 'x/', backup: 'x/' } }, /tags: expected a different prefix for each kind, got a mapping$/],
      [{ tags: { backup: 'rollback/' } }, /tags: expected a different prefix for each kind/],
      [{ hooks: { after: 'x' } }, /^\.rollbackrc\.yaml: hooks\.after: unknown setting/],
      [{ hooks: { afterRolback: 'x' } }, /hooks\.afterRolback: unknown setting \(did you mean "afterRollback"\?\)$/],
      [{ confg: ['.env'] }, /^\.rollbackrc\.yaml: confg: unknown setting \(did you mean "config"\?\)$/],
      [{ health: { retries: 1.5 } }, /health\.retries: expected a whole number >= 0, got 1\.5$/],
      [{ retention: { keepWithin: 7 } }, /retention\.keepWithin: expected a duration like "3s" or "500ms", got 7$/],
      [{ lang: 'fr' }, /lang: expected one of en, zh-CN, auto, got "fr"$/],
      [[], /^\.rollbackrc\.yaml: \(top level\): expected a mapping of settings, got a list$/],
    ];
    for (const [raw, re] of cases) assert.match(problem(raw).message, re, JSON.stringify(raw));
  });

  it('puts a typo before the missing key it explains, and counts the rest in the hint', () => {
    const e = problem({ databases: { m: { engine: 'sqlite', pth: 'x' } }, health: { retries: 'x' } });
    assert.match(e.message, /pth: unknown key/);
    assert.equal(e.hint, 'fix .rollbackrc.yaml (2 more problems after this one); every setting: git help rollback (CONFIGURATION)');
  });

  it('speaks Chinese when the language is zh-CN; Error.message stays English', () => {
    const e = problem({ databases: { m: { engine: 'sqlite', pth: 'x' } } });
    setLang('zh-CN');
    try {
      assert.equal(e.localMessage(), '.rollbackrc.yaml：databases.m.pth：sqlite 引擎没有这个键（是不是 "path"？）');
      assert.match(problem({ config: 3 }).localMessage(), /^\.rollbackrc\.yaml：config：应为文件路径或通配符的列表，实际为 3$/);
      assert.match(e.localHint() ?? '', /^请修改 \.rollbackrc\.yaml/);
    } finally {
      setLang('en');
    }
    assert.match(e.message, /unknown key for engine sqlite/);
  });

  it('has a schema for every engine with its required keys', () => {
    for (const [engine, keys] of Object.entries(ENGINE_KEYS)) {
      const entry: Record<string, unknown> = { engine };
      for (const [k, spec] of Object.entries(keys.required)) entry[k] = spec.kind === 'boolean' ? true : spec.kind === 'integer' ? 1 : 'x';
      assert.doesNotThrow(() => validateConfig({ databases: { d: entry } }, 'f'), engine);
    }
  });

  it('expands ${VAR:-default}', () => {
    assert.equal(expandVars('${A:-x}-${B}', { B: 'b' }, 'w'), 'x-b');
  });
});

describe('rollback.schema.json', () => {
  it('is the JSON Schema of the config schema, up to date (npm run schema)', async () => {
    const { readFileSync } = await import('node:fs');
    const { configJsonSchema, SCHEMA_FILE } = await import('../../scripts/gen-schema.js');
    const committed = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as { properties: Record<string, { anyOf: { properties: Record<string, unknown>; additionalProperties: { oneOf: unknown[] } }[] }> };
    assert.deepEqual(committed as unknown, configJsonSchema() as unknown, 'run: npm run schema');
    const dbs = committed.properties.databases!.anyOf[0]!.additionalProperties.oneOf as { properties: { engine: { enum: string[] } } }[];
    assert.deepEqual(dbs.map((d) => d.properties.engine.enum[0]).sort(), Object.keys(ENGINE_KEYS).sort());
    assert.ok(committed.properties.hooks!.anyOf[0]!.properties.beforePoint, 'hooks.beforePoint');
  });
});

describe('.rollbackrc.example', () => {
  it('is a valid config with every top-level setting', async () => {
    const { readFileSync } = await import('node:fs');
    const yaml = await import('js-yaml');
    const text = readFileSync(new URL('../../.rollbackrc.example', import.meta.url), 'utf8');
    const raw = yaml.load(text) as Record<string, unknown>;
    const cfg = validateConfig(raw, '.rollbackrc.example');
    assert.ok(cfg.databases.length >= 5);
    assert.ok(cfg.hooks.onFailure);
    // encryption is shown commented out: a working block needs the reader's own age recipients.
    assert.match(text, /^# encryption:\n#   recipients: /m);
    const { ConfigSchema } = await import('../../src/core/config.js');
    assert.deepEqual(Object.keys(raw).sort(), Object.keys(ConfigSchema.entries).filter((k) => k !== '$schema' && k !== 'encryption').sort());
  });
});
