// The point picker as a person uses it: the built binary in a real terminal
// (tmux), keys sent with send-keys, the screen read with capture-pane. Every
// wait is for something to appear on the screen, never a sleep.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, cli, makeRepo, type Repo } from '../helpers/repo.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const repos: Repo[] = [];
const sockets: string[] = [];
after(() => {
  for (const s of sockets) spawnSync('tmux', ['-L', s, 'kill-server']);
  repos.forEach((r) => r.cleanup());
});

/** A terminal running one git-rollback command in `r`, 100×30. */
function terminal(r: Repo, args: string[], env: Record<string, string> = {}) {
  const socket = `rb-picker-${randomBytes(4).toString('hex')}`;
  sockets.push(socket);
  const vars = { ...r.env, TERM: 'xterm-256color', ...env } as Record<string, string>;
  const assignments = Object.entries(vars)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${shellQuote(v)}`)
    .join(' ');
  // After the command, print its exit code and keep the pane (cat waits on the terminal).
  const command = `cd ${shellQuote(r.dir)} && env -i ${assignments} ${shellQuote(process.execPath)} ${shellQuote(BIN)} ${args.map(shellQuote).join(' ')}; echo "[exit $?]"; exec cat`;
  execFileSync('tmux', ['-L', socket, '-f', '/dev/null', 'new-session', '-d', '-x', '100', '-y', '30', '-s', 't', command]);
  const tmux = (...a: string[]) => execFileSync('tmux', ['-L', socket, ...a], { encoding: 'utf8' });
  return {
    screen: () => tmux('capture-pane', '-p', '-t', 't').replace(/\s+$/gm, '').trimEnd(),
    keys: (...keys: string[]) => void tmux('send-keys', '-t', 't', ...keys),
    type: (text: string) => void tmux('send-keys', '-t', 't', '-l', text),
    /** Waits until the screen matches (the only way this test waits). */
    async waitFor(re: RegExp, what = String(re)): Promise<string> {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const s = tmux('capture-pane', '-p', '-t', 't');
        if (re.test(s)) return s.replace(/\s+$/gm, '').trimEnd();
        if (Date.now() > deadline) throw new Error(`the screen never showed ${what}:\n${s}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    },
  };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

describe('point picker', () => {
  it('has a terminal to run in (tmux, which .ci/run installs and the README names)', () => {
    assert.ok(hasTmux, 'tmux is not installed: apt-get install tmux');
  });

  let r: Repo;
  before(async () => {
    r = makeRepo({ files: { 'app.py': '1\n', '.gitignore': '.env\n', '.rollbackrc.yaml': 'config: [".env"]\n' } });
    repos.push(r);
    r.write('.env', 'K=1\n', 0o600);
    // Points are dated to the second, like git's tags: each starts in a new
    // second, so "newest first" has one answer.
    let last = 0;
    const run = async (args: string[]) => {
      while (Math.floor(Date.now() / 1000) <= last) await new Promise((res) => setTimeout(res, 20));
      last = Math.floor(Date.now() / 1000);
      assert.equal((await cli(r, args)).code, 0, args.join(' '));
      last = Math.max(last, Math.floor(Date.now() / 1000));
    };
    await run(['point', 'first point', '--name', 'first']);
    r.write('app.py', '2\n');
    r.commit('two');
    await run(['point', '上线前：支付网关切换', '--name', 'pay']);
    r.write('app.py', '3\n');
    r.commit('three');
    await run(['point', '数据库迁移 42 之前', '--name', 'db']);
    r.write('app.py', '4\n');
    r.commit('four');
  });

  it('to with no point: newest first, type to filter, Enter shows the plan and asks before anything changes', async () => {
    const refs = r.git('for-each-ref');
    const term = terminal(r, ['to']);
    let screen = await term.waitFor(/Filter:/);
    const rows = screen.split('\n').filter((l) => /rollback\//.test(l));
    assert.deepEqual(rows.map((l) => /rollback\/(\w+)/.exec(l)?.[1]), ['db', 'pay', 'first'], screen);
    assert.match(rows[0] ?? '', /^> point +just now +rollback\/db +数据库迁移 42 之前$/);
    assert.match(screen, /3 of 3/);
    term.type('支付');
    screen = await term.waitFor(/1 of 3/);
    assert.match(screen, /Filter: 支付/);
    assert.deepEqual(screen.split('\n').filter((l) => /rollback\//.test(l)).length, 1);
    term.keys('Enter');
    screen = await term.waitFor(/Roll back to rollback\/pay\? \[y\/N\]/);
    assert.match(screen, /Chose rollback\/pay  上线前：支付网关切换/);
    assert.match(screen, /Plan for rollback to rollback\/pay \([0-9a-f]{12}, mode checkout\):\n 1\. verify the point and the servers/);
    assert.equal(r.git('for-each-ref'), refs, 'nothing changed before the answer');
    term.keys('n', 'Enter');
    screen = await term.waitFor(/\[exit \d+\]/);
    assert.match(screen, /cancelled; nothing was changed\n\[exit 130\]/);
    assert.equal(r.git('for-each-ref'), refs);
  });

  it('in Chinese, arrows move, y rolls back; Esc cancels', async () => {
    const term = terminal(r, ['to'], { LANG: 'zh_CN.UTF-8', LC_ALL: '' });
    let screen = await term.waitFor(/筛选：/);
    assert.match(screen, /回滚到哪个回滚点？/);
    term.keys('Down');
    screen = await term.waitFor(/^> 回滚点 +刚刚 +rollback\/pay/m);
    term.keys('Enter');
    screen = await term.waitFor(/确定回滚到 rollback\/pay？ \[y\/N\]/);
    assert.match(screen, /回滚到 rollback\/pay（[0-9a-f]{12}，方式 checkout）的计划：/);
    term.keys('y', 'Enter');
    screen = await term.waitFor(/\[exit \d+\]/);
    assert.match(screen, /已回滚到 rollback\/pay（[0-9a-f]{12}），用时 [\d.]+ m?s。/);
    assert.match(screen, /\[exit 0\]/);
    assert.equal(readFileSync(join(r.dir, 'app.py'), 'utf8'), '2\n');

    const esc = terminal(r, ['show']);
    await esc.waitFor(/Show which point\?/);
    esc.keys('Escape');
    assert.match(await esc.waitFor(/\[exit \d+\]/), /\[exit 130\]/);
  });

  it('show and undo --pick choose from the list too; without a terminal the usual error stands', async () => {
    const term = terminal(r, ['show']);
    await term.waitFor(/Filter:/);
    term.type('first');
    await term.waitFor(/1 of \d+/);
    term.keys('Enter');
    const screen = await term.waitFor(/\[exit \d+\]/);
    assert.match(screen, /rollback\/first +point\n +first point/);
    assert.match(screen, /\[exit 0\]/);

    const undo = terminal(r, ['undo', '--pick', '--dry-run']);
    const list = await undo.waitFor(/Return to which backup\?[\s\S]*Filter:/);
    assert.ok(list.split('\n').filter((l) => /rollback\//.test(l) && /^[> ] /.test(l)).every((l) => /backup/.test(l)), 'only backups');
    undo.keys('Enter');
    assert.match(await undo.waitFor(/\[exit \d+\]/), /Plan for undo to backup\/\S+[\s\S]*Dry run: nothing was changed\.\n\[exit 0\]/);

    const piped = await cli(r, ['to']);
    assert.equal(piped.code, 2);
    assert.match(piped.stderr, /^git-rollback: name the point to roll back to\n/);
    assert.equal((await cli(r, ['undo', '--pick'])).code, 2);
  });
});
