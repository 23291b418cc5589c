// Builds the engine for one `databases:` entry. Each engine validates its own
// keys; this only dispatches on `engine` and names the valid choices.
import type { DatabaseConfig, Engine } from '../../core/engine.js';
import { ConfigError } from '../../core/errors.js';
import { CommandEngine } from './command.js';
import type { EngineContext } from './common.js';
import { MysqlEngine } from './mysql.js';
import { PostgresEngine } from './postgres.js';
import { RedisEngine } from './redis.js';
import { SqliteEngine } from './sqlite.js';
import { msg } from '../../core/i18n.js';

export type { EngineContext } from './common.js';
export { safeJobId } from './common.js';

const ENGINES: Record<string, new (config: DatabaseConfig, ctx: EngineContext) => Engine> = {
  sqlite: SqliteEngine,
  postgres: PostgresEngine,
  postgresql: PostgresEngine,
  mysql: MysqlEngine,
  mariadb: MysqlEngine,
  redis: RedisEngine,
  command: CommandEngine,
};

export const ENGINE_NAMES = ['sqlite', 'postgres', 'mysql', 'redis', 'command'] as const;

/**
 * The engine for one config entry (after ${VAR} expansion). Throws
 * ConfigError naming `databases.<name>.<key>` for anything invalid; touches
 * no server (check() does that).
 */
export function createEngine(config: DatabaseConfig, ctx: EngineContext): Engine {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(config.name)) {
    throw new ConfigError(msg('engine.badName', { name: config.name }));
  }
  const Ctor = typeof config.engine === 'string' ? ENGINES[config.engine] : undefined;
  if (!Ctor) {
    throw new ConfigError(msg('engine.badEngine', { name: config.name, engines: ENGINE_NAMES.join(', '), got: JSON.stringify(config.engine) }));
  }
  return new Ctor(config, ctx);
}
