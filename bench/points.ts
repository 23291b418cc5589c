// Benchmark: listing many points and making one (issue 2).
//
//   npm run build && node --import tsx bench/points.ts [--n 1000,10000] [--runs 5] [--keep]
//   npm run bench -- points --n 10000
//
// For each N it creates a temp repository holding N points written directly
// with git plumbing in the DESIGN format (annotated tags with the trailer
// message that src/core/points.ts tagMessage() writes, a JSON note on each tag
// object in refs/notes/rollback, a snapshot commit with manifest.json and two
// config files on refs/rollback/snapshots/<kind>/<id>), checks it (tag, note
// and ref counts, git fsck), then times the built binary:
//   git rollback list --json   (checks it returns N entries)
//   git rollback list          (table; checks N rows)
//   git rollback point         (no config; on that repo and on a fresh one)
// with refs loose as git writes them, and again after `git pack-refs --all`.
// Wall clock from spawn to exit, peak RSS by /usr/bin/time %M; medians of --runs.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { snapshotRef, tagMessage, timestampId } from '../src/core/points.js';
import type { FileEntry, Manifest, PointKind, PointNote } from '../src/core/types.js';
import { BIN, benchEnv, fmtMiB, fmtMs, git, loadNow, log, machine, mdTable, must, parseArgs, repeat, rollback, saveResult, stats, timed, type Run, type Stats } from './lib.js';

const NAME = 'Bench User';
const EMAIL = 'bench@example.com';
const DESCRIPTIONS = [
  'AI服务集成完成',
  'Before the 0042 migration',
  '修复登录页面的错误',
  'Nightly 数据导入 — checked',
  'Release candidate "rc1" for QA',
  '支付接口切换到新网关',
  'Config: raise worker pool to 8',
  '🚀 deploy to staging',
  "Users' avatars moved to S3",
  '回滚前的状态（自动）',
];
/** list ≤ 2× the plumbing floor (issue 10), point ≤ 0.25 s. */
const GOALS = { listRatio: 2, pointMs: 250 };
const LIST_FORMAT = ['refname', 'objecttype', 'objectname', '*objectname', 'creatordate:unix', 'contents'].map((f) => `%(${f})`).join('%00') + '%00';

interface Generated {
  dir: string;
  n: number;
  tags: number;
  notes: number;
  snapshots: number;
  genMs: number;
  objectsKiB: number;
}

/** Feeds a fast-import stream (objects kept in one pack) and returns mark → object id. */
function fastImport(dir: string, env: NodeJS.ProcessEnv, stream: Buffer[], marksFile: string): Map<number, string> {
  const r = spawnSync('git', ['-c', 'fastimport.unpackLimit=0', 'fast-import', '--quiet', `--export-marks=${marksFile}`], {
    cwd: dir,
    env,
    input: Buffer.concat(stream),
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`git fast-import exited with ${r.status}: ${r.stderr.toString().slice(0, 2000)}`);
  const marks = new Map<number, string>();
  for (const l of readFileSync(marksFile, 'utf8').split('\n')) {
    const m = /^:(\d+) ([0-9a-f]{40,64})$/.exec(l);
    if (m) marks.set(Number(m[1]), m[2] as string);
  }
  return marks;
}

const data = (s: string | Buffer): Buffer => {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from(`data ${b.length}\n`), b, Buffer.from('\n')]);
};
const line = (s: string): Buffer => Buffer.from(s + '\n', 'utf8');
const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A repository with `n` points in the DESIGN format, written with git plumbing. */
export function generate(base: string, env: NodeJS.ProcessEnv, n: number): Generated {
  const t0 = performance.now();
  const dir = join(base, `repo-${n}`);
  mkdirSync(dir);
  git(dir, env, ['init', '-q', '-b', 'main']);
  const marksDir = join(base, `marks-${n}`);
  mkdirSync(marksDir);

  // 1. Code history: one commit per 20 points, so points tag different commits.
  const commits = Math.max(1, Math.ceil(n / 20));
  const start = Math.floor(Date.now() / 1000) - n * 600 - 3600;
  const code: Buffer[] = [];
  for (let c = 0; c < commits; c++) {
    const ts = start + c * 20 * 600;
    code.push(line('commit refs/heads/main'), line(`mark :${c + 1}`));
    code.push(line(`author ${NAME} <${EMAIL}> ${ts} +0000`), line(`committer ${NAME} <${EMAIL}> ${ts} +0000`));
    code.push(data(`Change ${c + 1}\n`));
    if (c > 0) code.push(line(`from :${c}`));
    code.push(line('M 100644 inline app.txt'), data(`version ${c + 1}\n`), line(''));
  }
  const codeMarks = fastImport(dir, env, code, join(marksDir, 'code'));
  git(dir, env, ['checkout', '-q', '-f', 'main']);

  // 2. Config files the snapshots hold (two versions of .env; content-addressed).
  const envFiles = [Buffer.from('DATABASE_URL=postgres://app@127.0.0.1/app\nSECRET=one\n'), Buffer.from('DATABASE_URL=postgres://app@127.0.0.1/app\nSECRET=two\n')];
  const appYml = Buffer.from('workers: 4\nlog: info\n');
  const hashObj = (b: Buffer) => git(dir, env, ['hash-object', '-w', '--stdin'], b);
  const envBlobs = envFiles.map(hashObj);
  const ymlBlob = hashObj(appYml);

  interface P {
    kind: PointKind;
    id: string;
    tag: string;
    ts: number;
    commit: string;
    description: string;
    config: FileEntry[];
    snapshot?: string;
    tagObject?: string;
  }
  const points: P[] = [];
  const taken = new Set<string>();
  let release = 0;
  for (let i = 0; i < n; i++) {
    // Every 97th point shares the second of the one before: its id gets "-2".
    const ts = start + 3600 + (i % 97 === 96 ? i - 1 : i) * 600;
    const kind: PointKind = i % 50 === 49 ? 'release' : i % 10 === 9 ? 'backup' : 'point';
    let id = kind === 'release' ? `${Math.floor(release / 100)}.${release++ % 100}.0` : timestampId(new Date(ts * 1000));
    if (taken.has(`${kind}/${id}`)) id = `${id}-2`;
    taken.add(`${kind}/${id}`);
    const prefix = { point: 'rollback/', release: 'release/v', backup: 'backup/', deploy: 'deploy/' }[kind];
    const commit = codeMarks.get(Math.min(commits, Math.floor(i / 20) + 1)) as string;
    const envIdx = i % 2;
    const config: FileEntry[] = [
      { path: '.env', mode: '100600', size: (envFiles[envIdx] as Buffer).length, sha256: sha256(envFiles[envIdx] as Buffer), blob: envBlobs[envIdx] as string },
      { path: 'config/app.yml', mode: '100644', size: appYml.length, sha256: sha256(appYml), blob: ymlBlob },
    ];
    const description = kind === 'backup' ? `Before rollback to rollback/${points[i - 1]?.id ?? ''}` : `${DESCRIPTIONS[i % DESCRIPTIONS.length] as string} #${i + 1}`;
    points.push({ kind, id, tag: `${prefix}${id}`, ts, commit, description, config });
  }

  // 3. Snapshot commits: manifest.json + config/<path>, first parent the code commit.
  const snap: Buffer[] = [];
  points.forEach((p, i) => {
    const iso = new Date(p.ts * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const manifest: Manifest = {
      schema: 1,
      id: p.id,
      kind: p.kind,
      createdAt: iso,
      commit: p.commit,
      branch: 'main',
      config: p.config,
      paths: [],
      databases: [],
      captures: [],
      worktree: null,
      patterns: { config: ['.env', 'config/*.yml'], paths: [] },
    };
    snap.push(line(`commit ${snapshotRef(p.kind, p.id)}`), line(`mark :${i + 1}`));
    snap.push(line(`author ${NAME} <${EMAIL}> ${p.ts} +0000`), line(`committer ${NAME} <${EMAIL}> ${p.ts} +0000`));
    snap.push(data(`git-rollback snapshot ${p.kind}/${p.id}\n`), line(`from ${p.commit}`), line('deleteall'));
    snap.push(line('M 100644 inline manifest.json'), data(JSON.stringify(manifest, null, 2) + '\n'));
    for (const f of p.config) snap.push(line(`M ${f.mode === '100755' ? '100755' : '100644'} ${f.blob} config/${f.path}`));
    snap.push(line(''));
  });
  const snapMarks = fastImport(dir, env, snap, join(marksDir, 'snapshots'));
  points.forEach((p, i) => (p.snapshot = snapMarks.get(i + 1) as string));

  // 4. Annotated tags with the message PointStore.create() writes.
  const size = (p: P) => p.config.reduce((s, f) => s + f.size, 0);
  const tags: Buffer[] = [];
  points.forEach((p, i) => {
    const message = tagMessage(p.description, {
      Id: p.id,
      Kind: p.kind,
      Branch: 'main',
      Dirty: null,
      Snapshot: p.snapshot ?? null,
      Summary: `config=${p.config.length} paths=0 databases=0 size=${size(p)}`,
      Version: p.kind === 'release' ? p.id : null,
    });
    tags.push(line(`tag ${p.tag}`), line(`mark :${i + 1}`), line(`from ${p.commit}`), line(`tagger ${NAME} <${EMAIL}> ${p.ts} +0000`), data(message));
  });
  const tagMarks = fastImport(dir, env, tags, join(marksDir, 'tags'));
  points.forEach((p, i) => (p.tagObject = tagMarks.get(i + 1) as string));

  // 5. Notes: one commit on refs/notes/rollback with every note (flat), then one
  // `git notes add -f` (what PointStore.writeNote runs), which rewrites the
  // notes tree with git's own fan-out.
  const noteOf = (p: P): string => {
    const note: PointNote = {
      schema: 1,
      id: p.id,
      kind: p.kind,
      description: p.description,
      createdAt: new Date(p.ts * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      createdBy: { name: NAME, email: EMAIL, host: hostname() },
      commit: p.commit,
      branch: 'main',
      dirty: false,
      snapshot: {
        commit: p.snapshot as string,
        ref: snapshotRef(p.kind, p.id),
        config: p.config,
        paths: [],
        databases: [],
        captures: [],
        worktree: null,
        size: size(p),
      },
      protected: p.kind === 'release',
      release: p.kind === 'release' ? { version: p.id, previous: null, change: null } : null,
    };
    return JSON.stringify(note, null, 2) + '\n';
  };
  const last = points[points.length - 1] as P;
  const notes: Buffer[] = [line('commit refs/notes/rollback'), line(`author ${NAME} <${EMAIL}> ${last.ts} +0000`), line(`committer ${NAME} <${EMAIL}> ${last.ts} +0000`), data('Notes added by bench/points.ts\n')];
  for (const p of points) notes.push(line(`M 100644 inline ${p.tagObject as string}`), data(noteOf(p)));
  notes.push(line(''));
  fastImport(dir, env, notes, join(marksDir, 'notes'));
  git(dir, env, ['notes', '--ref=refs/notes/rollback', 'add', '-f', '-F', '-', last.tagObject as string], noteOf(last));
  const genMs = performance.now() - t0;

  // 6. Check what was made.
  const count = (args: string[]) => git(dir, env, args).split('\n').filter(Boolean).length;
  const tagCount = count(['for-each-ref', '--format=%(objecttype)', 'refs/tags/rollback/', 'refs/tags/backup/', 'refs/tags/release/']);
  const noteCount = count(['notes', '--ref=refs/notes/rollback', 'list']);
  const snapCount = count(['for-each-ref', '--format=%(refname)', 'refs/rollback/snapshots/']);
  if (tagCount !== n || noteCount !== n || snapCount !== n) throw new Error(`generated ${tagCount} tags, ${noteCount} notes, ${snapCount} snapshot refs; expected ${n} of each`);
  git(dir, env, ['fsck', '--no-progress', '--no-dangling', '--strict']);
  const one = git(dir, env, ['notes', '--ref=refs/notes/rollback', 'show', `refs/tags/${points[0]?.tag ?? ''}`]);
  if ((JSON.parse(one) as PointNote).id !== points[0]?.id) throw new Error('note of the first point does not match');
  const objectsKiB = Number(/size-pack: (\d+)/.exec(git(dir, env, ['count-objects', '-v']))?.[1] ?? 0);
  return { dir, n, tags: tagCount, notes: noteCount, snapshots: snapCount, genMs, objectsKiB };
}

interface Row {
  n: number;
  refs: 'loose' | 'packed';
  what: string;
  command: string;
  s: Stats;
  goalMs: number | null;
  /** Median of the plumbing floor measured in the same rounds (list rows). */
  floorMs?: number;
}

/**
 * The plumbing floor of `list`: what git alone takes to hand over everything
 * list shows, `for-each-ref` with list's format over the point tags, then
 * `cat-file --batch` of every note blob (ids prepared beforehand, not timed).
 */
function floorCommand(dir: string, env: NodeJS.ProcessEnv): { cmd: string; args: string[] } {
  const ids = join(dir, '..', `note-ids-${Date.now()}`);
  const index = git(dir, env, ['ls-tree', '-r', 'refs/notes/rollback']);
  writeFileSync(ids, index.split('\n').map((l) => l.split(/\s+/)[2]).filter(Boolean).join('\n') + '\n');
  const patterns = "refs/tags/rollback/ 'refs/tags/release/v*' refs/tags/backup/ refs/tags/deploy/";
  return { cmd: 'sh', args: ['-c', `git for-each-ref --format='${LIST_FORMAT}' ${patterns} > /dev/null && git cat-file --batch --buffer < '${ids}' > /dev/null`] };
}

/** Runs the commands in turn, round after round (one unmeasured round first), so load changes hit all alike. */
function interleaved(runs: number, cmds: { label: string; fn: () => Run; check: (r: Run) => void }[]): Stats[] {
  const all: Run[][] = cmds.map(() => []);
  for (let i = -1; i < runs; i++) {
    cmds.forEach((c, k) => {
      const r = must(c.fn(), c.label);
      c.check(r);
      if (i >= 0) all[k]!.push(r);
    });
  }
  return all.map((runsOf, k) => {
    const s = stats(runsOf);
    log(`${cmds[k]!.label}: median ${fmtMs(s.medianMs)} (min ${fmtMs(s.minMs)}, max ${fmtMs(s.maxMs)}), peak RSS ${fmtMiB(s.maxRssMiB)}; load ${loadNow()}`);
    return s;
  });
}

function measure(label: string, runs: number, fn: () => Run, check: (r: Run) => void): Stats {
  const all = repeat(runs, () => {
    const r = must(fn(), label);
    check(r);
    return r;
  });
  const s = stats(all);
  log(`${label}: median ${fmtMs(s.medianMs)} (min ${fmtMs(s.minMs)}, max ${fmtMs(s.maxMs)}), peak RSS ${fmtMiB(s.maxRssMiB)}; load ${loadNow()}`);
  return s;
}

export async function main(argv: readonly string[]): Promise<void> {
  const { flags } = parseArgs(argv);
  const sizes = (flags.n ?? '1000,10000').split(',').map(Number).filter((x) => x > 0);
  const runs = Number(flags.runs ?? 5);
  const keep = flags.keep === 'true';
  const facts = machine();
  log(`binary ${BIN}; sizes ${sizes.join(', ')}; ${runs} runs each (+1 warm-up)`);
  const { base, env, cleanup } = benchEnv('points');
  const rows: Row[] = [];
  const generated: Generated[] = [];
  try {
    for (const n of sizes) {
      log(`generating ${n} points…`);
      const g = generate(base, env, n);
      generated.push(g);
      log(`generated ${n} points in ${fmtMs(g.genMs)} (pack ${g.objectsKiB} KiB); fsck clean`);
      for (const refs of ['loose', 'packed'] as const) {
        if (refs === 'packed') git(g.dir, env, ['pack-refs', '--all']);
        const floor = floorCommand(g.dir, env);
        const [floorS, listJson, listTable] = interleaved(runs, [
          { label: `n=${n} ${refs} plumbing floor`, fn: () => timed(floor.cmd, floor.args, { cwd: g.dir, env }), check: () => undefined },
          {
            label: `n=${n} ${refs} list --json`,
            fn: () => rollback(['list', '--json'], { cwd: g.dir, env }),
            check: (r) => {
              const got = (JSON.parse(r.stdout.toString('utf8')) as unknown[]).length;
              if (got !== n) throw new Error(`list --json returned ${got} entries, expected ${n}`);
            },
          },
          {
            label: `n=${n} ${refs} list`,
            fn: () => rollback(['list'], { cwd: g.dir, env }),
            check: (r) => {
              // One row per point; automatic backups folded into one "+ N automatic backups" line.
              const text = r.stdout.toString('utf8');
              const rows = text.split('\n').filter((l) => /^\S?\s+(rollback|release|backup)\//.test(l)).length;
              const folded = Number(/^\+ (\d+) /m.exec(text)?.[1] ?? 0);
              if (rows + folded !== n) throw new Error(`list printed ${rows} rows and folded ${folded} backups, expected ${n} points`);
            },
          },
        ]) as [Stats, Stats, Stats];
        rows.push({ n, refs, what: 'plumbing floor', command: '`git for-each-ref` (list\'s format) + `git cat-file --batch` of every note', s: floorS, goalMs: null });
        rows.push({ n, refs, what: 'list --json', command: 'git rollback list --json', s: listJson, goalMs: null, floorMs: floorS.medianMs });
        rows.push({ n, refs, what: 'list (table)', command: 'git rollback list', s: listTable, goalMs: null, floorMs: floorS.medianMs });
      }
      // Points last: each run adds one (ids are per second; a collision gets -2, -3…).
      const point = measure(`n=${n} point`, runs, () => rollback(['point', 'bench point 基准'], { cwd: g.dir, env }), () => undefined);
      rows.push({ n, refs: 'packed', what: `point (repo with ${n} points)`, command: 'git rollback point "bench point 基准"', s: point, goalMs: GOALS.pointMs });
      git(g.dir, env, ['fsck', '--no-progress', '--no-dangling']);
    }
    // A fresh repository: one commit, no points, no config.
    const fresh = join(base, 'fresh');
    mkdirSync(fresh);
    git(fresh, env, ['init', '-q', '-b', 'main']);
    writeFileSync(join(fresh, 'README.md'), '# app\n');
    git(fresh, env, ['add', 'README.md']);
    git(fresh, env, ['commit', '-q', '-m', 'first commit']);
    const freshPoint = measure('fresh point', runs, () => rollback(['point', 'AI服务集成完成'], { cwd: fresh, env }), () => undefined);
    rows.push({ n: 0, refs: 'loose', what: 'point (fresh repo)', command: 'git rollback point "AI服务集成完成"', s: freshPoint, goalMs: GOALS.pointMs });
    git(fresh, env, ['fsck', '--no-progress', '--no-dangling']);
  } finally {
    if (keep) log(`kept ${base}`);
    else cleanup();
  }

  const table = mdTable(
    ['points', 'refs', 'command', 'median wall', 'min – max', 'ratio to floor', 'peak RSS', 'goal'],
    rows.map((r) => {
      const ratio = r.floorMs ? r.s.medianMs / r.floorMs : null;
      const goal =
        ratio !== null
          ? `≤ ${GOALS.listRatio}× floor ${ratio <= GOALS.listRatio ? '✓' : '✗'}`
          : r.goalMs === null
            ? ''
            : `≤ ${fmtMs(r.goalMs)} ${r.s.medianMs <= r.goalMs ? '✓' : '✗'}`;
      return [
        r.n ? r.n.toLocaleString('en-US') : '0 (fresh)',
        r.refs,
        r.command.startsWith('`') ? r.command : `\`${r.command}\``,
        `**${fmtMs(r.s.medianMs)}**`,
        `${fmtMs(r.s.minMs)} – ${fmtMs(r.s.maxMs)}`,
        ratio !== null ? `**${ratio.toFixed(2)}×**` : r.what === 'plumbing floor' ? '1.00×' : '',
        fmtMiB(r.s.maxRssMiB),
        goal,
      ];
    }),
  );
  const gen = mdTable(
    ['points', 'generated in', 'pack size', 'tags / notes / snapshot refs', 'git fsck'],
    generated.map((g) => [g.n.toLocaleString('en-US'), fmtMs(g.genMs), `${(g.objectsKiB / 1024).toFixed(1)} MiB`, `${g.tags} / ${g.notes} / ${g.snapshots}`, 'clean']),
  );
  const md = [
    `### Points: list and point (${facts.date})`,
    '',
    `Machine: ${facts.cpus}, ${facts.memory}; node ${facts.node}; git ${facts.git}; ${facts.kernel}; load at start ${facts['load (1/5/15 min) at start']}, at end ${loadNow()}; git-rollback ${facts['git-rollback commit']}.`,
    `Command: \`node --import tsx bench/points.ts --n ${sizes.join(',')} --runs ${runs}\`. Medians of ${runs} runs after one warm-up, the floor and both lists taking turns in each round; wall clock from spawn to exit; peak RSS = largest of the runs (GNU time %M).`,
    '',
    table,
    '',
    gen,
  ].join('\n');
  process.stdout.write(md + '\n');
  const file = saveResult('points', md, { facts, rows, generated: generated.map(({ dir: _d, ...g }) => g) });
  log(`saved ${file}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main(process.argv.slice(2));
}
