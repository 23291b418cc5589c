// Benchmark: the Redis engine's dump and restore of N keys (issue 10: at least
// as fast as before; issue 8: the point-in-time dump must not cost speed).
//
//   node --import tsx bench/redis.ts --url redis://:pass@127.0.0.1:6379 [--keys 100000] [--runs 3] [--db 12] [--scratch 13]
//       [--baseline <dir with an older src/>]
//
// The baseline is an older tree of the engine, e.g. the one before the
// snapshot dump:  mkdir /tmp/base && git archive f5368ad src | tar -x -C /tmp/base  then --baseline /tmp/base
// Measures, each as the median of --runs, on the engine directly (no git
// store, so only the engine's own cost counts):
//   1. dump (snapshot via SYNC, and the SCAN fallback) vs the baseline's dump vs `redis-cli --rdb` (when installed)
//   2. stage + swap of that dump (RESTORE … ABSTTL into the scratch db, SWAPDB) vs the baseline's
// Data: N keys, 70% strings of ~40 bytes, 10% hashes of 5 fields, 10% lists of 5, 10% sets of 5; 20% with a TTL.
// It FLUSHes the two databases it uses.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { createEngine } from '../src/adapters/engines/index.js';
import { RespClient } from '../src/adapters/engines/resp.js';
import type { Engine, RestoreJob } from '../src/core/engine.js';
import type { DatabaseEntry } from '../src/core/types.js';

function flag(argv: readonly string[], name: string, fallback?: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function redis(url: URL, db: number): Promise<RespClient> {
  const c = await RespClient.open(url.hostname, Number(url.port || 6379), 'bench');
  if (url.password) await c.call('AUTH', decodeURIComponent(url.password));
  await c.call('SELECT', db);
  return c;
}

async function load(url: URL, db: number, n: number): Promise<void> {
  const c = await redis(url, db);
  await c.call('FLUSHDB');
  const batch: Array<Promise<unknown>> = [];
  for (let i = 0; i < n; i++) {
    const k = `key:${i}`;
    const kind = i % 10;
    if (kind < 7) batch.push(c.call('SET', k, `value-${i}-${'x'.repeat(32)}`));
    else if (kind === 7) batch.push(c.call('HSET', k, 'a', i, 'b', 'two', 'c', 'three', 'd', 4.5, 'e', 'five'));
    else if (kind === 8) batch.push(c.call('RPUSH', k, 'a', 'b', 'c', i, 'e'));
    else batch.push(c.call('SADD', k, 'a', 'b', 'c', i, 'e'));
    if (i % 5 === 0) batch.push(c.call('PEXPIRE', k, 3_600_000 + i));
    if (batch.length >= 1000) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
  c.close();
}

/** A sink that keeps the bytes (so they can be restored) and counts them. */
function collector(): { out: Writable; bytes(): Buffer } {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _e, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { out, bytes: () => Buffer.concat(chunks) };
}

function job(jobId: string, entry: DatabaseEntry): RestoreJob {
  return { jobId, entry, memo: {}, async save() {}, signal: new AbortController().signal, warn() {} };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

export async function main(argv: readonly string[]): Promise<void> {
  const url = new URL(flag(argv, 'url') ?? process.env.ROLLBACK_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const n = Number(flag(argv, 'keys', '100000'));
  const runs = Number(flag(argv, 'runs', '3'));
  const db = Number(flag(argv, 'db', '12'));
  const scratch = Number(flag(argv, 'scratch', '13'));
  const baselineDir = flag(argv, 'baseline');
  const dbUrl = new URL(url.href);
  dbUrl.pathname = `/${db}`;
  const ctx = { cwd: process.cwd(), env: process.env };
  const config = { name: 'cache', engine: 'redis', url: dbUrl.href, scratchDb: scratch };
  const engine = createEngine(config, ctx);
  // The SCAN fallback, as when the server refuses SYNC.
  const scanOnly = createEngine({ ...config, snapshot: 'scan' }, ctx);
  let baseline: Engine | undefined;
  if (baselineDir) {
    const mod = (await import(pathToFileURL(join(baselineDir, 'src/adapters/engines/index.ts')).href)) as { createEngine: typeof createEngine };
    baseline = mod.createEngine(config, ctx);
  }

  console.error(`loading ${n} keys into db ${db}…`);
  const s = await redis(url, scratch);
  await s.call('FLUSHDB');
  s.close();
  await load(url, db, n);
  const rows: string[] = [];
  const row = (what: string, ms: number[], extra = '') => {
    rows.push(`| ${what} | ${median(ms).toFixed(0)} ms | ${ms.map((m) => m.toFixed(0)).join(', ')} | ${extra} |`);
    console.error(rows.at(-1));
  };

  // 1. dumps
  const dumpOf = async (e: Engine) => {
    const sink = collector();
    const { ms, value } = await timed(() => e.dump(sink.out));
    return { ms, outcome: value, bytes: sink.bytes() };
  };
  const snap = [] as number[];
  let last!: Awaited<ReturnType<typeof dumpOf>>;
  for (let i = 0; i < runs; i++) snap.push((last = await dumpOf(engine)).ms);
  row('dump, point-in-time snapshot (SYNC + RDB cut per key)', snap, `${(last.bytes.length / 1048576).toFixed(1)} MiB, ${String(last.outcome.details?.snapshot)}`);
  const current = last;
  const scan = [] as number[];
  for (let i = 0; i < runs; i++) scan.push((await dumpOf(scanOnly)).ms);
  row('dump, SCAN + DUMP + PEXPIRETIME (fallback)', scan);
  if (baseline) {
    const base = [] as number[];
    let b!: Awaited<ReturnType<typeof dumpOf>>;
    for (let i = 0; i < runs; i++) base.push((b = await dumpOf(baseline)).ms);
    row('dump, baseline', base, `${(b.bytes.length / 1048576).toFixed(1)} MiB`);
  }
  const cliRuns: number[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = spawnSync('redis-cli', ['-h', url.hostname, '-p', url.port || '6379', '--rdb', join(dir, 'dump.rdb')], {
      env: { ...process.env, REDISCLI_AUTH: decodeURIComponent(url.password) },
      stdio: 'ignore',
    });
    if (r.status !== 0) break;
    cliRuns.push(performance.now() - t);
  }
  rmSync(dir, { recursive: true, force: true });
  if (cliRuns.length) row('`redis-cli --rdb` (diskless sync: waits repl-diskless-sync-delay)', cliRuns);

  // 2. restores (stage + swap), each into an emptied scratch db, then swapped back
  const entry = { name: 'cache', engine: 'redis', format: current.outcome.format, path: 'db/cache.redis', size: current.bytes.length, sha256: '', tool: '', ms: 0, details: current.outcome.details } as DatabaseEntry;
  const restores: number[] = [];
  for (let i = 0; i < runs; i++) {
    const j = job(`bench${i}`, entry);
    const { ms } = await timed(async () => {
      await engine.stage(Readable.from([current.bytes]), j);
      await engine.swap(j);
    });
    restores.push(ms);
    await engine.unswap(j);
    await engine.discardStaged(j);
  }
  row('restore (stage + swap)', restores, `${n} keys`);
  if (baseline) {
    const old = (await dumpOf(baseline)).bytes;
    const b: number[] = [];
    for (let i = 0; i < runs; i++) {
      const { ms } = await timed(async () => {
        const staged = await (baseline as unknown as { stage(i: Readable, c: unknown): Promise<{ swap(): Promise<void>; unswap(): Promise<void>; discard(): Promise<void> }> })
          .stage(Readable.from([old]), { jobId: `base${i}`, entry: { ...entry, format: 'redis-dump-v1' } });
        await staged.swap();
        return staged;
      }).then(async (r) => {
        await r.value.unswap();
        await r.value.discard();
        return r;
      });
      b.push(ms);
    }
    row('restore, baseline', b);
  }
  const c = await redis(url, db);
  await c.call('FLUSHDB');
  await c.call('SELECT', scratch);
  await c.call('FLUSHDB');
  c.close();
  console.log(`| work (${n} keys) | median | runs | notes |\n| --- | --- | --- | --- |\n${rows.join('\n')}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main(process.argv.slice(2));
