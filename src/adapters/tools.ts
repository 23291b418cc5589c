// "<tool> is not installed" errors that name the Debian package to install.
// Kept apart from process.ts so that importing it does not load execa.
import { RollbackError } from '../core/errors.js';
import { msg } from '../core/i18n.js';

/** Debian packages for the client tools we call, for "not installed" hints. */
const PACKAGES: Record<string, string> = {
  git: 'git',
  sqlite3: 'sqlite3',
  pg_dump: 'postgresql-client',
  pg_restore: 'postgresql-client',
  psql: 'postgresql-client',
  createdb: 'postgresql-client',
  dropdb: 'postgresql-client',
  mysqldump: 'mariadb-client (or default-mysql-client)',
  'mariadb-dump': 'mariadb-client',
  mysql: 'mariadb-client (or default-mysql-client)',
  mariadb: 'mariadb-client',
  'redis-cli': 'redis-tools',
};

export function missingTool(tool: string): RollbackError {
  const pkg = PACKAGES[tool];
  return new RollbackError(msg('tool.missing', { tool }), pkg ? msg('tool.missingApt', { pkg }) : msg('tool.missingHint', { tool }));
}

/**
 * Every program runs in its own process group (`detached`): a Ctrl-C on the
 * terminal reaches git-rollback only, and the step runner decides what stops
 * (an atomic step finishes; a cancellable one kills its programs itself).
 * Otherwise a `git checkout` or a `psql` renaming databases would die
 * half-way through the very step that must finish.
 */
export const OWN_GROUP = { detached: true } as const;
