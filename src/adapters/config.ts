// Loads the config with cosmiconfig (module name "rollback") from the repository
// root only, then validates it (src/core/config.ts).
import { ConfigError } from '../core/errors.js';
import { defaultConfig, validateConfig, type Config } from '../core/config.js';

export const SEARCH_PLACES = [
  'package.json',
  '.rollbackrc',
  '.rollbackrc.json',
  '.rollbackrc.yaml',
  '.rollbackrc.yml',
  'rollback.config.js',
  'rollback.config.mjs',
  'rollback.config.cjs',
];

export async function loadConfig(root: string, env: Record<string, string | undefined> = process.env, explicitFile?: string): Promise<Config> {
  // Loaded on demand: most of git-rollback's start-up time is module loading.
  const mod = (await import('cosmiconfig')) as typeof import('cosmiconfig') & { default?: typeof import('cosmiconfig') };
  const cosmiconfig = mod.cosmiconfig ?? mod.default?.cosmiconfig;
  const explorer = cosmiconfig('rollback', { searchPlaces: SEARCH_PLACES, searchStrategy: 'none', cache: false });
  let result;
  try {
    result = explicitFile ? await explorer.load(explicitFile) : await explorer.search(root);
  } catch (error) {
    const e = error as Error & { code?: string; mark?: { line: number } };
    if (e.code === 'ENOENT') throw new ConfigError(`config file not found: ${explicitFile}`, 'check the --config path');
    const where = e.mark ? ` (line ${e.mark.line + 1})` : '';
    throw new ConfigError(`cannot parse config${where}: ${e.message.split('\n')[0]}`, 'fix the syntax; see docs/config.md');
  }
  if (!result || result.isEmpty) {
    const cfg = defaultConfig();
    if (result?.filepath) cfg.file = result.filepath;
    return cfg;
  }
  const file = relativeTo(root, result.filepath);
  return validateConfig(result.config, file, env);
}

function relativeTo(root: string, file: string): string {
  return file.startsWith(root + '/') ? file.slice(root.length + 1) : file;
}
