// Loads the config with cosmiconfig (module name "rollback") from the repository
// root only, then validates it (src/core/config.ts).
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { msg } from '../core/i18n.js';
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

/** Where cosmiconfig 9 looks, in the current directory, for its own settings (which may add search places). */
export const META_SEARCH_PLACES = ['package.json', 'package.yaml', '.config/config.json', '.config/config.yaml', '.config/config.yml', '.config/config.js', '.config/config.ts', '.config/config.cjs', '.config/config.mjs'];

/**
 * True when cosmiconfig would certainly find no config: no search place
 * exists in `root`, no package.json there with a `rollback` key, and no
 * cosmiconfig meta config in `cwd` (package.json with a `cosmiconfig` key,
 * package.yaml, .config/config.*). Anything else, even a package.json that is
 * not JSON, is left to cosmiconfig, which reports it. Saves loading
 * cosmiconfig (~60 ms of start-up) in a repository without a config.
 */
export function certainlyNoConfig(root: string, cwd: string): boolean {
  const exists = (path: string): boolean => {
    try {
      statSync(path);
      return true;
    } catch (error) {
      // Only "not there" counts as absent; anything else (EACCES…) goes to cosmiconfig.
      return !['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '');
    }
  };
  const packageWithout = (file: string, key: string): boolean => {
    if (!exists(file)) return true;
    try {
      const json: unknown = JSON.parse(readFileSync(file, 'utf8'));
      return typeof json === 'object' && json !== null && !Array.isArray(json) && !Object.prototype.hasOwnProperty.call(json, key);
    } catch {
      return false;
    }
  };
  if (SEARCH_PLACES.some((p) => p !== 'package.json' && exists(join(root, p)))) return false;
  if (META_SEARCH_PLACES.some((p) => p !== 'package.json' && exists(join(cwd, p)))) return false;
  return packageWithout(join(root, 'package.json'), 'rollback') && packageWithout(join(cwd, 'package.json'), 'cosmiconfig');
}

export async function loadConfig(root: string, explicitFile?: string): Promise<Config> {
  if (!explicitFile && certainlyNoConfig(root, process.cwd())) return defaultConfig();
  // Loaded on demand: most of git-rollback's start-up time is module loading.
  const mod = (await import('cosmiconfig')) as typeof import('cosmiconfig') & { default?: typeof import('cosmiconfig') };
  const cosmiconfig = mod.cosmiconfig ?? mod.default?.cosmiconfig;
  const explorer = cosmiconfig('rollback', { searchPlaces: SEARCH_PLACES, searchStrategy: 'none', cache: false });
  let result;
  try {
    result = explicitFile ? await explorer.load(explicitFile) : await explorer.search(root);
  } catch (error) {
    throw parseError(error, root, explicitFile);
  }
  if (!result || result.isEmpty) {
    const cfg = defaultConfig();
    if (result?.filepath) cfg.file = result.filepath;
    return cfg;
  }
  return validateConfig(result.config, relativeTo(root, result.filepath));
}

/**
 * A parse error with its reason and position. cosmiconfig prefixes the
 * parser's message with "YAML Error in <path>:\n", and js-yaml follows the
 * reason with a snippet: keep the reason (js-yaml's `reason`, or the first
 * line that is not the prefix) and the line and column.
 */
export function parseError(error: unknown, root: string, explicitFile?: string): ConfigError {
  const e = error as Error & { code?: string; reason?: string; mark?: { line: number; column: number }; filepath?: string };
  if (e.code === 'ENOENT') return new ConfigError({ key: 'config.notFound', params: { file: explicitFile ?? '?' } }, { key: 'config.notFoundHint' });
  const lines = String(e.message ?? e).split('\n').map((l) => l.trim()).filter(Boolean);
  const fileLine = /^(?:YAML|JSON) Error in (.+?):?$/.exec(lines[0] ?? '');
  const file = relativeTo(root, e.filepath ?? fileLine?.[1] ?? explicitFile ?? 'config');
  const reason = e.reason ?? (fileLine ? lines[1] : lines[0]) ?? 'syntax error';
  const where = e.mark ? msg('config.syntaxLine', { line: e.mark.line + 1, column: e.mark.column + 1 }) : '';
  return new ConfigError(msg('config.syntax', { file, where, reason: reason.replace(/\s*\(\d+:\d+\)$/, '') }), msg('config.syntaxHint'));
}

function relativeTo(root: string, file: string): string {
  return file.startsWith(root + '/') ? file.slice(root.length + 1) : file;
}
