// The config file's one schema (valibot) and its validation. Pure: takes the
// parsed object, returns a typed Config or throws ConfigError naming the file,
// the key and what is expected. rollback.schema.json (for editors) is generated
// from the same schema: scripts/gen-schema.ts.
import * as v from 'valibot';
import { ConfigError } from './errors.js';
import type { DatabaseConfig } from './engine.js';
import { parseDuration } from './duration.js';
import { msg, type MessageKey, type Msg } from './i18n.js';
import { closest } from './text.js';

export interface HealthConfig {
  url: string | null;
  command: string | null;
  retries: number;
  intervalMs: number;
  timeoutMs: number;
}

export const HOOKS = ['beforePoint', 'afterPoint', 'beforeRollback', 'afterRollback', 'onFailure'] as const;
export type HookName = (typeof HOOKS)[number];

/** Encryption at rest (src/adapters/crypto.ts, docs/security.md). */
export interface EncryptionConfig {
  /** age recipients (age1…): every new config file and dump is sealed to all of them. */
  recipients: string[];
  /** A file of age identities, outside the repository ("~/" is the home folder). */
  identity: string | null;
  /** An environment variable holding identities (default GIT_ROLLBACK_AGE_IDENTITY). */
  identityEnv: string;
}

export interface Config {
  /** Where it was read from, or null for defaults. */
  file: string | null;
  config: string[];
  paths: string[];
  /**
   * As written: ${VAR} is expanded only when an engine is made
   * (resolveDatabase), so commands that never touch a database need no
   * credentials in the environment.
   */
  databases: DatabaseConfig[];
  capture: Record<string, string>;
  hooks: Record<HookName, string | null>;
  health: HealthConfig | null;
  retention: { keepLast: number | null; keepWithin: string | null; keepReleases: boolean };
  tags: { point: string; release: string; backup: string; deploy: string };
  restore: { removeExtra: boolean; dropOld: boolean };
  /** Language of human output: "en", "zh-CN", or null to follow the locale. */
  lang: string | null;
  /** null when snapshots are stored in clear. */
  encryption: EncryptionConfig | null;
}

// ---------------------------------------------------------------------------
// Per-engine keys of a `databases:` entry: the one place to add a key. The
// engines still check their own keys when they are made (validateKeys in
// src/adapters/engines/common.ts); keep both in step. Kinds: string, boolean,
// integer (>= 0), duration ("5s", "500ms", or a number of seconds).
// ---------------------------------------------------------------------------
type KeyKind = 'string' | 'boolean' | 'integer' | 'duration';
interface EngineKeys {
  /** Other names accepted for `engine:`. */
  aliases?: string[];
  description: string;
  required: Record<string, { kind: KeyKind; description: string }>;
  optional?: Record<string, { kind: KeyKind; description: string }>;
}

export const ENGINE_KEYS: Record<string, EngineKeys> = {
  sqlite: {
    description: 'SQLite file, dumped with the online backup API',
    required: { path: { kind: 'string', description: 'The database file, relative to the repository root' } },
  },
  postgres: {
    aliases: ['postgresql'],
    description: 'PostgreSQL: pg_dump, restored into a temp database and swapped in by rename',
    required: { url: { kind: 'string', description: 'postgres://user@host:port/db; use ${VAR} for secrets' } },
    optional: {
      maintenanceDb: { kind: 'string', description: 'Database to connect to for CREATE/ALTER DATABASE (default postgres)' },
      noOwner: { kind: 'boolean', description: 'Dump with --no-owner: restored objects belong to the restoring user' },
    },
  },
  mysql: {
    aliases: ['mariadb'],
    description: 'MySQL or MariaDB: mysqldump, restored into a temp schema and swapped in with one RENAME TABLE',
    required: { url: { kind: 'string', description: 'mysql://user@host:port/db; use ${VAR} for secrets' } },
    optional: {
      lockWaitTimeout: { kind: 'duration', description: 'How long the RENAME TABLE swap waits for locks ("5s")' },
      endSessions: { kind: 'boolean', description: 'End the sessions holding locks on the tables (KILL) instead of waiting for them' },
    },
  },
  redis: {
    description: 'Redis: every key with its TTL; restored into a scratch db, then SWAPDB',
    required: { url: { kind: 'string', description: 'redis://[:password@]host:port/db; use ${VAR} for secrets' } },
    optional: {
      scratchDb: { kind: 'integer', description: 'Database number used to stage restores (default: the last)' },
      snapshot: { kind: 'string', description: 'How a point reads the keys: sync (one replication snapshot, default) or scan (key by key)' },
    },
  },
  command: {
    description: 'Any engine: a dump command writing to stdout, a restore command reading stdin',
    required: {
      dump: { kind: 'string', description: 'Shell command whose stdout is the dump' },
      restore: { kind: 'string', description: 'Shell command that reads the dump on stdin' },
    },
    optional: { check: { kind: 'string', description: 'Shell command that exits 0 when the database answers' } },
  },
};

export const ENGINES = Object.keys(ENGINE_KEYS);
/** Every accepted `engine:` value, aliases included. */
export const ENGINE_NAMES = Object.entries(ENGINE_KEYS).flatMap(([name, e]) => [name, ...(e.aliases ?? [])]);

// Each schema's message is an expectation key (catalog "expect.*"), turned
// into "<file>: <key>: expected …, got …" by configProblem().
const E = (key: string) => key;

const DURATION = /^\s*\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w)\s*$/;
const nonEmpty = (key: string) => v.pipe(v.string(E(key)), v.trim(), v.minLength(1, E(key)));
const command = (description: string) => v.pipe(nonEmpty('expect.command'), v.description(description));
const duration = (description: string) =>
  v.pipe(
    v.union([v.pipe(v.string(), v.regex(DURATION, E('expect.duration'))), v.pipe(v.number(), v.minValue(0, E('expect.duration')))], E('expect.duration')),
    v.description(description),
  );
const wholeNumber = (description: string) => v.pipe(v.number(E('expect.integer')), v.integer(E('expect.integer')), v.minValue(0, E('expect.integer')), v.description(description));
const flag = (description: string) => v.pipe(v.boolean(E('expect.boolean')), v.description(description));
const inRepo = (p: string) => !p.startsWith('/') && !p.split('/').includes('..');
const pathList = (description: string) =>
  v.pipe(
    v.union([nonEmpty('expect.pathList'), v.array(nonEmpty('expect.pathList'))], E('expect.pathList')),
    v.description(description),
    v.check((x) => (typeof x === 'string' ? [x] : x).every(inRepo), E('expect.insideRepo')),
  );
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const AGE_RECIPIENT = /^age1[0-9a-z]+$/;

function keySchema(kind: KeyKind, description: string) {
  switch (kind) {
    case 'string':
      return v.pipe(nonEmpty('expect.string'), v.description(description));
    case 'boolean':
      return flag(description);
    case 'integer':
      return wholeNumber(description);
    case 'duration':
      return duration(description);
  }
}

function engineSchema(name: string, keys: EngineKeys) {
  const entries: { engine: v.GenericSchema<string>; [key: string]: v.GenericSchema } = {
    engine: v.pipe(v.picklist([name, ...(keys.aliases ?? [])]), v.description(keys.description)),
  };
  for (const [key, k] of Object.entries(keys.required)) entries[key] = keySchema(k.kind, k.description);
  for (const [key, k] of Object.entries(keys.optional ?? {})) entries[key] = v.optional(keySchema(k.kind, k.description));
  return v.strictObject(entries, E('expect.dbEntry'));
}

const databaseSchema = v.variant(
  'engine',
  Object.entries(ENGINE_KEYS).map(([name, keys]) => engineSchema(name, keys)) as unknown as [ReturnType<typeof engineSchema>],
  E('expect.dbEntry'),
);

const optionalCommand = (description: string) => v.optional(v.nullable(command(description)));

export const HOOK_DESCRIPTIONS: Record<HookName, string> = {
  beforePoint: 'Run before a point\'s snapshot (dumps) is taken, e.g. to stop a server whose dump tool needs it stopped. Failing fails the point.',
  afterPoint: 'Run after the snapshot, whether it succeeded or not (ROLLBACK_OUTCOME=ok|failed), e.g. to start the server again.',
  beforeRollback: 'Run after the backup, before the first change of a rollback (stop the app). Failing puts everything back.',
  afterRollback: 'Run after the last change of a rollback (start the app). Failing puts everything back.',
  onFailure: 'Run when a rollback, undo or deploy fails, after the state is known (notify someone). Its own failure is only a warning.',
};

/** The raw config file as users write it. */
export const ConfigSchema = v.pipe(
  v.strictObject(
    {
      $schema: v.optional(v.string()),
      config: v.optional(v.nullable(pathList('Config files to snapshot: globs relative to the repository root, tracked or git-ignored (.env, config/*.yml)'))),
      paths: v.optional(v.nullable(pathList('Data folders or files to snapshot (uploads/)'))),
      databases: v.optional(
        v.nullable(
          v.pipe(
            v.record(v.pipe(v.string(), v.regex(NAME, E('expect.dbName'))), databaseSchema, E('expect.databases')),
            v.description('Databases restored together with the code: name → engine settings. ${VAR} and ${VAR:-default} come from the environment.'),
          ),
        ),
      ),
      capture: v.optional(
        v.nullable(
          v.pipe(
            v.record(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]+$/, E('expect.captureName'))), command('Shell command'), E('expect.capture')),
            v.description('Command outputs recorded with every point: name → shell command'),
          ),
        ),
      ),
      hooks: v.optional(
        v.nullable(
          v.strictObject(
            Object.fromEntries(HOOKS.map((h) => [h, optionalCommand(HOOK_DESCRIPTIONS[h])])) as Record<HookName, ReturnType<typeof optionalCommand>>,
            E('expect.mapping'),
          ),
        ),
      ),
      health: v.optional(
        v.nullable(
          v.strictObject(
            {
              url: v.optional(v.nullable(v.pipe(nonEmpty('expect.string'), v.description('Must answer with a status below 400')))),
              command: optionalCommand('Must exit 0'),
              retries: v.optional(wholeNumber('Attempts before the rollback is reverted (default 10)')),
              interval: v.optional(duration('Time between attempts (default "3s")')),
              timeout: v.optional(duration('Time allowed for one attempt (default "5s")')),
            },
            E('expect.mapping'),
          ),
        ),
      ),
      retention: v.optional(
        v.nullable(
          v.strictObject(
            {
              keepLast: v.optional(wholeNumber('prune keeps the newest N points of each kind')),
              keepWithin: v.optional(v.pipe(v.string(E('expect.duration')), v.regex(DURATION, E('expect.duration')), v.description('prune keeps points younger than this ("7d")'))),
              keepReleases: v.optional(flag('prune never removes releases (default true)')),
            },
            E('expect.mapping'),
          ),
        ),
      ),
      tags: v.optional(
        v.nullable(
          v.pipe(
            v.strictObject(
              Object.fromEntries(
                ['point', 'release', 'backup', 'deploy'].map((k) => [
                  k,
                  v.optional(v.pipe(v.string(E('expect.tagPrefix')), v.regex(/^[A-Za-z0-9._-][A-Za-z0-9._/-]*$/, E('expect.tagPrefix')), v.check((p) => !p.includes('..'), E('expect.tagPrefix')))),
                ]),
              ),
              E('expect.mapping'),
            ),
            v.check((tags) => {
              const given = Object.values(tags).filter(Boolean);
              return new Set(given).size === given.length;
            }, E('expect.distinctPrefixes')),
            v.description('Tag prefix of each kind of point (refs/tags/<prefix><id>)'),
          ),
        ),
      ),
      restore: v.optional(
        v.nullable(
          v.strictObject(
            {
              removeExtra: v.optional(flag('to removes config/path files that did not exist at the point')),
              dropOld: v.optional(flag('Drop previous database copies right after a rollback instead of at prune')),
            },
            E('expect.mapping'),
          ),
        ),
      ),
      lang: v.optional(v.nullable(v.pipe(v.picklist(['en', 'zh-CN', 'auto'], E('expect.lang')), v.description('Language of messages: en, zh-CN, or auto (from LC_ALL/LC_MESSAGES/LANG)')))),
      encryption: v.optional(
        v.nullable(
          v.pipe(
            v.strictObject(
              {
                recipients: v.pipe(
                  v.union([v.pipe(v.string(), v.regex(AGE_RECIPIENT, E('expect.recipients'))), v.pipe(v.array(v.pipe(v.string(), v.regex(AGE_RECIPIENT, E('expect.recipients')))), v.minLength(1, E('expect.recipients')))], E('expect.recipients')),
                  v.description('age recipients (age1…): config files and dumps are sealed to every one of them'),
                ),
                identity: v.optional(v.nullable(v.pipe(nonEmpty('expect.identityFile'), v.description('A file of age identities, outside the repository ("~/" is the home folder)')))),
                identityEnv: v.optional(v.pipe(v.string(E('expect.envName')), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, E('expect.envName')), v.description('Environment variable holding identities (default GIT_ROLLBACK_AGE_IDENTITY)'))),
              },
              E('expect.encryption'),
            ),
            v.description('Encryption at rest with age (docs/security.md)'),
          ),
        ),
      ),
    },
    E('expect.topLevel'),
  ),
  v.description('git-rollback configuration (.rollbackrc.yaml). Reference: git help rollback, docs/config.md'),
);

export type RawConfig = v.InferOutput<typeof ConfigSchema>;

export function defaultConfig(): Config {
  return {
    file: null,
    config: [],
    paths: [],
    databases: [],
    capture: {},
    hooks: { beforePoint: null, afterPoint: null, beforeRollback: null, afterRollback: null, onFailure: null },
    health: null,
    retention: { keepLast: null, keepWithin: null, keepReleases: true },
    tags: { point: 'rollback/', release: 'release/v', backup: 'backup/', deploy: 'deploy/' },
    restore: { removeExtra: false, dropOld: false },
    lang: null,
    encryption: null,
  };
}

const TOP_KEYS = Object.keys(ConfigSchema.entries);
const NESTED_KEYS: Record<string, string[]> = {
  hooks: [...HOOKS],
  health: ['url', 'command', 'retries', 'interval', 'timeout'],
  retention: ['keepLast', 'keepWithin', 'keepReleases'],
  tags: ['point', 'release', 'backup', 'deploy'],
  restore: ['removeExtra', 'dropOld'],
};

/** A value as a message shows it: "null", "a list", "a mapping", "\"text\"", 3. */
function shown(value: unknown): Msg {
  if (value === undefined) return msg('got.nothing');
  if (value === null) return msg('got.null');
  if (Array.isArray(value)) return msg('got.list');
  if (typeof value === 'object') return msg('got.mapping');
  return msg('got.text', { text: typeof value === 'string' ? JSON.stringify(value) : String(value) });
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let x = root;
  for (const k of path) x = x && typeof x === 'object' ? (x as Record<string | number, unknown>)[k] : undefined;
  return x;
}

function problemFor(issue: v.BaseIssue<unknown>, raw: unknown, file: string): Msg {
  const path = (issue.path ?? []).map((p) => p.key as string | number);
  const key = path.length ? path.join('.') : '(top level)';
  // An unknown key: strictObject reports it with expected "never".
  if (issue.type === 'strict_object' && issue.expected === 'never') {
    const name = String(path[path.length - 1]);
    const parent = path.slice(0, -1);
    let known: string[];
    let engine: string | null = null;
    if (parent.length === 0) known = TOP_KEYS.filter((k) => k !== '$schema');
    else if (parent.length === 2 && parent[0] === 'databases') {
      engine = String((valueAt(raw, parent) as Record<string, unknown>).engine);
      const keys = Object.entries(ENGINE_KEYS).find(([n, e]) => n === engine || e.aliases?.includes(engine as string))?.[1];
      known = ['engine', ...Object.keys(keys?.required ?? {}), ...Object.keys(keys?.optional ?? {})];
    } else known = NESTED_KEYS[String(parent[0])] ?? [];
    const near = closest(name, known);
    const didYouMean = near ? msg('config.didYouMean', { near }) : '';
    return engine ? msg('config.unknownEngineKey', { file, key, engine, didYouMean }) : msg('config.unknownKey', { file, key, didYouMean });
  }
  return msg('config.invalid', { file, key, expected: expectationOf(issue, path), got: shown(valueAt(raw, path)) });
}

function expectationOf(issue: v.BaseIssue<unknown>, path: readonly (string | number)[]): Msg {
  // A missing required key of a database entry.
  if (issue.type === 'strict_object' && path.length === 3 && path[0] === 'databases') return msg('expect.string');
  if (issue.type === 'variant' && path[path.length - 1] === 'engine') return msg('expect.engine', { engines: ENGINES.join(', ') });
  const m = issue.message;
  if (m.startsWith('expect.')) return msg(m as MessageKey);
  if (issue.type === 'picklist' || issue.type === 'union') return msg('expect.valid');
  return msg('expect.type', { type: String(issue.expected) });
}

/** Validates a parsed config object. ${VAR} in databases is left for resolveDatabase(). */
export function validateConfig(raw: unknown, file: string): Config {
  const cfg = defaultConfig();
  cfg.file = file;
  if (raw === null || raw === undefined) return cfg;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(msg('config.invalid', { file, key: '(top level)', expected: msg('expect.topLevel'), got: shown(raw) }), msg('config.hint', { file }));
  }
  const result = v.safeParse(ConfigSchema, raw, { abortEarly: false });
  if (!result.success) {
    const issues = [...result.issues];
    // Typos first: an unknown key usually explains the missing one next to it.
    issues.sort((a, b) => Number(b.expected === 'never') - Number(a.expected === 'never'));
    const more = issues.length - 1;
    throw new ConfigError(problemFor(issues[0] as v.BaseIssue<unknown>, raw, file), more ? msg('config.hintMore', { file, n: more }) : msg('config.hint', { file }));
  }
  const c = result.output;
  const list = (x: string | string[] | null | undefined) => (x == null ? [] : typeof x === 'string' ? [x] : x);
  cfg.config = list(c.config);
  cfg.paths = list(c.paths);
  for (const [name, entry] of Object.entries(c.databases ?? {})) cfg.databases.push({ name, ...(entry as Record<string, unknown>), engine: String((entry as { engine: string }).engine) });
  cfg.capture = { ...(c.capture ?? {}) } as Record<string, string>;
  for (const h of HOOKS) cfg.hooks[h] = (c.hooks as Record<string, string | null | undefined> | null | undefined)?.[h] ?? null;
  if (c.health) {
    const ms = (x: string | number | undefined, d: number) => (x === undefined ? d : typeof x === 'number' ? x * 1000 : (parseDuration(x) as number));
    const health: HealthConfig = {
      url: c.health.url ?? null,
      command: c.health.command ?? null,
      retries: c.health.retries ?? 10,
      intervalMs: ms(c.health.interval, 3000),
      timeoutMs: ms(c.health.timeout, 5000),
    };
    cfg.health = health.url || health.command ? health : null;
  }
  if (c.retention) {
    cfg.retention = {
      keepLast: c.retention.keepLast ?? null,
      keepWithin: c.retention.keepWithin ?? null,
      keepReleases: c.retention.keepReleases ?? true,
    };
  }
  if (c.tags) {
    for (const [k, p] of Object.entries(c.tags)) if (p) cfg.tags[k as 'point'] = p;
    const prefixes = Object.values(cfg.tags);
    if (new Set(prefixes).size !== prefixes.length) {
      throw new ConfigError(msg('config.invalid', { file, key: 'tags', expected: msg('expect.distinctPrefixes'), got: shown(c.tags) }), msg('config.hint', { file }));
    }
  }
  if (c.restore) cfg.restore = { removeExtra: c.restore.removeExtra ?? false, dropOld: c.restore.dropOld ?? false };
  cfg.lang = c.lang && c.lang !== 'auto' ? c.lang : null;
  if (c.encryption) {
    const r = c.encryption.recipients;
    cfg.encryption = { recipients: typeof r === 'string' ? [r] : [...r], identity: c.encryption.identity ?? null, identityEnv: c.encryption.identityEnv ?? 'GIT_ROLLBACK_AGE_IDENTITY' };
  }
  return cfg;
}

/**
 * A database entry with ${VAR} expanded, for making its engine. An unset
 * variable is an error naming it, the file and the key: raised only by
 * commands that use the database, never by list/show/log/status.
 */
export function resolveDatabase(d: DatabaseConfig, env: Record<string, string | undefined>, file: string | null): DatabaseConfig {
  const out: DatabaseConfig = { name: d.name, engine: d.engine };
  for (const [k, value] of Object.entries(d)) {
    if (k === 'name' || k === 'engine') continue;
    out[k] = typeof value === 'string' ? expandVars(value, env, `${file ?? 'config'}: databases.${d.name}.${k}`) : value;
  }
  return out;
}

/** Expands ${VAR} and ${VAR:-default}; an unset variable without default is an error naming it. */
export function expandVars(value: string, env: Record<string, string | undefined>, where: string): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback: string | undefined) => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (fallback !== undefined) return fallback;
    throw new ConfigError(msg('config.unsetVar', { where, name }), msg('config.unsetVarHint', { name }));
  });
}
