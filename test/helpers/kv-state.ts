// What "exactly the same" means for the SQLite and Redis tests: a SQLite
// database's `.dump`, the settings kept in its file and the file's mode and
// owner; a Redis database's keys with their type, content and absolute expiry.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { RespClient } from '../../src/adapters/engines/resp.js';

// --- SQLite -----------------------------------------------------------------

export function sqlite3(path: string, sql: string): string {
  return execFileSync('sqlite3', ['-batch', '-bail', path], { input: sql, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).trim();
}

const PRAGMAS = ['journal_mode', 'page_size', 'user_version', 'application_id', 'encoding', 'auto_vacuum'];

/** Schema and rows (`.dump`, hashed), the pragmas the file keeps, and mode/owner/group. */
export function sqliteFull(path: string): Record<string, string> {
  const st = statSync(path);
  const pragmas = sqlite3(path, PRAGMAS.map((p) => `PRAGMA ${p};`).join('\n')).split('\n');
  const state: Record<string, string> = {
    dump: createHash('sha256').update(sqlite3(path, '.dump')).digest('hex'),
    mode: (st.mode & 0o7777).toString(8),
    owner: `${st.uid}:${st.gid}`,
  };
  PRAGMAS.forEach((p, i) => {
    state[p] = pragmas[i] ?? '';
  });
  return state;
}

// --- Redis ------------------------------------------------------------------

export interface RedisTarget {
  host: string;
  port: number;
  password: string;
}

export function redisTarget(url: URL): RedisTarget {
  return { host: url.hostname, port: Number(url.port), password: decodeURIComponent(url.password) };
}

export async function redisCall(target: RedisTarget, db: number, ...commands: Array<Array<string | number | Buffer>>): Promise<unknown[]> {
  const client = await RespClient.open(target.host, target.port, 'test');
  try {
    if (target.password) await client.call('AUTH', target.password);
    await client.call('SELECT', db);
    const replies = [];
    for (const c of commands) replies.push(await client.call(...c));
    return replies;
  } finally {
    client.close();
  }
}

const text = (b: unknown) => (Buffer.isBuffer(b) ? b.toString('hex') : String(b));

/**
 * Every key (hex) → "type content expiry". Content is read with the type's
 * own commands (sets and hashes sorted), so it does not depend on encoding or
 * hash-table order; expiry is the absolute unix ms (PEXPIRETIME), not a TTL
 * that counts down. Keys whose names start with NUL (git-rollback's own) are left out.
 */
export async function redisState(target: RedisTarget, db: number): Promise<Record<string, string>> {
  const client = await RespClient.open(target.host, target.port, 'test');
  try {
    if (target.password) await client.call('AUTH', target.password);
    await client.call('SELECT', db);
    const keys = (await client.call('KEYS', '*')) as Buffer[];
    const out: Record<string, string> = {};
    for (const key of keys) {
      if (key[0] === 0) continue;
      const type = String(await client.call('TYPE', key));
      let content: string;
      switch (type) {
        case 'string':
          content = text(await client.call('GET', key));
          break;
        case 'list':
          content = ((await client.call('LRANGE', key, 0, -1)) as Buffer[]).map(text).join(',');
          break;
        case 'set':
          content = ((await client.call('SMEMBERS', key)) as Buffer[]).map(text).sort().join(',');
          break;
        case 'zset':
          content = ((await client.call('ZRANGE', key, 0, -1, 'WITHSCORES')) as Buffer[]).map(text).join(',');
          break;
        case 'hash': {
          const flat = (await client.call('HGETALL', key)) as Buffer[];
          const pairs: string[] = [];
          for (let i = 0; i < flat.length; i += 2) pairs.push(`${text(flat[i])}=${text(flat[i + 1])}`);
          content = pairs.sort().join(',');
          break;
        }
        case 'stream': {
          const entries = JSON.stringify(await client.call('XRANGE', key, '-', '+'), (_k, v: unknown) => (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('hex') : v));
          const groups = JSON.stringify(await client.call('XINFO', 'GROUPS', key), (_k, v: unknown) => (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString() : v));
          content = createHash('sha256').update(entries + groups).digest('hex');
          break;
        }
        default:
          content = text(await client.call('DUMP', key));
      }
      const expiry = Number(await client.call('PEXPIRETIME', key));
      out[key.toString('hex')] = `${type} ${createHash('sha256').update(content).digest('hex').slice(0, 16)} ${expiry}`;
    }
    return out;
  } finally {
    client.close();
  }
}
