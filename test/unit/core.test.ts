// Unit tests for the pure core: ids, tag messages, resolution, selection, plans, retention, durations (config: config.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { age, parseDuration, parseSince } from '../../src/core/duration.js';
import { NotFoundError, UsageError } from '../../src/core/errors.js';
import { buildPlan, parseSelection, renderPlan } from '../../src/core/plan.js';
import { parseTagMessage, parseTagName, resolvePoint, tagMessage, timestampId, uniqueId, validateId } from '../../src/core/points.js';
import { decidePrune } from '../../src/core/retention.js';
import { nearest } from '../../src/core/text.js';
import type { Point, PointKind } from '../../src/core/types.js';

const prefixes = { point: 'rollback/', release: 'release/v', backup: 'backup/', deploy: 'deploy/' };

function point(kind: PointKind, id: string, minutesAgo: number, extra: Partial<Point> = {}): Point {
  return {
    kind,
    id,
    tag: `${prefixes[kind]}${id}`,
    tagObject: `t-${kind}-${id}`,
    commit: `c-${id}`.padEnd(40, '0'),
    createdAt: new Date(Date.UTC(2026, 0, 10) - minutesAgo * 60_000),
    description: '',
    trailers: {},
    note: null,
    ...extra,
  };
}

describe('ids and tag messages', () => {
  it('timestamp ids are UTC and unique with -2, -3', () => {
    assert.equal(timestampId(new Date(Date.UTC(2025, 8, 6, 5, 10, 58))), '20250906-051058');
    assert.equal(uniqueId('a', new Set(['a', 'a-2'])), 'a-3');
    assert.equal(uniqueId('a', new Set()), 'a');
  });
  it('validates --name', () => {
    validateId('pre-m42');
    for (const bad of ['', 'a b', '../x', 'x.lock', '-x', 'a..b', '中文']) assert.throws(() => validateId(bad), UsageError, bad);
  });
  it('round-trips description and trailers, CJK included', () => {
    const msg = tagMessage('AI服务集成完成\n\nsecond paragraph', { Id: 'x', Kind: 'point', Branch: null, Summary: 'config=1' });
    const parsed = parseTagMessage(msg);
    assert.equal(parsed.description, 'AI服务集成完成\n\nsecond paragraph');
    assert.deepEqual(parsed.trailers, { id: 'x', kind: 'point', summary: 'config=1' });
    assert.deepEqual(parseTagMessage('just text\n'), { description: 'just text', trailers: {} });
  });
  it('parses tag names by the longest prefix', () => {
    assert.deepEqual(parseTagName(prefixes, 'release/v0.8.1'), { kind: 'release', id: '0.8.1' });
    assert.deepEqual(parseTagName({ ...prefixes, release: 'v' }, 'v1.2.3'), { kind: 'release', id: '1.2.3' });
    assert.equal(parseTagName(prefixes, 'other/x'), null);
  });
});

describe('resolvePoint', () => {
  const points = [
    point('point', '20250906-131058', 30, { description: 'AI服务集成完成' }),
    point('release', '0.8.1', 20),
    point('release', '0.8.2', 10),
    point('backup', '20250906-140000', 5),
  ];
  const ctx = { points, prefixes, commitOf: async (r: string) => (r === 'HEAD~3' ? points[0]!.commit : null) };
  it('by tag, id, version, latest, previous-release, commit', async () => {
    assert.equal((await resolvePoint('rollback/20250906-131058', ctx)).id, '20250906-131058');
    assert.equal((await resolvePoint('20250906-131058', ctx)).kind, 'point');
    for (const v of ['release/v0.8.1', 'v0.8.1', '0.8.1']) assert.equal((await resolvePoint(v, ctx)).id, '0.8.1');
    assert.equal((await resolvePoint('latest', ctx)).id, '0.8.2', 'latest skips backups');
    assert.equal((await resolvePoint('previous-release', ctx)).id, '0.8.1');
    assert.equal((await resolvePoint('release~1', ctx)).id, '0.8.1');
    assert.equal((await resolvePoint('latest-backup', ctx)).kind, 'backup');
    assert.equal((await resolvePoint('HEAD~3', ctx)).id, '20250906-131058');
  });
  it('unknown points name close matches', async () => {
    await assert.rejects(resolvePoint('20250906-13105', ctx), (e: Error) => e instanceof NotFoundError && /did you mean rollback\/20250906-131058/.test(e.message));
    await assert.rejects(resolvePoint('release~5', ctx), NotFoundError);
    await assert.rejects(resolvePoint('latest', { ...ctx, points: [] }), NotFoundError);
  });
  it('nearest prefers substrings, then small edits', () => {
    assert.deepEqual(nearest('deploy', ['before-deploy', 'zzz', 'deplyo']), ['before-deploy', 'deplyo']);
  });
});

describe('selection', () => {
  it('--only and --skip over code, config, paths, db, db:<name>', () => {
    const all = parseSelection(undefined, undefined, ['main', 'cache']);
    assert.deepEqual([all.code, all.config, all.paths, [...all.databases]], [true, true, true, ['main', 'cache']]);
    const only = parseSelection(['config,db:main'], undefined, ['main', 'cache']);
    assert.deepEqual([only.code, only.config, only.paths, [...only.databases]], [false, true, false, ['main']]);
    const skip = parseSelection(undefined, ['db', 'code'], ['main']);
    assert.deepEqual([skip.code, skip.config, [...skip.databases]], [false, true, []]);
    assert.throws(() => parseSelection(['db:nope'], undefined, ['main']), /no database named "nope"/);
    assert.throws(() => parseSelection(['cod'], undefined, []), /unknown part/);
  });
});

describe('buildPlan', () => {
  it('orders backup before any change and shows database strategy and downtime', () => {
    const target = point('point', 'p', 1, {
      note: {
        schema: 1, id: 'p', kind: 'point', description: '', createdAt: '', createdBy: { name: '', email: '', host: '' }, commit: 'c', branch: 'main', dirty: false, protected: false, release: null,
        snapshot: {
          commit: 's', ref: 'r', paths: [], captures: [], worktree: null, size: 10,
          config: [{ path: '.env', mode: '100600', size: 10, sha256: 'x', blob: 'b' }],
          databases: [{ name: 'main', engine: 'postgres', format: 'pg_dump-custom', path: 'db/main.pgdump', size: 2048, sha256: 'y', tool: 'pg_dump 15', ms: 1 }],
        },
      },
    });
    const plan = buildPlan({
      target, snapshot: target.note!.snapshot, backupTag: 'backup/b', mode: 'checkout', selection: parseSelection(undefined, undefined, ['main']),
      current: { commit: 'd'.repeat(40), branch: 'main', dirtyFiles: 2 }, config: [{ path: '.env', state: 'changed' }], paths: [],
      extra: { config: ['.env.local'], paths: [] }, removeExtra: true,
      databases: [{ entry: target.note!.snapshot!.databases[0]!, strategy: 'temp + rename swap', downtime: '~1 s', where: 'postgres://app@h/db', parks: true, parked: 'db_rollback_b' }],
      hooks: { beforeRollback: 'stop', afterRollback: null }, health: null, commitsUndone: 3,
    });
    // Nothing live changes before every dump is loaded and every file staged;
    // the database backup is stored from the parked copy after the swap.
    assert.deepEqual(plan.steps.map((s) => s.id), [
      'verify', 'capture', 'stage-files', 'stage:main', 'hook:beforeRollback', 'code', 'files', 'remove-extra', 'swap:main', 'backup:main', 'finish', 'cleanup',
    ]);
    const text = renderPlan(plan).join('\n');
    assert.match(text, /3 commits undone/);
    assert.match(text, /2 uncommitted files/);
    assert.match(text, /strategy: temp \+ rename swap/);
    assert.match(text, /downtime: ~1 s/);
    assert.match(text, /- \.env\.local/);
  });
});

describe('retention', () => {
  const now = new Date(Date.UTC(2026, 0, 10));
  const pts = [
    point('point', 'a', 60 * 24 * 10, { note: { protected: true } as never }),
    point('point', 'b', 60 * 24 * 9),
    point('point', 'c', 60),
    point('release', '1.0.0', 60 * 24 * 30),
    point('backup', 'x', 60 * 24 * 20),
    point('backup', 'y', 60 * 24 * 19),
  ];
  it('keeps protected, releases, newest N, within, and the undo backup', () => {
    const d = decidePrune(pts, { keepLast: 1, keepWithin: '2d', keepReleases: true }, now, 'backup/x');
    const removed = d.filter((x) => !x.keep).map((x) => x.point.tag);
    assert.deepEqual(removed, ['rollback/b']);
    assert.equal(d.find((x) => x.point.tag === 'backup/x')?.reason, 'the backup `undo` returns to');
  });
  it('removes nothing without a rule', () => {
    assert.equal(decidePrune(pts, { keepLast: null, keepWithin: null, keepReleases: true }, now, null).filter((x) => !x.keep).length, 0);
  });
  it('prunes releases only when keepReleases is off', () => {
    const d = decidePrune(pts, { keepLast: 0, keepWithin: null, keepReleases: false }, now, null);
    assert.ok(d.some((x) => x.point.kind === 'release' && !x.keep));
  });
});

describe('durations', () => {
  it('parses and formats', () => {
    assert.equal(parseDuration('7d'), 7 * 86_400_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('soon'), null);
    const now = new Date('2026-01-10T00:00:00Z');
    assert.equal(parseSince('1d', now)?.toISOString(), '2026-01-09T00:00:00.000Z');
    assert.equal(parseSince('2026-01-01', now)?.toISOString(), '2026-01-01T00:00:00.000Z');
    assert.equal(age(new Date(now.getTime() - 3 * 86_400_000), now), '3 days ago');
    assert.equal(age(now, now), 'just now');
  });
});
