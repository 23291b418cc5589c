// `npm test`: typecheck, build, then every unit and integration test with the
// node test runner. The integration tests need real PostgreSQL, MariaDB and
// Redis servers: when ROLLBACK_TEST_PG_URL is not set, this starts throw-away
// ones on loopback with scripts/test-servers.sh and stops them afterwards.
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const run = (cmd, args, env = process.env) => spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit' }).status ?? 1;

for (const [cmd, args] of [
  ['npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']],
  ['node', ['scripts/build.mjs']],
]) {
  const status = run(cmd, args);
  if (status !== 0) process.exit(status);
}

const env = { ...process.env };
let stateDir = null;
if (!env.ROLLBACK_TEST_PG_URL) {
  stateDir = mkdtempSync(join(tmpdir(), 'git-rollback-servers-'));
  rmSync(stateDir, { recursive: true });
  env.ROLLBACK_TEST_SERVERS_DIR = stateDir;
  const exports = execFileSync('bash', ['scripts/test-servers.sh', 'start'], { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  for (const m of exports.matchAll(/^export ([A-Z0-9_]+)=(?:'([^']*)'|"([^"]*)"|(\S*))$/gm)) env[m[1]] = m[2] ?? m[3] ?? m[4] ?? '';
}

const files = (dir) => readdirSync(join(root, dir)).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(dir, f));
const only = process.argv.slice(2);
const tests = only.length ? only : [...files('test/unit'), ...files('test/integration')];
let status = 1;
try {
  status = run('node', ['--import', 'tsx', '--test', '--test-concurrency=2', ...tests], env);
} finally {
  if (stateDir) run('bash', ['scripts/test-servers.sh', 'stop'], env);
}
process.exit(status);
