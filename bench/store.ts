// Benchmark: the dump store against restic on the same bytes (issue 10).
//
//   npm run build && node --import tsx bench/store.ts [--runs 3] [--mib 300] [--data rand,b64] [--keep]
//   npm run bench -- store
//
// For each data set (300 MiB from /dev/urandom: incompressible; and base64
// text of random bytes, 76-column lines, ~303 MiB: compresses only by
// entropy coding), each run does, side by side, alternating which goes first:
//   anchor:  `cat FILE | restic backup --stdin` into a fresh restic repository,
//            then the same again into that repository (repeated: all known)
//   ours:    `git rollback point` with one `command` database whose dump is
//            `cat FILE`, in a fresh git repository, then again (repeated)
// and prints the medians, the ratio ours / anchor (goal ≤ 1.00: at least
// restic's throughput), peak RSS of the git-rollback node process (goal
// ≤ 150 MiB) and of restic, the size each wrote, and the load.
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  benchEnv,
  dirBytes,
  fmtBytes,
  fmtMiB,
  fmtMs,
  git,
  loadNow,
  log,
  machine,
  mdTable,
  median,
  mustTree,
  parseArgs,
  rollbackTree,
  saveResult,
  timedTree,
  type TreeRun,
} from './lib.js';

const RESTIC = process.env.BENCH_RESTIC ?? 'restic';

/** Writes `mib` MiB of random bytes, or base64 text of random bytes (76-column lines) of about that size. */
async function makeData(file: string, kind: string, mib: number): Promise<void> {
  const out = createWriteStream(file);
  const write = (b: Buffer | string) => (out.write(b) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  if (kind === 'rand') {
    for (let i = 0; i < mib; i++) await write(randomBytes(1024 * 1024));
  } else if (kind === 'b64') {
    // 57 random bytes → one 76-character line; ~0.75 MiB of random bytes per MiB of text.
    const lines = Math.ceil((mib * 1024 * 1024) / 77);
    for (let done = 0; done < lines; ) {
      const n = Math.min(10_000, lines - done);
      const raw = randomBytes(57 * n);
      let text = '';
      for (let i = 0; i < n; i++) text += raw.toString('base64', i * 57, (i + 1) * 57) + '\n';
      await write(text);
      done += n;
    }
  } else {
    throw new Error(`unknown data ${kind}: choose rand or b64`);
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

function makeRepo(dir: string, env: NodeJS.ProcessEnv, file: string): void {
  mkdirSync(dir, { recursive: true });
  git(dir, env, ['init', '-q', '-b', 'main']);
  writeFileSync(join(dir, '.rollbackrc.yaml'), `databases:\n  blob: { engine: command, dump: "cat '${file}'", restore: "cat > /dev/null" }\n`);
  writeFileSync(join(dir, 'README.md'), '# bench\n');
  git(dir, env, ['add', '.']);
  git(dir, env, ['commit', '-q', '-m', 'bench repo']);
}

interface Pair {
  first: TreeRun;
  again: TreeRun;
  bytes: number;
  load: string;
}

async function restic(base: string, env: NodeJS.ProcessEnv, file: string, i: number): Promise<Pair> {
  const repo = join(base, `restic-${i}`);
  const renv = { ...env, RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: repo, RESTIC_CACHE_DIR: join(base, 'restic-cache') };
  execFileSync(RESTIC, ['init', '-q'], { env: renv, stdio: 'ignore' });
  const backup = `cat '${file}' | ${RESTIC} backup -q --stdin --stdin-filename dump`;
  const first = mustTree(await timedTree('sh', ['-c', backup], { cwd: base, env: renv }), 'restic backup');
  const again = mustTree(await timedTree('sh', ['-c', backup], { cwd: base, env: renv }), 'restic backup (repeated)');
  const bytes = dirBytes(repo);
  execFileSync('rm', ['-rf', repo]);
  return { first, again, bytes, load: loadNow() };
}

async function ours(base: string, env: NodeJS.ProcessEnv, file: string, i: number): Promise<Pair> {
  const repo = join(base, `git-${i}`);
  makeRepo(repo, env, file);
  const first = mustTree(await rollbackTree(['point', `first ${i}`], { cwd: repo, env }), 'git rollback point');
  const again = mustTree(await rollbackTree(['point', `again ${i}`], { cwd: repo, env }), 'git rollback point (repeated)');
  const bytes = dirBytes(join(repo, '.git', 'objects'));
  git(repo, env, ['fsck', '--no-progress', '--no-dangling']);
  execFileSync('rm', ['-rf', repo]);
  return { first, again, bytes, load: loadNow() };
}

const ms = (runs: readonly TreeRun[]) => median(runs.map((r) => r.ms));
const range = (runs: readonly TreeRun[]) => `${fmtMs(Math.min(...runs.map((r) => r.ms)))} – ${fmtMs(Math.max(...runs.map((r) => r.ms)))}`;
const peak = (runs: readonly TreeRun[], name: string) => Math.max(...runs.map((r) => r.peaks[name] ?? 0)) / 1024;
const self = (runs: readonly TreeRun[]) => Math.max(...runs.map((r) => r.selfRssKiB ?? 0)) / 1024;
const cpu = (runs: readonly TreeRun[]) => median(runs.map((r) => r.cpuMs ?? NaN));

export async function main(argv: readonly string[]): Promise<void> {
  const { flags } = parseArgs(argv);
  const runs = Number(flags.runs ?? 3);
  const mib = Number(flags.mib ?? 300);
  const datasets = (flags.data ?? 'rand,b64').split(',').filter(Boolean);
  const keep = flags.keep === 'true';
  const facts = machine();
  const { base, env, cleanup } = benchEnv('store');
  const sections: string[] = [];
  const json: unknown[] = [];
  try {
    for (const kind of datasets) {
      const file = join(base, `${kind}.bin`);
      await makeData(file, kind, mib);
      const size = statSync(file).size;
      log(`[${kind}] ${fmtBytes(size)} made; load ${loadNow()}`);
      const anchor: Pair[] = [];
      const mine: Pair[] = [];
      for (let i = 0; i < runs; i++) {
        // Alternate who goes first, so a change in load does not favour one side.
        const order = i % 2 === 0 ? ['restic', 'ours'] : ['ours', 'restic'];
        for (const who of order) {
          if (who === 'restic') {
            const r = await restic(base, env, file, i);
            anchor.push(r);
            log(`[${kind}] restic: first ${fmtMs(r.first.ms)}, repeated ${fmtMs(r.again.ms)}, repo ${fmtBytes(r.bytes)}; load ${r.load}`);
          } else {
            const r = await ours(base, env, file, i);
            mine.push(r);
            log(`[${kind}] git rollback point: first ${fmtMs(r.first.ms)}, repeated ${fmtMs(r.again.ms)}, objects ${fmtBytes(r.bytes)}, node RSS ${fmtMiB((r.first.selfRssKiB ?? 0) / 1024)}; load ${r.load}`);
          }
        }
      }
      const aFirst = anchor.map((p) => p.first);
      const aAgain = anchor.map((p) => p.again);
      const oFirst = mine.map((p) => p.first);
      const oAgain = mine.map((p) => p.again);
      const ratio = (o: readonly TreeRun[], a: readonly TreeRun[]) => ms(o) / ms(a);
      const goal = (r: number) => `≤ 1.00× ${r <= 1 ? '✓' : '✗'}`;
      const mibps = (runs: readonly TreeRun[]) => `${(size / 1024 / 1024 / (ms(runs) / 1000)).toFixed(0)} MiB/s`;
      const loads = [...anchor, ...mine].map((p) => p.load.split(' / ')[0]);
      const md = [
        `#### ${kind === 'rand' ? 'Incompressible' : 'Base64 text'}: ${fmtBytes(size)}`,
        '',
        mdTable(
          ['what', 'anchor: `cat FILE | restic backup --stdin`', 'ours: `git rollback point` (command engine `cat FILE`)', 'ratio ours / anchor', 'goal'],
          [
            ['first (empty repository)', `${fmtMs(ms(aFirst))} (${mibps(aFirst)}; ${range(aFirst)})`, `**${fmtMs(ms(oFirst))}** (${mibps(oFirst)}; ${range(oFirst)})`, `**${ratio(oFirst, aFirst).toFixed(2)}×**`, goal(ratio(oFirst, aFirst))],
            ['repeated (same bytes again)', `${fmtMs(ms(aAgain))} (${range(aAgain)})`, `**${fmtMs(ms(oAgain))}** (${range(oAgain)})`, `**${ratio(oAgain, aAgain).toFixed(2)}×**`, goal(ratio(oAgain, aAgain))],
            ['peak RSS', `restic ${fmtMiB(peak([...aFirst, ...aAgain], 'restic'))}`, `node ${fmtMiB(self([...oFirst, ...oAgain]))} (largest git child ${fmtMiB(Math.max(...Object.entries(Object.assign({}, ...[...oFirst, ...oAgain].map((r) => r.peaks))).filter(([k]) => k.startsWith('git')).map(([, v]) => v as number), 0) / 1024)})`, '', `≤ 150 MiB ${self([...oFirst, ...oAgain]) <= 150 ? '✓' : '✗'}`],
            ['CPU time, first (user + system, all processes)', fmtMs(cpu(aFirst)), fmtMs(cpu(oFirst)), `${(cpu(oFirst) / cpu(aFirst)).toFixed(2)}×`, ''],
            ['CPU time, repeated', fmtMs(cpu(aAgain)), fmtMs(cpu(oAgain)), `${(cpu(oAgain) / cpu(aAgain)).toFixed(2)}×`, ''],
            ['stored size', fmtBytes(median(anchor.map((p) => p.bytes))), fmtBytes(median(mine.map((p) => p.bytes))), '', ''],
          ],
        ),
        '',
        `Load (1-minute) after each run: ${loads.join(', ')}.`,
      ].join('\n');
      sections.push(md);
      json.push({ kind, size, anchor, mine });
    }
  } finally {
    if (keep) log(`kept ${base}`);
    else cleanup();
  }
  const md = [
    `### Store: git rollback point vs restic backup --stdin (${facts.date})`,
    '',
    `Machine: ${facts.cpus}, ${facts.memory}; node ${facts.node}; git ${facts.git}; ${firstLine(RESTIC)}; ${facts.kernel}; load at start ${facts['load (1/5/15 min) at start']}, at end ${loadNow()}; git-rollback ${facts['git-rollback commit']}.`,
    `Command: \`node --import tsx bench/store.ts --runs ${runs} --mib ${mib} --data ${datasets.join(',')}\`. Medians of ${runs} runs, alternating which side goes first.`,
    '',
    sections.join('\n\n'),
  ].join('\n');
  process.stdout.write(md + '\n');
  log(`saved ${saveResult('store', md, { facts, datasets: json })}`);
}

function firstLine(cmd: string): string {
  try {
    return execFileSync(cmd, ['version'], { encoding: 'utf8' }).split('\n')[0]?.replace(/ compiled.*/, '') ?? cmd;
  } catch {
    return `${cmd} (version unknown)`;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main(process.argv.slice(2));
}
