// loadConfig skips cosmiconfig when no config can exist (certainlyNoConfig):
// in every layout below, the shortcut answers "no config" only where
// cosmiconfig itself finds none, and loadConfig returns the same result either way.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { certainlyNoConfig, loadConfig, SEARCH_PLACES } from '../../src/adapters/config.js';
import { defaultConfig } from '../../src/core/config.js';
import { tempDir } from '../helpers/servers.js';

async function cosmiconfigFinds(root: string): Promise<boolean> {
  const { cosmiconfig } = await import('cosmiconfig');
  const explorer = cosmiconfig('rollback', { searchPlaces: SEARCH_PLACES, searchStrategy: 'none', cache: false });
  try {
    const r = await explorer.search(root);
    return !!r && !r.isEmpty;
  } catch {
    return true; // an error is something cosmiconfig found (and reports)
  }
}

const layouts: [string, Record<string, string>, boolean][] = [
  ['empty directory', {}, true],
  ['package.json without a rollback key', { 'package.json': '{"name":"app","scripts":{"rollback":"x"}}' }, true],
  ['package.json with a rollback key', { 'package.json': '{"name":"app","rollback":{"config":[".env"]}}' }, false],
  ['package.json with "rollback": null', { 'package.json': '{"rollback":null}' }, false],
  ['package.json that is not JSON', { 'package.json': '{"name":' }, false],
  ['package.json that is an array', { 'package.json': '[]' }, false],
  ['.rollbackrc.yaml', { '.rollbackrc.yaml': 'config: [".env"]\n' }, false],
  ['empty .rollbackrc', { '.rollbackrc': '' }, false],
  ['rollback.config.mjs', { 'rollback.config.mjs': 'export default { config: [".env"] }\n' }, false],
  ['cosmiconfig meta config in package.json', { 'package.json': '{"cosmiconfig":{"searchPlaces":["x.json"]}}' }, false],
  ['cosmiconfig meta config in .config/config.json', { '.config/config.json': '{"rollback":{}}' }, false],
  ['an unrelated .config directory', { '.config/other.json': '{}' }, true],
];

describe('config: skipping cosmiconfig when there is no config', () => {
  for (const [name, files, expected] of layouts) {
    it(name, async () => {
      const root = tempDir('cfg-');
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(join(root, path, '..'), { recursive: true });
        writeFileSync(join(root, path), text);
      }
      const none = certainlyNoConfig(root, root);
      assert.equal(none, expected);
      // Never "no config" where cosmiconfig would find one.
      if (none) assert.equal(await cosmiconfigFinds(root), false);
      if (none) {
        const cwd = process.cwd();
        process.chdir(root);
        try {
          assert.deepEqual(await loadConfig(root), defaultConfig());
        } finally {
          process.chdir(cwd);
        }
      }
    });
  }
});
