// The message catalog: every key in both languages with the same parameters,
// plural forms, locale detection, and the text helpers' CJK widths.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { detectLang, en, format, list, msg, parseLang, setLang, t, type Entry, type Text } from '../../src/core/i18n.js';
import { catalog } from '../../src/core/messages.js';
import { table } from '../../src/cli/output.js';
import { truncate, width, wrap } from '../../src/cli/text.js';

after(() => setLang('en'));

const params = (text: Text): Set<string> => {
  const all = typeof text === 'string' ? [text] : [text.one ?? '', text.other];
  return new Set(all.flatMap((x) => [...x.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1] as string)));
};

describe('message catalog', () => {
  it('has every key in English and Chinese, with the same parameters', () => {
    const entries = Object.entries(catalog as Record<string, Entry>);
    assert.ok(entries.length > 300, `${entries.length} keys`);
    for (const [key, entry] of entries) {
      assert.ok(entry.en !== undefined && entry.zh !== undefined, `${key}: both languages`);
      for (const text of [entry.en, entry.zh]) {
        const forms = typeof text === 'string' ? [text] : [text.other, ...(text.one !== undefined ? [text.one] : [])];
        for (const f of forms) assert.ok(f.length > 0 || key.startsWith('got.'), `${key}: empty text`);
      }
      // Plural forms may drop {n} in English ("a file"), never a parameter Chinese needs.
      const enParams = params(entry.en);
      const zhParams = params(entry.zh);
      assert.deepEqual([...zhParams].filter((p) => !enParams.has(p)), [], `${key}: Chinese uses a parameter English lacks`);
      assert.deepEqual([...enParams].filter((p) => !zhParams.has(p) && p !== 'n'), [], `${key}: English uses a parameter Chinese lacks`);
      if (key.startsWith('yargs:')) assert.equal((entry.zh as string).split('%s').length, key.split('%s').length, `${key}: same %s count`);
    }
  });

  it('defines each key once across the catalog\'s parts (a later part would silently win)', () => {
    const dir = new URL('../../src/core/', import.meta.url);
    const seen = new Map<string, string>();
    const twice: string[] = [];
    for (const file of readdirSync(dir).filter((f) => /^messages.*\.ts$/.test(f))) {
      for (const m of readFileSync(new URL(file, dir), 'utf8').matchAll(/^\s+'([^']+)':\s*\{\s*en:/gm)) {
        const key = m[1] as string;
        if (seen.has(key)) twice.push(`${key} (${seen.get(key)}, ${file})`);
        else seen.set(key, file);
      }
    }
    assert.deepEqual(twice, []);
  });

  it('has no English sentence left untranslated in the Chinese column', () => {
    const same = Object.entries(catalog as Record<string, Entry>).filter(([, e]) => typeof e.en === 'string' && e.en === e.zh && /[a-z]{4,} [a-z]{3,}/.test(e.en));
    assert.deepEqual(same.map(([k]) => k), []);
  });

  it('looks up with parameters, plurals and nested messages', () => {
    setLang('en');
    assert.equal(t('delete.confirm', { n: 1 }), 'Delete 1 point?');
    assert.equal(t('delete.confirm', { n: 3 }), 'Delete 3 points?');
    assert.equal(t('prune.confirmDb', { points: msg('count.points', { n: 2 }), copies: msg('count.copies', { n: 1 }) }), 'Prune 2 points and 1 leftover of earlier rollbacks?');
    setLang('zh-CN');
    assert.equal(t('delete.confirm', { n: 3 }), '确定删除 3 个回滚点？');
    assert.equal(en('delete.confirm', { n: 1 }), 'Delete 1 point?', 'en() is English whatever the language');
    assert.equal(list(['a', 'b', 'c']), 'a、b 和 c');
    setLang('en');
    assert.equal(list(['a', 'b', 'c']), 'a, b and c');
    assert.equal(format('{a} {missing}', { a: 1 }), '1 {missing}', 'a missing parameter stays visible');
  });

  it('detects the language: --lang, then the config, then LC_ALL, LC_MESSAGES, LANG', () => {
    assert.equal(detectLang({ LANG: 'zh_CN.UTF-8' }), 'zh-CN');
    assert.equal(detectLang({ LANG: 'zh_TW.UTF-8' }), 'zh-CN');
    assert.equal(detectLang({ LANG: 'en_US.UTF-8' }), 'en');
    assert.equal(detectLang({ LC_ALL: 'C.UTF-8', LANG: 'zh_CN.UTF-8' }), 'en', 'LC_ALL wins');
    assert.equal(detectLang({ LC_MESSAGES: 'zh_CN.UTF-8', LANG: 'en_US.UTF-8' }), 'zh-CN');
    assert.equal(detectLang({ LANG: 'zh_CN.UTF-8' }, 'en'), 'en', '--lang wins');
    assert.equal(detectLang({}, null, 'zh-CN'), 'zh-CN', 'then the config');
    assert.equal(detectLang({}), 'en');
    assert.equal(parseLang('auto'), null);
    assert.equal(parseLang('fr'), null);
  });
});

describe('terminal text', () => {
  it('measures CJK as two columns and cuts without splitting a character', () => {
    assert.equal(width('AI服务集成完成'), 14);
    assert.equal(truncate('AI服务集成完成', 7), 'AI服务…');
    assert.equal(width(truncate('AI服务集成完成', 8)), 7, 'a wide character that does not fit is left out');
  });

  it('wraps at spaces and between CJK characters, never inside a word', () => {
    assert.deepEqual(wrap('roll back code with the snapshot', 12), ['roll back', 'code with', 'the snapshot']);
    assert.deepEqual(wrap('a --name pre-m42 b', 5), ['a', '--name', 'pre-m42', 'b'], 'a long word stays whole');
    const zh = wrap('把代码、配置文件和数据库一起回滚到某个回滚点', 20);
    for (const line of zh) assert.ok(width(line) <= 20, line);
    assert.equal(zh.join(''), '把代码、配置文件和数据库一起回滚到某个回滚点');
    assert.ok(!zh.some((l) => /^[，。、]/.test(l)), 'no line starts with punctuation');
  });

  it('fits a table to a width: flexible columns shrink first, then low-value columns go', () => {
    const rows = [['rollback/a', 'point', 'main', 'AI服务集成完成 and a long description here', '1 config']];
    const cols = [{ header: 'POINT' }, { header: 'KIND', drop: 2 }, { header: 'BRANCH', drop: 1 }, { header: 'DESCRIPTION', flex: { min: 10 } }, { header: 'SNAPSHOT', drop: 3 }];
    const wide = table(cols, rows, { width: null });
    assert.match(wide[1] ?? '', /a long description here  1 config$/);
    const narrow = table(cols, rows, { width: 40 });
    for (const l of narrow) assert.ok(width(l) <= 40, `${width(l)}: ${l}`);
    assert.match(narrow[0] ?? '', /^POINT +KIND +DESCRIPTION +SNAPSHOT$/, 'BRANCH went first');
    assert.match(narrow[1] ?? '', /…/);
    const tiny = table(cols, rows, { width: 28 });
    assert.match(tiny[0] ?? '', /^POINT +DESCRIPTION$/);
    for (const l of tiny) assert.ok(width(l) <= 28, l);
  });
});
