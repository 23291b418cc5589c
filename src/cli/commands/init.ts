// git rollback init: looks at the repository and writes a starter .rollbackrc.yaml.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { openContext } from '../../app/context.js';
import { exists } from '../../adapters/files.js';
import { ConflictError } from '../../core/errors.js';
import { msg, t } from '../../core/i18n.js';
import { type GlobalArgs } from '../common.js';
import { color, print, printJSON, warn } from '../output.js';

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

async function look(root: string): Promise<Found & { warnings: string[] }> {
  const { glob } = await import('tinyglobby');
  const opts = { cwd: root, dot: true, onlyFiles: true, ignore: IGNORE, deep: 4 };
  const env = (await glob(['**/.env', '**/.env.*', '**/*.env'], opts)).filter((f) => !/\.(example|sample|template|dist)$/.test(f)).sort();
  const sqlite = (await glob(['**/*.db', '**/*.sqlite', '**/*.sqlite3'], opts)).sort();
  const services: Found['services'] = [];
  const warnings: string[] = [];
  const composeFiles = await glob(['docker-compose.yml', 'docker-compose.yaml', 'compose.yml', 'compose.yaml', '**/docker-compose*.yml', '**/docker-compose*.yaml', '**/compose*.yaml', '**/compose*.yml'], { ...opts, deep: 2 });
  for (const file of [...new Set(composeFiles)].sort()) {
    for (const s of await composeServices(join(root, file), file, warnings)) services.push(s);
  }
  const dirs: string[] = [];
  for (const d of ['uploads', 'storage', 'media', 'data/uploads', 'public/uploads']) if (await exists(join(root, d))) dirs.push(`${d}/`);
  return { env, sqlite, services, dirs, warnings };
}

/**
 * Database services of a compose file, read with a YAML parser (any valid
 * indentation, anchors, flow style): each service whose image is a known
 * database. A file that does not parse is a warning, not a failure.
 */
export async function composeServices(path: string, file: string, warnings: string[]): Promise<Found['services']> {
  const mod = (await import('js-yaml')) as typeof import('js-yaml') & { default?: typeof import('js-yaml') };
  const yaml = mod.default ?? mod;
  let doc: unknown;
  try {
    doc = yaml.load(await readFile(path, 'utf8'));
  } catch (error) {
    const e = error as Error & { reason?: string; mark?: { line: number } };
    warnings.push(t('init.composeUnreadable', { file, reason: `${e.reason ?? e.message.split('\n')[0]}${e.mark ? ` (line ${e.mark.line + 1})` : ''}` }));
    return [];
  }
  const services = doc && typeof doc === 'object' ? (doc as { services?: unknown }).services : undefined;
  if (!services || typeof services !== 'object' || Array.isArray(services)) return [];
  const out: Found['services'] = [];
  for (const [name, def] of Object.entries(services as Record<string, unknown>)) {
    const image = def && typeof def === 'object' ? (def as { image?: unknown }).image : undefined;
    if (typeof image !== 'string') continue;
    const engine = ENGINE_BY_IMAGE.find(([re]) => re.test(image))?.[1];
    if (engine) out.push({ name, engine, image, file });
  }
  return out;
}

function render(found: Found): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = [
    `# ${t('init.file.header')}`,
    '# yaml-language-server: $schema=https://unpkg.com/@git-rollback/cli/rollback.schema.json',
    `# ${t('init.file.secrets')}`,
    '',
    `# ${t('init.file.config')}`,
    found.env.length ? `config: [${found.env.map(q).join(', ')}]` : 'config: [".env"]',
    '',
    `# ${t('init.file.paths')}`,
    found.dirs.length ? `paths: [${found.dirs.map(q).join(', ')}]` : '# paths: ["uploads/"]',
    '',
  ];
  const dbs: string[] = [];
  found.sqlite.forEach((p, i) => dbs.push(`  ${i === 0 ? 'local' : `local${i + 1}`}: { engine: sqlite, path: ${q(p)} }`));
  const commented: string[] = [];
  for (const s of found.services) {
    const name = s.name.replace(/[^A-Za-z0-9_.-]/g, '_');
    const where = t('init.file.inFile', { image: s.image, file: s.file });
    if (s.engine === 'postgres') commented.push(`#  ${name}: { engine: postgres, url: "\${DATABASE_URL}" }   # ${where}`);
    else if (s.engine === 'mysql') commented.push(`#  ${name}: { engine: mysql, url: "\${MYSQL_URL}" }   # ${where}`);
    else if (s.engine === 'redis') commented.push(`#  ${name}: { engine: redis, url: "redis://127.0.0.1:6379/0" }   # ${where}`);
    else commented.push(`#  ${name}: { engine: command, dump: "mongodump --archive --uri=\$MONGO_URL", restore: "mongorestore --archive --drop --uri=\$MONGO_URL" }   # ${where}`);
  }
  lines.push(`# ${t('init.file.databases')}`);
  if (dbs.length) lines.push('databases:', ...dbs, ...commented);
  else lines.push('# databases:', ...(commented.length ? commented : ['#  main: { engine: postgres, url: "${DATABASE_URL}" }']));
  lines.push(
    '',
    `# ${t('init.file.capture')}`,
    '# capture: { migrations: "alembic current" }',
    '',
    `# ${t('init.file.hooks')}`,
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
  get describe() {
    return t('cmd.init');
  },
  builder: (y) =>
    y
      .option('force', { type: 'boolean', describe: t('init.opt.force') })
      .option('dry-run', { alias: 'n', type: 'boolean', describe: t('init.opt.dryRun') })
      .option('json', { type: 'boolean', describe: t('init.opt.json') })
      .example('$0 init', t('init.ex.init'))
      .example('$0 init --dry-run', t('init.ex.dryRun')),
  handler: async (args) => {
    const ctx = await openContext({ needCommit: false, ...(args.config ? { configFile: args.config } : {}) });
    const root = ctx.repo.root;
    const target = join(root, '.rollbackrc.yaml');
    const { warnings, ...found } = await look(root);
    for (const w of warnings) warn(w);
    const text = render(found);
    if (args.json) return printJSON({ found, file: args.dryRun ? null : '.rollbackrc.yaml', config: text });
    if (args.dryRun) return print(text);
    if (ctx.config.file && !args.force) {
      throw new ConflictError(msg('init.exists', { file: ctx.config.file }), msg('init.existsHint'));
    }
    if ((await exists(target)) && !args.force) throw new ConflictError(msg('init.exists', { file: '.rollbackrc.yaml' }), msg('init.existsHint'));
    await writeFile(target, text, { mode: 0o644 });
    const list = (items: string[]) => (items.length ? ` (${items.join(', ')})` : '');
    print(
      t('init.found', {
        env: t('init.envFiles', { n: found.env.length }) + list(found.env),
        sqlite: t('init.sqliteFiles', { n: found.sqlite.length }) + list(found.sqlite),
        services: t('init.services', { n: found.services.length }) + list(found.services.map((s) => `${s.name}: ${s.engine}`)),
      }),
    );
    print(t('init.wrote', { file: color.bold('.rollbackrc.yaml') }));
    print(t('init.commit'));
  },
};
