// Loads the config with cosmiconfig (module name "rollback") from the repository
// root only, then validates it (src/core/config.ts).
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

export async function loadConfig(root: string, explicitFile?: string): Promise<Config> {
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
