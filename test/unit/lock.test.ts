// The repository lock against real processes: stale and garbage locks,
// pid reuse, and many processes contending at once.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { procStart, RepoLock } from '../../src/adapters/lock.js';
import { LockedError } from '../../src/core/errors.js';
import { english } from '../../src/core/i18n.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const lockModule = resolve(here, '../../src/adapters/lock.ts');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rb-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A pid that is certainly not running now (a child that has exited). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('repository lock', () => {
  it('refuses while another live process holds it, naming the holder', async () => {
    const holder = spawn(process.execPath, ['--import', 'tsx', '-e', `
      const { RepoLock } = await import(${JSON.stringify(lockModule)});
      const l = new RepoLock(${JSON.stringify(dir)});
      await l.acquire('git rollback to p1');
      process.stdout.write('held\\n');
      setTimeout(() => {}, 60000);
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((r) => holder.stdout.once('data', () => r()));
      const lock = new RepoLock(dir);
      await assert.rejects(lock.acquire('git rollback point'), (e: unknown) => e instanceof LockedError && /git rollback to p1 \(pid \d+ on /.test(e.message));
      const waited: string[] = [];
      const t = Date.now();
      await assert.rejects(lock.acquire('git rollback point', 300, (who) => waited.push(english(who))), (e: unknown) => e instanceof LockedError && /still held the lock after/.test(e.hint ?? ''));
      assert.ok(Date.now() - t >= 300);
      assert.equal(waited.length, 1, 'the wait is announced once');
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes over a lock whose process is gone, and one whose pid was reused', async () => {
    const lock = new RepoLock(dir);
    writeFileSync(lock.path, JSON.stringify({ pid: deadPid(), host: hostname(), command: 'killed', startedAt: 'x' }));
    await lock.acquire('me');
    assert.equal(JSON.parse(readFileSync(lock.path, 'utf8')).command, 'me');
    await lock.release();
    assert.ok(!existsSync(lock.path));

    // Our own parent is alive, but started at another time than the lock says: the pid was reused.
    const start = procStart(process.ppid);
    if (start !== null) {
      writeFileSync(lock.path, JSON.stringify({ pid: process.ppid, host: hostname(), command: 'old', startedAt: 'x', procStart: start + 1 }));
      await lock.acquire('me again');
      await lock.release();
    }
  });

  it('an unreadable lock is stale only when no process holds it open', async () => {
    const lock = new RepoLock(dir);
    writeFileSync(lock.path, 'garbage\0\0');
    const fd = openSync(lock.path, 'r'); // a live process (this one) holds it open
    try {
      const other = spawnSync(process.execPath, ['--import', 'tsx', '-e', `
        const { RepoLock } = await import(${JSON.stringify(lockModule)});
        try { await new RepoLock(${JSON.stringify(dir)}).acquire('x'); console.log('took'); } catch (e) { console.log(e.message); }
      `], { encoding: 'utf8' });
      assert.match(other.stdout, /the lock file cannot be read/);
    } finally {
      (await import('node:fs')).closeSync(fd);
    }
    await lock.acquire('after');
    assert.equal(JSON.parse(readFileSync(lock.path, 'utf8')).command, 'after');
    await lock.release();
  });

  it('a lock held by another host is never taken over', async () => {
    const lock = new RepoLock(dir);
    writeFileSync(lock.path, JSON.stringify({ pid: deadPid(), host: 'elsewhere.example', command: 'to p1', startedAt: 'x' }));
    await assert.rejects(lock.acquire('me'), (e: unknown) => e instanceof LockedError && /on elsewhere\.example/.test(e.message) && /check on elsewhere\.example/.test(e.hint ?? ''));
  });

  it('20 processes racing over a stale lock never hold it at once', async () => {
    const lock = new RepoLock(dir);
    writeFileSync(lock.path, JSON.stringify({ pid: deadPid(), host: hostname(), command: 'killed', startedAt: 'x' }));
    const inside = join(dir, 'inside');
    const counter = join(dir, 'counter');
    writeFileSync(counter, '0');
    const script = `
      const fs = await import('node:fs');
      const { RepoLock } = await import(${JSON.stringify(lockModule)});
      const l = new RepoLock(${JSON.stringify(dir)});
      await l.acquire('p' + process.pid, 60000);
      // Exclusive section: a second holder would find the marker.
      fs.writeFileSync(${JSON.stringify(inside)}, String(process.pid), { flag: 'wx' });
      const n = Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8'));
      await new Promise((r) => setTimeout(r, 5));
      fs.writeFileSync(${JSON.stringify(counter)}, String(n + 1));
      fs.rmSync(${JSON.stringify(inside)});
      await l.release();
    `;
    const runs = Array.from({ length: 20 }, () =>
      new Promise<number>((res) => {
        const c = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
        c.on('close', (code) => res(code ?? -1));
      }),
    );
    const codes = await Promise.all(runs);
    assert.deepEqual(codes, Array(20).fill(0));
    assert.equal(readFileSync(counter, 'utf8'), '20', 'every increment survived: no two held the lock at once');
    assert.deepEqual(readdirSync(dir).sort(), ['counter'], 'no lock, guard or temp file is left behind');
  });
});
