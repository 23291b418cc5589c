// Validation of data read from git (src/core/validate.ts): paths, modes,
// links, duplicates, and a manifest against its own tree.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { duplicateProblems, linkProblem, modeProblem, pathProblem, refuseProblems, safePattern, snapshotProblems, treeProblems, type TreeEntry } from '../../src/core/validate.js';
import { CorruptSnapshotError } from '../../src/core/errors.js';
import type { FileEntry, SnapshotInfo } from '../../src/core/types.js';
import { english } from '../../src/core/i18n.js';

const ID = 'a'.repeat(40);
const ID256 = 'b'.repeat(64);
const SHA = 'c'.repeat(64);

function file(path: string, extra: Partial<FileEntry> = {}): FileEntry {
  return { path, mode: '100644', size: 1, sha256: SHA, blob: ID, ...extra };
}

function snap(config: FileEntry[], paths: FileEntry[] = []): SnapshotInfo {
  return { commit: ID, ref: 'refs/rollback/snapshots/point/x', config, paths, databases: [], captures: [], worktree: null, size: 0 };
}

describe('pathProblem', () => {
  it('accepts plain relative paths, UTF-8 and dots inside names', () => {
    for (const p of ['.env', 'backend/.env', 'config/app.yml', '配置/设置.yml', 'a..b', '.gitignore', '.github/x', 'x/.git-foo']) {
      assert.equal(pathProblem(p), null, p);
    }
  });
  it('refuses what leaves the repository or enters .git', () => {
    const cases: Record<string, RegExp> = {
      '../outside/pwned1.txt': /leaves the repository/,
      'a/../../b': /leaves the repository/,
      '/etc/passwd': /absolute/,
      'C:/x': /absolute/,
      '.git/hooks/post-checkout': /inside \.git/,
      '.GIT/config': /inside \.git/,
      'sub/.Git/config': /inside \.git/,
      '.git./config': /inside \.git/,
      '.git /config': /inside \.git/,
      'a//b': /empty component/,
      'a/': /empty component/,
      './a': /"\." component/,
      'a\\b': /backslash/,
      'a\u0000b': /control/,
      'a\nb': /control/,
      'a\u001b[31mb': /control/,
      'a\u0085b': /control/,
      'evil\u202etxt.exe': /bidirectional/,
      '': /empty/,
    };
    for (const [p, re] of Object.entries(cases)) assert.match(english(pathProblem(p) ?? 'null'), re, JSON.stringify(p));
    assert.match(english(pathProblem(42) ?? ''), /not a string/);
  });
});

describe('modeProblem', () => {
  it('accepts permission bits and symlinks only', () => {
    for (const m of ['100644', '100600', '100755', '100000', '100777', '120000']) assert.equal(modeProblem(m), null, m);
    assert.match(english(modeProblem('104777') ?? ''), /setuid, setgid or sticky/);
    assert.match(english(modeProblem('102755') ?? ''), /setuid, setgid or sticky/);
    assert.match(english(modeProblem('101777') ?? ''), /setuid, setgid or sticky/);
    assert.match(english(modeProblem('1007777777') ?? ''), /not a regular file/);
    assert.match(english(modeProblem('040000') ?? ''), /not a regular file/);
    assert.match(english(modeProblem('160000') ?? ''), /not a regular file/);
    assert.match(english(modeProblem(420) ?? ''), /not a string/);
  });
});

describe('linkProblem', () => {
  it('accepts links that resolve inside the repository', () => {
    assert.equal(linkProblem('config/current.yml', 'prod.yml'), null);
    assert.equal(linkProblem('config/current.yml', '../shared/prod.yml'), null);
    assert.equal(linkProblem('a/b/c', '../../x'), null);
  });
  it('refuses links leaving the repository or into .git', () => {
    assert.match(english(linkProblem('a', '/etc/passwd') ?? ''), /absolute/);
    assert.match(english(linkProblem('a', '..') ?? ''), /leaves the repository/);
    assert.match(english(linkProblem('a/b', '../../outside') ?? ''), /leaves the repository/);
    assert.match(english(linkProblem('a', '.git/hooks') ?? ''), /into \.git/);
    assert.match(english(linkProblem('a', 'x/../.GIT') ?? ''), /into \.git/);
    assert.match(english(linkProblem('a', '') ?? ''), /without a target/);
  });
});

describe('duplicates', () => {
  it('refuses the same path, case-fold twins and a file under another entry', () => {
    assert.match(english(duplicateProblems([{ path: '.env' }, { path: '.env' }])[0]?.reason ?? ''), /listed twice/);
    assert.match(english(duplicateProblems([{ path: '.env' }, { path: '.ENV' }])[0]?.reason ?? ''), /case-insensitive/);
    assert.match(english(duplicateProblems([{ path: 'caf\u00e9' }, { path: 'cafe\u0301' }])[0]?.reason ?? ''), /case-insensitive/);
    assert.match(english(duplicateProblems([{ path: 'd' }, { path: 'd/x' }])[0]?.reason ?? ''), /lies under "d"/);
    assert.match(english(duplicateProblems([{ path: 'D/x' }, { path: 'd' }])[0]?.reason ?? ''), /lies under "d"/);
    assert.deepEqual(duplicateProblems([{ path: 'a/x' }, { path: 'a/y' }, { path: 'ab' }]), []);
  });
});

describe('snapshotProblems', () => {
  it('accepts a normal snapshot of either object format', () => {
    assert.deepEqual(snapshotProblems(snap([file('.env', { mode: '100600' }), file('link', { mode: '120000', link: '.env' })], [file('uploads/a.png', { blob: ID256 })])), []);
  });
  it('names each bad entry', () => {
    const problems = snapshotProblems(
      snap([file('../outside/pwned1.txt'), file('.git/config'), file('ok', { mode: '104777' }), file('l', { mode: '120000', link: '../../x' }), file('b', { blob: 'HEAD:secret' })], [file('ok')]),
    );
    const text = problems.map((p) => `${p.entry}: ${english(p.reason)}`).join('\n');
    assert.match(text, /\.\.\/outside\/pwned1\.txt: leaves the repository/);
    assert.match(text, /\.git\/config: inside \.git/);
    assert.match(text, /ok: mode 104777 has setuid/);
    assert.match(text, /l: symlink target \.\.\/\.\.\/x leaves the repository/);
    assert.match(text, /b: blob is not an object id/);
    assert.match(text, /ok: listed twice/);
  });
  it('refuses bad database and uncommitted-work ids', () => {
    const s = snap([]);
    s.databases = [{ name: '../x', engine: 'sqlite', format: 'f', path: 'db/x', size: 1, sha256: SHA, chunks: [{ blob: '--output=/tmp/x', size: 1 }], tool: 't', ms: 1 }];
    s.worktree = { commit: ID, index: '-x', untracked: null, files: 1 };
    const text = snapshotProblems(s).map((p) => `${english(p.what)} ${p.entry}: ${english(p.reason)}`).join('\n');
    assert.match(text, /database \.\.\/x: not a database name/);
    assert.match(text, /database \.\.\/x: a chunk is not an object id/);
    assert.match(text, /uncommitted work index: not an object id/);
  });
  it('refuseProblems throws exit 6 naming the entry, escaped', () => {
    assert.throws(
      () => refuseProblems('rollback/x', snapshotProblems(snap([file('evil\u001b[2J')]))),
      (e: unknown) => e instanceof CorruptSnapshotError && e.exitCode === 6 && /"evil\\u001b\[2J"/.test(e.message) && /nothing was changed/.test(e.hint ?? ''),
    );
  });
});

describe('treeProblems', () => {
  const tree: TreeEntry[] = [
    { mode: '100644', type: 'blob', id: 'e'.repeat(40), path: 'manifest.json' },
    { mode: '100644', type: 'blob', id: ID, path: 'config/.env' },
  ];
  it('accepts a manifest that matches its tree', () => {
    assert.deepEqual(treeProblems(snap([file('.env')]), tree), []);
  });
  it('refuses a manifest naming a file or blob outside its tree', () => {
    assert.match(english(treeProblems(snap([file('.env'), file('other')]), tree)[0]?.reason ?? ''), /not in the snapshot tree/);
    assert.match(english(treeProblems(snap([file('.env', { blob: 'f'.repeat(40) })]), tree)[0]?.reason ?? ''), /other than the snapshot tree holds/);
    assert.match(english(treeProblems(snap([]), tree)[0]?.reason ?? ''), /not in its manifest/);
  });
  it('refuses hostile names inside the tree itself', () => {
    const evil: TreeEntry[] = [...tree, { mode: '100644', type: 'blob', id: ID, path: 'config/../outside/x' }];
    assert.ok(treeProblems(snap([file('.env')]), evil).some((p) => /leaves the repository/.test(english(p.reason))));
  });
});

describe('safePattern', () => {
  it('keeps patterns inside the repository only', () => {
    assert.ok(safePattern('.env'));
    assert.ok(safePattern('config/*.yml'));
    assert.ok(!safePattern('../outside/*'));
    assert.ok(!safePattern('/etc/*'));
    assert.ok(!safePattern('.git/**'));
  });
});
