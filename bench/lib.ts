// Shared helpers for the benchmarks: a pinned environment, timed runs of a
// command (wall clock and peak RSS), medians, machine facts and Markdown output.
import { execFileSync, spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'bin', 'git-rollback.js');
const TIME = '/usr/bin/time';

/** Parses `--key value` and `--key=value` flags; bare words are positional. */
export function parseArgs(argv: readonly string[]): { flags: Record<string, string>; positional: string[] } {
  const flags: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
      else if (i + 1 < argv.length && !(argv[i + 1] as string).startsWith('--')) flags[a.slice(2)] = argv[++i] as string;
      else flags[a.slice(2)] = 'true';
    } else positional.push(a);
  }
  return { flags, positional };
}

/** A temp home with a fixed git identity, and an environment that uses it. */
export function benchEnv(prefix: string): { base: string; home: string; env: NodeJS.ProcessEnv; cleanup(): void } {
  const base = mkdtempSync(join(process.env.BENCH_TMPDIR ?? tmpdir(), `git-rollback-bench-${prefix}-`));
  const home = join(base, 'home');
  mkdirSync(home);
  writeFileSync(
    join(home, '.gitconfig'),
    '[user]\n\tname = Bench User\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n[gc]\n\tauto = 0\n[commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n',
  );
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    TZ: 'UTC',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    NO_COLOR: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    // The bench's own configs run commands and name databases: approved, as CI does.
    GIT_ROLLBACK_TRUST: '1',
  };
  return { base, home, env, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

export function git(cwd: string, env: NodeJS.ProcessEnv, args: string[], input?: string | Buffer): string {
  return execFileSync('git', args, { cwd, env, input, encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

export interface Run {
  ms: number;
  /** Peak resident set of the command (largest process in its tree that it waited for), KiB; null without /usr/bin/time. */
  rssKiB: number | null;
  code: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs a command once and measures wall-clock time (from spawn to exit, in
 * this process) and peak RSS (GNU time's %M: max RSS of the process, or of
 * any child it waited for).
 */
export function timed(cmd: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; input?: string | Buffer; stdoutFile?: string }): Run {
  const useTime = existsSync(TIME);
  const rssFile = join(tmpdir(), `git-rollback-bench-rss-${process.pid}`);
  const argv = useTime ? ['-f', '%M', '-o', rssFile, cmd, ...args] : [...args];
  const spawnOptions: SpawnSyncOptions = { cwd: options.cwd, env: options.env, maxBuffer: 1 << 30 };
  if (options.input !== undefined) spawnOptions.input = options.input;
  let fd: number | null = null;
  if (options.stdoutFile) {
    // The output goes straight to a file (a dump): open it for the child only.
    fd = openSync(options.stdoutFile, 'w');
    spawnOptions.stdio = ['pipe', fd, 'pipe'];
  }
  const t0 = performance.now();
  const r = spawnSync(useTime ? TIME : cmd, argv, spawnOptions);
  const ms = performance.now() - t0;
  if (fd !== null) closeSync(fd);
  let rssKiB: number | null = null;
  if (useTime && existsSync(rssFile)) {
    const lines = readFileSync(rssFile, 'utf8').trim().split('\n');
    const v = Number(lines[lines.length - 1]);
    rssKiB = Number.isFinite(v) ? v : null;
    rmSync(rssFile, { force: true });
  }
  if (r.error) throw r.error;
  return { ms, rssKiB, code: r.status ?? -1, stdout: (r.stdout as Buffer | null) ?? Buffer.alloc(0), stderr: r.stderr ? r.stderr.toString() : '' };
}

/** Runs `git-rollback <args>` with the built binary. */
export function rollback(args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; input?: string }): Run {
  return timed(process.execPath, [BIN, ...args], options);
}

export function must(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}:\n${r.stderr.slice(0, 2000)}`);
  return r;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? (s[(n - 1) >> 1] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
}

export interface Stats {
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  medianRssMiB: number | null;
  maxRssMiB: number | null;
}

export function stats(runs: readonly Run[]): Stats {
  const ms = runs.map((r) => r.ms);
  const rss = runs.map((r) => r.rssKiB).filter((x): x is number => x !== null);
  return {
    runs: runs.length,
    medianMs: median(ms),
    minMs: Math.min(...ms),
    maxMs: Math.max(...ms),
    medianRssMiB: rss.length ? median(rss) / 1024 : null,
    maxRssMiB: rss.length ? Math.max(...rss) / 1024 : null,
  };
}

/** Runs `fn` `n` times (after `warmup` unmeasured runs) and returns every run. */
export function repeat(n: number, fn: (i: number) => Run, warmup = 1): Run[] {
  for (let i = 0; i < warmup; i++) fn(-1 - i);
  const out: Run[] = [];
  for (let i = 0; i < n; i++) out.push(fn(i));
  return out;
}

export const fmtMs = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
export const fmtMiB = (m: number | null): string => (m === null ? 'n/a' : `${m.toFixed(m >= 100 ? 0 : 1)} MiB`);
export function fmtBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

export function mdTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function firstLine(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]?.trim() ?? '';
  } catch {
    return 'n/a';
  }
}

/** The facts a reader needs to compare figures: CPU, memory, versions, load. */
export function machine(): Record<string, string> {
  const cpu = cpus();
  let head = '';
  try {
    head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    head = 'n/a';
  }
  return {
    date: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    cpus: `${cpu.length} × ${cpu[0]?.model.trim() ?? '?'}`,
    memory: fmtBytes(totalmem()),
    node: process.version,
    git: firstLine('git', ['--version']).replace(/^git version /, ''),
    kernel: firstLine('uname', ['-sr']),
    'load (1/5/15 min) at start': loadavg().map((x) => x.toFixed(2)).join(' / '),
    'git-rollback commit': head,
  };
}

export function loadNow(): string {
  return loadavg().map((x) => x.toFixed(2)).join(' / ');
}

/** Bytes of every file under `dir`. */
export function dirBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    total += st.isDirectory() ? dirBytes(p) : st.size;
  }
  return total;
}

export function log(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

/**
 * Writes a section of a result file under .bench/ (ignored by git) so that
 * docs/benchmarks.md can be updated from it by hand or by the caller.
 */
export function saveResult(name: string, markdown: string, json: unknown): string {
  const dir = join(ROOT, '.bench');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const md = join(dir, `${name}-${stamp}.md`);
  writeFileSync(md, markdown + '\n');
  writeFileSync(join(dir, `${name}-${stamp}.json`), JSON.stringify(json, null, 2) + '\n');
  writeFileSync(join(dir, `${name}-latest.md`), markdown + '\n');
  return md;
}

export interface TreeRun {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
  /** Peak RSS of the node process itself (process.resourceUsage().maxRSS at exit), KiB; only for rollbackTree(). */
  selfRssKiB: number | null;
  /** Largest VmHWM seen per command name among the process and its descendants (sampled every 100 ms), KiB. */
  peaks: Record<string, number>;
  /** CPU time (user + system) of the command and the children it waited for, ms (GNU time); null without /usr/bin/time. */
  cpuMs: number | null;
}

function procChildren(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

function sampleTree(root: number, peaks: Record<string, number>): void {
  const children = procChildren();
  const queue = [root];
  while (queue.length) {
    const pid = queue.pop() as number;
    queue.push(...(children.get(pid) ?? []));
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      let name = /Name:\s+(\S+)/.exec(status)?.[1] ?? '?';
      if (name === 'git') {
        // "git fast-import", "git cat-file": the subcommand is what matters.
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        const sub = argv.slice(1).find((a, i, all) => !a.startsWith('-') && all[i - 1] !== '-c');
        if (sub) name = `git ${sub}`;
      }
      if (pid === root) name = `${name} (main)`;
      if (hwm > (peaks[name] ?? 0)) peaks[name] = hwm;
    } catch {
      // exited between listing and reading
    }
  }
}

/**
 * Runs a command, measuring wall time and sampling the peak RSS (VmHWM) of
 * the process and every descendant. Output to `stdoutFile` when given.
 */
export function timedTree(
  cmd: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; stdoutFile?: string; selfRssFile?: string },
): Promise<TreeRun> {
  return new Promise((resolvePromise, reject) => {
    const fd = options.stdoutFile ? openSync(options.stdoutFile, 'w') : null;
    // CPU time is what a busy machine changes least: measured beside the wall time.
    const cpuFile = existsSync(TIME) ? join(tmpdir(), `git-rollback-bench-cpu-${process.pid}-${Math.random().toString(36).slice(2)}`) : null;
    const argv = cpuFile ? ['-f', '%U %S', '-o', cpuFile, cmd, ...args] : [...args];
    const t0 = performance.now();
    const child = spawn(cpuFile ? TIME : cmd, argv, { cwd: options.cwd, env: options.env, stdio: ['ignore', fd ?? 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    const peaks: Record<string, number> = {};
    const timer = setInterval(() => child.pid && sampleTree(child.pid, peaks), 100);
    child.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      clearInterval(timer);
      if (fd !== null) closeSync(fd);
      let cpuMs: number | null = null;
      if (cpuFile && existsSync(cpuFile)) {
        const [u, sys] = readFileSync(cpuFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
        if (Number.isFinite(u) && Number.isFinite(sys)) cpuMs = ((u as number) + (sys as number)) * 1000;
        rmSync(cpuFile, { force: true });
      }
      let selfRssKiB: number | null = null;
      if (options.selfRssFile && existsSync(options.selfRssFile)) {
        selfRssKiB = Number(readFileSync(options.selfRssFile, 'utf8').trim()) || null;
        rmSync(options.selfRssFile, { force: true });
      }
      resolvePromise({ ms, code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), selfRssKiB, peaks, cpuMs });
    });
  });
}

/** `git-rollback <args>` with a preload that records the node process's own peak RSS. */
/** `bin`: another build's bin/git-rollback.js (a baseline timed side by side); default this checkout's. */
export function rollbackTree(args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; bin?: string }): Promise<TreeRun> {
  const selfRssFile = join(tmpdir(), `git-rollback-bench-self-${process.pid}-${Date.now()}`);
  const preload = pathToFileURL(join(ROOT, 'bench', 'rss-preload.mjs')).href;
  return timedTree(process.execPath, ['--import', preload, options.bin ?? BIN, ...args], { ...options, env: { ...options.env, BENCH_SELF_RSS_FILE: selfRssFile }, selfRssFile });
}

export function mustTree(r: TreeRun, what: string): TreeRun {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}:\n${r.stderr.slice(0, 3000)}`);
  return r;
}

export interface Servers {
  pgUrl: string;
  mysqlUrl: string;
  redisUrl: string;
  stop(): void;
}

/**
 * Throw-away PostgreSQL, MariaDB and Redis servers from scripts/test-servers.sh,
 * in their own state dir on free ports (so they never touch the test
 * servers); BENCH_PG_PORT / BENCH_MYSQL_PORT / BENCH_REDIS_PORT pin ports.
 */
export function startServers(): Servers {
  const state = join(tmpdir(), `git-rollback-bench-servers-${process.pid}`);
  const env: NodeJS.ProcessEnv = { ...process.env, ROLLBACK_TEST_SERVERS_DIR: state };
  if (process.env.BENCH_PG_PORT) env.ROLLBACK_TEST_PG_PORT = process.env.BENCH_PG_PORT;
  if (process.env.BENCH_MYSQL_PORT) env.ROLLBACK_TEST_MYSQL_PORT = process.env.BENCH_MYSQL_PORT;
  if (process.env.BENCH_REDIS_PORT) env.ROLLBACK_TEST_REDIS_PORT = process.env.BENCH_REDIS_PORT;
  const script = join(ROOT, 'scripts', 'test-servers.sh');
  const r = spawnSync('bash', [script, 'start'], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/test-servers.sh start failed:\n${r.stderr}`);
  const get = (name: string) => {
    const m = new RegExp(`${name}='([^']+)'`).exec(r.stdout);
    if (!m) throw new Error(`scripts/test-servers.sh printed no ${name}`);
    return m[1] as string;
  };
  return {
    pgUrl: get('ROLLBACK_TEST_PG_URL'),
    mysqlUrl: get('ROLLBACK_TEST_MYSQL_URL'),
    redisUrl: get('ROLLBACK_TEST_REDIS_URL'),
    stop: () => {
      spawnSync('bash', [script, 'stop'], { env, stdio: 'ignore' });
    },
  };
}

/** A URL with another database name (path). */
export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.href;
}

export interface Probe {
  /** performance.now() when the probe started: the origin of its times. */
  t0: number;
  /** Milliseconds (from the probe's start) of every answer, and what it said. */
  answers: { at: number; value: string }[];
  /** Milliseconds of every failed query (connection refused, relation missing…). */
  failures: number[];
  stop(): Promise<void>;
}

/**
 * An application reading the database while something happens: one
 * long-lived client (psql or mariadb, reading queries on stdin) sent the same
 * query every `everyMs`; each answer is stamped as it arrives. A client that
 * lost its connection is restarted at once (as a pool would). Used for the
 * time until live data changes (time to recovery) and the longest gap without
 * an answer (the swap window).
 */
export function probe(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, query: string, everyMs = 10): Probe {
  const t0 = performance.now();
  const answers: { at: number; value: string }[] = [];
  const failures: number[] = [];
  let stopped = false;
  let child: ReturnType<typeof spawn> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let inFlight = false;
  const start = () => {
    if (stopped) return;
    const c = spawn(cmd, [...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    child = c;
    let out = '';
    c.stdout?.setEncoding('utf8');
    c.stdout?.on('data', (d: string) => {
      out += d;
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl).trim();
        out = out.slice(nl + 1);
        if (line) answers.push({ at: performance.now() - t0, value: line });
        inFlight = false;
      }
    });
    c.stderr?.on('data', () => {
      failures.push(performance.now() - t0);
      inFlight = false;
    });
    c.stdin?.on('error', () => undefined);
    c.on('exit', () => {
      if (child === c) child = null;
      inFlight = false;
      if (!stopped) setTimeout(start, 5);
    });
  };
  start();
  timer = setInterval(() => {
    if (!child || inFlight) return;
    inFlight = true;
    child.stdin?.write(query + '\n');
  }, everyMs);
  return {
    t0,
    answers,
    failures,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      const c = child;
      if (c) {
        c.stdin?.end();
        await new Promise<void>((r) => {
          const t = setTimeout(() => (c.kill(), r()), 2000);
          c.on('exit', () => (clearTimeout(t), r()));
        });
      }
    },
  };
}

/** The longest time between two answers within [from, to] ms (including the edges). */
export function longestGap(p: Probe, from: number, to: number): number {
  const times = [from, ...p.answers.map((a) => a.at).filter((t) => t >= from && t <= to), to];
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, (times[i] as number) - (times[i - 1] as number));
  return gap;
}
