// Versions, refusals, change types and release notes (src/core/release.ts), and
// the pure diff and report helpers the history views use.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffFiles, diffKeys, diffTables, lineDiff, parseDescribe, describePosition, parseEnv, formatKeys } from '../../src/core/diff.js';
import { ConflictError, UsageError } from '../../src/core/errors.js';
import { nextVersion, parseCommit, releaseNotes, usesConventionalCommits } from '../../src/core/release.js';
import { incidentReport } from '../../src/core/report.js';

const existing = ['0.8.0', '0.8.1', '0.7.4'];

describe('nextVersion', () => {
  it('bumps the highest existing release', () => {
    assert.deepEqual(nextVersion({ spec: 'patch', existing }), { version: '0.8.2', previous: '0.8.1', change: 'patch', lowerThan: null });
    assert.equal(nextVersion({ spec: 'minor', existing }).version, '0.9.0');
    assert.equal(nextVersion({ spec: 'major', existing }).version, '1.0.0');
    assert.equal(nextVersion({ spec: 'major', existing }).change, 'major');
  });

  it('makes prereleases with --preid, and counts them up', () => {
    const beta = nextVersion({ spec: 'prerelease', existing, preid: 'beta' });
    assert.equal(beta.version, '0.8.2-beta.0');
    assert.equal(beta.change, 'prepatch');
    assert.equal(nextVersion({ spec: 'prerelease', existing: [...existing, '0.8.2-beta.0'], preid: 'beta' }).version, '0.8.2-beta.1');
    assert.equal(nextVersion({ spec: 'preminor', existing, preid: 'rc' }).version, '0.9.0-rc.0');
    assert.equal(nextVersion({ spec: 'patch', existing: [...existing, '0.8.2-beta.1'] }).version, '0.8.2');
  });

  it('counts the first release from 0.0.0', () => {
    assert.deepEqual(nextVersion({ spec: 'minor', existing: [] }), { version: '0.1.0', previous: null, change: 'initial', lowerThan: null });
    assert.equal(nextVersion({ spec: 'major', existing: [] }).version, '1.0.0');
    assert.equal(nextVersion({ spec: 'patch', existing: [] }).version, '0.0.1');
    assert.equal(nextVersion({ spec: 'prerelease', existing: [], preid: 'rc' }).version, '0.0.1-rc.0');
  });

  it('takes explicit versions, with or without v', () => {
    assert.deepEqual(nextVersion({ spec: 'v0.9.0', existing }), { version: '0.9.0', previous: '0.8.1', change: 'minor', lowerThan: null });
    assert.equal(nextVersion({ spec: '1.0.0-rc.1', existing }).change, 'premajor');
  });

  it('refuses a version that exists', () => {
    assert.throws(() => nextVersion({ spec: '0.8.1', existing }), (e: Error) => e instanceof ConflictError && /release 0\.8\.1 already exists/.test(e.message));
    assert.throws(() => nextVersion({ spec: 'v0.8.0', existing }), ConflictError);
  });

  it('refuses a lower version unless allowed, then follows the release below it', () => {
    assert.throws(() => nextVersion({ spec: '0.7.5', existing }), (e: Error) => e instanceof ConflictError && /0\.7\.5 is lower than the latest release 0\.8\.1/.test(e.message));
    assert.deepEqual(nextVersion({ spec: '0.7.5', existing, allowLower: true }), { version: '0.7.5', previous: '0.7.4', change: 'patch', lowerThan: '0.8.1' });
    assert.throws(() => nextVersion({ spec: '0.8.1-beta.0', existing }), ConflictError);
  });

  it('refuses invalid strings, build metadata and misplaced --preid', () => {
    for (const bad of ['1.2', 'latest', 'v', '', '1.2.3.4', 'x1.2.3']) {
      assert.throws(() => nextVersion({ spec: bad, existing }), (e: Error) => e instanceof UsageError && /invalid version/.test(e.message), bad);
    }
    assert.throws(() => nextVersion({ spec: '1.0.0+build.5', existing }), /build metadata/);
    assert.throws(() => nextVersion({ spec: 'major', existing, preid: 'beta' }), /--preid goes with prerelease/);
    assert.throws(() => nextVersion({ spec: '1.0.0', existing, preid: 'beta' }), /--preid goes with a bump keyword/);
    assert.throws(() => nextVersion({ spec: 'prerelease', existing, preid: 'bad id' }), /invalid --preid/);
  });
});

describe('release notes', () => {
  const c = (hash: string, subject: string, body = '') => ({ hash, subject, body });

  it('parses Conventional Commits, including ! and BREAKING CHANGE', () => {
    assert.deepEqual(
      (({ type, scope, breaking, text }) => ({ type, scope, breaking, text }))(parseCommit(c('a', 'feat(api)!: 新接口'))),
      { type: 'feat', scope: 'api', breaking: true, text: '新接口' },
    );
    assert.equal(parseCommit(c('a', 'fix: x', 'details\n\nBREAKING CHANGE: y')).breaking, true);
    assert.equal(parseCommit(c('a', 'Merge branch x')).type, null);
  });

  it('groups by type, breaking changes first, when most subjects follow the convention', () => {
    const notes = releaseNotes({
      version: '0.9.0',
      previous: '0.8.1',
      change: 'minor',
      commits: [c('1111111aaa', 'feat(orders): 优惠券'), c('2222222bbb', 'fix: 支付接口超时'), c('3333333ccc', 'feat!: drop v1'), c('4444444ddd', 'update readme'), c('5555555eee', 'perf: cache')],
    });
    assert.equal(
      notes,
      [
        'Release 0.9.0 (minor after 0.8.1)',
        '',
        '## Breaking changes',
        '- feat!: drop v1 (3333333)',
        '',
        '## Features',
        '- orders: 优惠券 (1111111)',
        '',
        '## Bug fixes',
        '- 支付接口超时 (2222222)',
        '',
        '## Performance',
        '- cache (5555555)',
        '',
        '## Other changes',
        '- update readme (4444444)',
      ].join('\n'),
    );
  });

  it('lists subjects plainly otherwise, and says how many were left out', () => {
    const commits = [c('aaaaaaa1', '修复登录'), c('bbbbbbb2', 'Add search'), c('ccccccc3', 'fix: one')];
    assert.equal(usesConventionalCommits(commits.map(parseCommit)), false);
    const notes = releaseNotes({ version: '0.1.0', previous: null, change: 'initial', commits, total: 5 });
    assert.equal(notes, ['Release 0.1.0 (first release)', '', '## Changes', '- 修复登录 (aaaaaaa)', '- Add search (bbbbbbb)', '- fix: one (ccccccc)', '', '… and 2 more commits.'].join('\n'));
  });

  it('says so when there are no commits', () => {
    assert.equal(releaseNotes({ version: '0.8.2', previous: '0.8.1', change: 'patch', commits: [] }), 'Release 0.8.2 (patch after 0.8.1)\n\nNo commits since 0.8.1.');
  });
});

describe('diff helpers', () => {
  const f = (path: string, sha256: string, size = 1, mode = '100644') => ({ path, sha256, size, mode });

  it('diffs files by checksum and mode', () => {
    const d = diffFiles([f('.env', 'a'), f('old.yml', 'b'), f('same', 'c'), f('key', 'd', 1, '100600')], [f('.env', 'x', 2), f('new.yml', 'y'), f('same', 'c'), f('key', 'd', 1, '100644')]);
    assert.deepEqual(d.added.map((x) => x.path), ['new.yml']);
    assert.deepEqual(d.removed.map((x) => x.path), ['old.yml']);
    assert.deepEqual(d.changed.map((x) => [x.path, x.modeOnly]), [['.env', false], ['key', true]]);
    assert.equal(d.same, 1);
  });

  it('parses .env-style files and reports changed keys without values', () => {
    const a = parseEnv('# comment\nAPI_KEY=one\nexport DB_URL="postgres://u:p@h/db"\nOLD=1\nMULTI="line1\nline2"\n');
    const b = parseEnv('API_KEY=two\nDB_URL="postgres://u:p@h/db"\nNEW: 3\nMULTI="line1\nline2"\n');
    assert.ok(a && b);
    const k = diffKeys(a, b);
    assert.deepEqual(k, { added: ['NEW'], removed: ['OLD'], changed: ['API_KEY'] });
    assert.equal(formatKeys(k), 'keys +NEW ~API_KEY -OLD');
    assert.ok(!formatKeys(k).includes('two'));
    assert.equal(parseEnv('{"json": true}\n'), null);
    assert.equal(parseEnv('server:\n  port: 80\n'), null);
  });

  it('diffs tables and lines', () => {
    assert.deepEqual(diffTables(new Map([['users', 3], ['old', 1]]), new Map([['users', 4], ['coupons', 1]])), { added: ['coupons'], removed: ['old'], rows: [{ table: 'users', from: 3, to: 4 }] });
    assert.deepEqual(lineDiff('a\nb\nc\n', 'a\nc\nd\n'), ['- b', '+ d']);
  });

  it('reads git describe output', () => {
    assert.deepEqual(parseDescribe('release/v0.8.2-3-gabc123def456'), { tag: 'release/v0.8.2', ahead: 3 });
    assert.equal(describePosition(parseDescribe('release/v0.8.2-3-gabc123def456')), 'release/v0.8.2 + 3 commits');
    assert.equal(describePosition({ tag: 'rollback/a-1', ahead: 0 }), 'rollback/a-1 (exactly)');
  });
});

describe('incident report', () => {
  it('fills in the facts and leaves root cause and follow-ups empty', () => {
    const md = incidentReport({
      event: {
        id: 'ea9b8bdd73f7aaaa',
        type: 'rollback',
        time: '2025-09-06T05:11:02.000Z',
        user: { name: '李伟', email: 'li@example.com' },
        host: 'web-1',
        reason: '支付接口大量超时 | INC-142',
        target: 'release/v0.8.1',
        outcome: 'ok',
        ms: 4000,
        backup: 'backup/20250906-051058',
        mode: 'checkout',
        from: { commit: 'ed8c0b63d280e636', branch: 'main' },
        to: { commit: '4ebf26aa04fd1234' },
        steps: [
          { title: 'verify the snapshot', ms: 1000, outcome: 'ok' },
          { title: 'check health', ms: 3000, outcome: 'ok' },
        ],
        health: { ok: true, detail: 'HTTP 200' },
      },
      target: null,
      undone: [{ hash: 'ed8c0b6', subject: 'feat: 优惠券' }],
      undoneTotal: 1,
      formatTime: (d) => d.toISOString().replace('T', ' ').replace('.000Z', ' +00:00'),
    });
    assert.match(md, /^# Incident report: rollback to release\/v0\.8\.1\n/);
    assert.match(md, /\| Reason \| 支付接口大量超时 \\\| INC-142 \|/);
    assert.match(md, /\| When \| 2025-09-06 05:10:58 \+00:00 → 2025-09-06 05:11:02 \+00:00 \(4\.0 s\) \|/);
    assert.match(md, /\| 2 \| 05:10:59 \+00:00 \| check health \| 3\.0 s \| ok \|/);
    assert.match(md, /Passed: HTTP 200/);
    assert.match(md, /## Commits undone \(1\)\n\n```\ned8c0b6 feat: 优惠券\n```/);
    assert.match(md, /## Root cause\n\n_To be written\._/);
    assert.match(md, /## Follow-ups\n\n- \[ \]/);
  });
});
