// git rollback init: looks at the repository and writes a starter .rollbackrc.yaml.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { openContext } from '../../app/context.js';
import { exists } from '../../adapters/files.js';
import { ConflictError } from '../../core/errors.js';
import { type GlobalArgs } from '../common.js';
import { color, print, printJSON } from '../output.js';

interface Args extends GlobalArgs {
  force?: boolean;
  dryRun?: boolean;
}

interface Found {
  env: string[];
  sqlite: string[];
  services: { name: string; engine: string; image: string; file: string }[];
  dirs: string[];
}

const IGNORE = ['**/node_modules/**', '**/.git/**', '**/.venv/**', '**/venv/**', '**/dist/**', '**/build/**', '**/vendor/**'];
const ENGINE_BY_IMAGE: [RegExp, string][] = [
  [/(^|\/)(postgres|postgis|timescaledb)/, 'postgres'],
  [/(^|\/)(mysql|mariadb|percona)/, 'mysql'],
  [/(^|\/)(redis|valkey|keydb)/, 'redis'],
  [/(^|\/)mongo/, 'mongodb'],
];

async function look(root: string): Promise<Found> {
  const { glob } = await import('tinyglobby');
  const opts = { cwd: root, dot: true, onlyFiles: true, ignore: IGNORE, deep: 4 };
  const env = (await glob(['**/.env', '**/.env.*', '**/*.env'], opts)).filter((f) => !/\.(example|sample|template|dist)$/.test(f)).sort();
  const sqlite = (await glob(['**/*.db', '**/*.sqlite', '**/*.sqlite3'], opts)).sort();
  const services: Found['services'] = [];
  for (const file of await glob(['docker-compose.yml', 'docker-compose.yaml', 'compose.yml', 'compose.yaml', '**/docker-compose*.yml'], { ...opts, deep: 2 })) {
    const text = await readFile(join(root, file), 'utf8');
    let current: string | null = null;
    let inServices = false;
    for (const line of text.split('\n')) {
      if (/^services:\s*$/.test(line)) inServices = true;
      else if (/^\S/.test(line)) inServices = false;
      const svc = /^ {2}([A-Za-z0-9_.-]+):\s*$/.exec(line);
      if (inServices && svc) current = svc[1] as string;
      const img = /^\s+image:\s*["']?([^"'\s]+)/.exec(line);
      if (inServices && current && img) {
        const engine = ENGINE_BY_IMAGE.find(([re]) => re.test(img[1] as string))?.[1];
        if (engine) services.push({ name: current, engine, image: img[1] as string, file });
      }
    }
  }
  const dirs: string[] = [];
  for (const d of ['uploads', 'storage', 'media', 'data/uploads', 'public/uploads']) if (await exists(join(root, d))) dirs.push(`${d}/`);
  return { env, sqlite, services, dirs };
}

function render(found: Found): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = [
    '# git-rollback config — written by `git rollback init`. Reference: docs/config.md',
    '# Never put passwords here: use ${VARIABLES} from the environment.',
    '',
    '# Config files to snapshot (globs; tracked or git-ignored).',
    found.env.length ? `config: [${found.env.map(q).join(', ')}]` : 'config: [".env"]',
    '',
    '# Data folders to snapshot with every point.',
    found.dirs.length ? `paths: [${found.dirs.map(q).join(', ')}]` : '# paths: ["uploads/"]',
    '',
  ];
  const dbs: string[] = [];
  found.sqlite.forEach((p, i) => dbs.push(`  ${i === 0 ? 'local' : `local${i + 1}`}: { engine: sqlite, path: ${q(p)} }`));
  const commented: string[] = [];
  for (const s of found.services) {
    const name = s.name.replace(/[^A-Za-z0-9_.-]/g, '_');
    if (s.engine === 'postgres') commented.push(`#  ${name}: { engine: postgres, url: "\${DATABASE_URL}" }   # ${s.image} in ${s.file}`);
    else if (s.engine === 'mysql') commented.push(`#  ${name}: { engine: mysql, url: "\${MYSQL_URL}" }   # ${s.image} in ${s.file}`);
    else if (s.engine === 'redis') commented.push(`#  ${name}: { engine: redis, url: "redis://127.0.0.1:6379/0" }   # ${s.image} in ${s.file}`);
    else commented.push(`#  ${name}: { engine: command, dump: "mongodump --archive --uri=\$MONGO_URL", restore: "mongorestore --archive --drop --uri=\$MONGO_URL" }   # ${s.image}`);
  }
  lines.push('# Databases restored together with the code (sqlite, postgres, mysql, redis, command).');
  if (dbs.length) lines.push('databases:', ...dbs, ...commented);
  else lines.push('# databases:', ...(commented.length ? commented : ['#  main: { engine: postgres, url: "${DATABASE_URL}" }']));
  lines.push(
    '',
    '# Command outputs recorded with every point.',
    '# capture: { migrations: "alembic current" }',
    '',
    '# Run around every rollback; a failing health check reverts the rollback.',
    '# hooks: { beforeRollback: "docker compose stop backend", afterRollback: "docker compose up -d backend" }',
    '# health: { url: "http://127.0.0.1:8000/health", retries: 10, interval: "3s", timeout: "5s" }',
    '',
    'retention: { keepLast: 20, keepWithin: "7d", keepReleases: true }',
    '',
  );
  return lines.join('\n');
}

export const initCommand: CommandModule<object, Args> = {
  command: 'init',
  describe: 'Look at the repository (.env files, SQLite files, docker-compose services) and write a starter .rollbackrc.yaml',
  builder: (y) =>
    y
      .option('force', { type: 'boolean', describe: 'Overwrite an existing .rollbackrc.yaml' })
      .option('dry-run', { alias: 'n', type: 'boolean', describe: 'Print the config instead of writing it' })
      .option('json', { type: 'boolean', describe: 'Print what was found as JSON' })
      .example('$0 init', 'write .rollbackrc.yaml')
      .example('$0 init --dry-run', 'print it only'),
  handler: async (args) => {
    const ctx = await openContext({ needCommit: false, ...(args.config ? { configFile: args.config } : {}) });
    const root = ctx.repo.root;
    const target = join(root, '.rollbackrc.yaml');
    const found = await look(root);
    const text = render(found);
    if (args.json) return printJSON({ found, file: args.dryRun ? null : '.rollbackrc.yaml', config: text });
    if (args.dryRun) return print(text);
    if (ctx.config.file && !args.force) {
      throw new ConflictError(`a config already exists: ${ctx.config.file}`, 'edit it, or overwrite it with git rollback init --force');
    }
    if ((await exists(target)) && !args.force) throw new ConflictError('.rollbackrc.yaml already exists', 'edit it, or overwrite it with --force');
    await writeFile(target, text, { mode: 0o644 });
    print(`Found: ${found.env.length} env file${found.env.length === 1 ? '' : 's'}${found.env.length ? ` (${found.env.join(', ')})` : ''}, ${found.sqlite.length} SQLite file${found.sqlite.length === 1 ? '' : 's'}${found.sqlite.length ? ` (${found.sqlite.join(', ')})` : ''}, ${found.services.length} database service${found.services.length === 1 ? '' : 's'} in compose files${found.services.length ? ` (${found.services.map((s) => `${s.name}: ${s.engine}`).join(', ')})` : ''}.`);
    print(`Wrote ${color.bold('.rollbackrc.yaml')}. Review it, approve it (git rollback trust), then make a point: git rollback point "description"`);
  },
};
