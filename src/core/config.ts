// The config file's schema and its validation. Pure: takes the parsed object,
// returns a typed Config or throws ConfigError naming the file, key and expectation.
import { ConfigError } from './errors.js';
import type { DatabaseConfig } from './engine.js';
import { parseDuration } from './duration.js';
import { closest } from './text.js';

export interface HealthConfig {
  url: string | null;
  command: string | null;
  retries: number;
  intervalMs: number;
  timeoutMs: number;
}

export interface Config {
  /** Where it was read from, or null for defaults. */
  file: string | null;
  /** The parsed file before validation and ${VAR} expansion: a rollback's journal keeps it, so --continue/--abort use the config the job started with. */
  raw?: unknown;
  config: string[];
  paths: string[];
  databases: DatabaseConfig[];
  capture: Record<string, string>;
  hooks: { beforeRollback: string | null; afterRollback: string | null; onFailure: string | null };
  health: HealthConfig | null;
  retention: { keepLast: number | null; keepWithin: string | null; keepReleases: boolean };
  tags: { point: string; release: string; backup: string; deploy: string };
  restore: { removeExtra: boolean; dropOld: boolean };
}

const TOP_KEYS = ['config', 'paths', 'databases', 'capture', 'hooks', 'health', 'retention', 'tags', 'restore'] as const;
export const ENGINES = ['sqlite', 'postgres', 'mysql', 'redis', 'command'] as const;

export function defaultConfig(): Config {
  return {
    file: null,
    config: [],
    paths: [],
    databases: [],
    capture: {},
    hooks: { beforeRollback: null, afterRollback: null, onFailure: null },
    health: null,
    retention: { keepLast: null, keepWithin: null, keepReleases: true },
    tags: { point: 'rollback/', release: 'release/v', backup: 'backup/', deploy: 'deploy/' },
    restore: { removeExtra: false, dropOld: false },
  };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `"${value}"`;
  return typeof value === 'object' ? 'a mapping' : String(value);
}

type Raw = Record<string, unknown>;

/** Validates a parsed config object. `env` is used for ${VAR} expansion in databases. */
export function validateConfig(raw: unknown, file: string, env: Record<string, string | undefined> = {}): Config {
  const fail = (key: string, expected: string, got: unknown): never => {
    throw new ConfigError(`${file}: ${key}: expected ${expected}, got ${describe(got)}`, 'fix the config file; see docs/config.md');
  };
  const cfg = defaultConfig();
  cfg.file = file;
  cfg.raw = raw;
  if (raw === null || raw === undefined) return cfg;
  if (typeof raw !== 'object' || Array.isArray(raw)) fail('(top level)', 'a mapping of settings', raw);
  const obj = raw as Raw;
  for (const key of Object.keys(obj)) {
    if (!(TOP_KEYS as readonly string[]).includes(key)) {
      const near = closest(key, TOP_KEYS);
      throw new ConfigError(`${file}: ${key}: unknown setting${near ? ` (did you mean "${near}"?)` : ''}`, `known settings: ${TOP_KEYS.join(', ')}`);
    }
  }
  const stringList = (key: string, value: unknown): string[] => {
    if (value === undefined || value === null) return [];
    if (typeof value === 'string') return [value];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.trim() === '')) fail(key, 'a list of file paths or globs', value);
    return value as string[];
  };
  cfg.config = stringList('config', obj.config);
  cfg.paths = stringList('paths', obj.paths);
  for (const p of [...cfg.config, ...cfg.paths]) {
    if (p.startsWith('/') || p.split('/').includes('..')) fail(p === undefined ? 'config' : 'config/paths', 'paths inside the repository (relative, no "..")', p);
  }

  if (obj.databases !== undefined && obj.databases !== null) {
    if (typeof obj.databases !== 'object' || Array.isArray(obj.databases)) fail('databases', 'a mapping of name: { engine: … }', obj.databases);
    for (const [name, entry] of Object.entries(obj.databases as Raw)) {
      const key = `databases.${name}`;
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) fail(key, 'a name of letters, digits, "_", "-" or "."', name);
      if (!entry || typeof entry !== 'object' || Array.isArray(entry)) fail(key, 'a mapping with an engine', entry);
      const e = entry as Raw;
      if (typeof e.engine !== 'string' || !(ENGINES as readonly string[]).includes(e.engine)) {
        fail(`${key}.engine`, `one of ${ENGINES.join(', ')}`, e.engine);
      }
      const expanded: DatabaseConfig = { name, engine: e.engine as string };
      for (const [k, v] of Object.entries(e)) {
        if (k === 'engine') continue;
        expanded[k] = typeof v === 'string' ? expandVars(v, env, `${file}: ${key}.${k}`) : v;
      }
      cfg.databases.push(expanded);
    }
  }

  if (obj.capture !== undefined && obj.capture !== null) {
    if (typeof obj.capture !== 'object' || Array.isArray(obj.capture)) fail('capture', 'a mapping of name: command', obj.capture);
    for (const [name, command] of Object.entries(obj.capture as Raw)) {
      if (typeof command !== 'string' || !command.trim()) fail(`capture.${name}`, 'a shell command', command);
      if (!/^[A-Za-z0-9_.-]+$/.test(name)) fail(`capture.${name}`, 'a name of letters, digits, "_", "-" or "."', name);
      cfg.capture[name] = command as string;
    }
  }

  if (obj.hooks !== undefined && obj.hooks !== null) {
    if (typeof obj.hooks !== 'object' || Array.isArray(obj.hooks)) fail('hooks', 'a mapping', obj.hooks);
    for (const [k, v] of Object.entries(obj.hooks as Raw)) {
      if (k !== 'beforeRollback' && k !== 'afterRollback' && k !== 'onFailure') fail(`hooks.${k}`, 'beforeRollback, afterRollback or onFailure', k);
      if (v !== null && typeof v !== 'string') fail(`hooks.${k}`, 'a shell command', v);
      cfg.hooks[k as 'beforeRollback'] = (v as string | null) ?? null;
    }
  }

  if (obj.health !== undefined && obj.health !== null) {
    const h = obj.health as Raw;
    if (typeof h !== 'object' || Array.isArray(h)) fail('health', 'a mapping', h);
    const health: HealthConfig = { url: null, command: null, retries: 10, intervalMs: 3000, timeoutMs: 5000 };
    for (const [k, v] of Object.entries(h)) {
      if (k === 'url' || k === 'command') {
        if (v !== null && typeof v !== 'string') fail(`health.${k}`, 'a string', v);
        health[k] = (v as string | null) ?? null;
      } else if (k === 'retries') {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail('health.retries', 'a whole number >= 0', v);
        health.retries = v as number;
      } else if (k === 'interval' || k === 'timeout') {
        const ms = typeof v === 'string' ? parseDuration(v) : typeof v === 'number' ? v * 1000 : null;
        if (ms === null) fail(`health.${k}`, 'a duration like "3s" or "500ms"', v);
        if (k === 'interval') health.intervalMs = ms as number;
        else health.timeoutMs = ms as number;
      } else fail(`health.${k}`, 'one of url, command, retries, interval, timeout', k);
    }
    cfg.health = health.url || health.command ? health : null;
  }

  if (obj.retention !== undefined && obj.retention !== null) {
    const r = obj.retention as Raw;
    if (typeof r !== 'object' || Array.isArray(r)) fail('retention', 'a mapping', r);
    for (const [k, v] of Object.entries(r)) {
      if (k === 'keepLast') {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail('retention.keepLast', 'a whole number >= 0', v);
        cfg.retention.keepLast = v as number;
      } else if (k === 'keepWithin') {
        if (typeof v !== 'string' || parseDuration(v) === null) fail('retention.keepWithin', 'a duration like "7d" or "12h"', v);
        cfg.retention.keepWithin = v as string;
      } else if (k === 'keepReleases') {
        if (typeof v !== 'boolean') fail('retention.keepReleases', 'true or false', v);
        cfg.retention.keepReleases = v as boolean;
      } else fail(`retention.${k}`, 'one of keepLast, keepWithin, keepReleases', k);
    }
  }

  if (obj.tags !== undefined && obj.tags !== null) {
    const t = obj.tags as Raw;
    if (typeof t !== 'object' || Array.isArray(t)) fail('tags', 'a mapping', t);
    for (const [k, v] of Object.entries(t)) {
      if (!['point', 'release', 'backup', 'deploy'].includes(k)) fail(`tags.${k}`, 'one of point, release, backup, deploy', k);
      if (typeof v !== 'string' || !/^[A-Za-z0-9._/-]+$/.test(v) || v.startsWith('/') || v.includes('..')) fail(`tags.${k}`, 'a tag prefix like "rollback/"', v);
      cfg.tags[k as 'point'] = v as string;
    }
    const prefixes = Object.values(cfg.tags);
    if (new Set(prefixes).size !== prefixes.length) fail('tags', 'a different prefix for each kind', t);
  }

  if (obj.restore !== undefined && obj.restore !== null) {
    const r = obj.restore as Raw;
    if (typeof r !== 'object' || Array.isArray(r)) fail('restore', 'a mapping', r);
    for (const [k, v] of Object.entries(r)) {
      if (k !== 'removeExtra' && k !== 'dropOld') fail(`restore.${k}`, 'removeExtra or dropOld', k);
      if (typeof v !== 'boolean') fail(`restore.${k}`, 'true or false', v);
      cfg.restore[k as 'removeExtra'] = v as boolean;
    }
  }
  return cfg;
}

/** Expands ${VAR} and ${VAR:-default}; an unset variable without default is an error naming it. */
export function expandVars(value: string, env: Record<string, string | undefined>, where: string): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback: string | undefined) => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (fallback !== undefined) return fallback;
    throw new ConfigError(`${where}: environment variable ${name} is not set`, `export ${name}=… before running git-rollback`);
  });
}
