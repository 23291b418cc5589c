// Helpers shared by the engines: config validation, URLs without secrets,
// derived database names, and streaming a dump tool into / a dump into a tool.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { INTO_FILE, type IntoFile } from '../dump-store.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DatabaseConfig } from '../../core/engine.js';
import { ConfigError, ExternalToolError, redact, RollbackError } from '../../core/errors.js';
import type { Piped } from '../piped.js';
import { msg, type Msg } from '../../core/i18n.js';

export interface EngineContext {
  /** Repository root: relative paths in the config are relative to it; commands run there. */
  cwd: string;
  env: NodeJS.ProcessEnv;
}

type KeyKind = 'string' | 'boolean' | 'integer';

/** Checks an entry's keys: required ones present with the right type, no unknown ones (typos). */
export function validateKeys(
  config: DatabaseConfig,
  required: Record<string, KeyKind>,
  optional: Record<string, KeyKind> = {},
): void {
  const where = (key: string) => `databases.${config.name}.${key}`;
  for (const key of Object.keys(config)) {
    if (key === 'name' || key === 'engine') continue;
    if (!(key in required) && !(key in optional)) {
      const known = [...Object.keys(required), ...Object.keys(optional)].join(', ');
      throw new ConfigError(msg('engine.unknownKey', { key: where(key), engine: config.engine, known }));
    }
  }
  for (const [key, kind] of Object.entries({ ...required, ...optional })) {
    const value = config[key];
    if (value === undefined || value === null) {
      if (key in required) throw new ConfigError(msg('engine.missingKey', { key: where(key), kind: msg(`engine.kind.${kind}`) }));
      continue;
    }
    const ok =
      kind === 'integer' ? Number.isInteger(value) : kind === 'boolean' ? typeof value === 'boolean' : typeof value === 'string' && value !== '';
    if (!ok) throw new ConfigError(msg('engine.badKey', { key: where(key), expected: msg(`engine.expect.${kind}`) }));
  }
}

export interface ParsedUrl {
  protocol: string;
  user: string;
  password: string;
  host: string;
  port: number | undefined;
  database: string;
  params: URLSearchParams;
}

/** Parses a database URL; the error never repeats the URL (it may hold a password). */
export function parseDbUrl(config: DatabaseConfig, protocols: string[]): ParsedUrl {
  const raw = config.url as string;
  const key = `databases.${config.name}.url`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(msg('engine.badUrl', { key, protocol: protocols[0] }));
  }
  const protocol = url.protocol.replace(/:$/, '');
  if (!protocols.includes(protocol)) {
    throw new ConfigError(msg('engine.badProtocol', { key, protocols: protocols.map((p) => `${p}://`).join(' or '), protocol }));
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return {
    protocol,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : undefined,
    database,
    params: url.searchParams,
  };
}

/** "postgres://app@127.0.0.1:5432/shop": where it is, never the password. */
export function describeUrl(u: ParsedUrl, database = u.database): string {
  const user = u.user ? `${encodeURIComponent(u.user)}@` : '';
  const host = u.host.includes(':') ? `[${u.host}]` : u.host;
  return `${u.protocol}://${user}${host}${u.port ? `:${u.port}` : ''}/${encodeURIComponent(database)}`;
}

/**
 * Job ids become parts of database names: `20261122-223451` → `20261122_223451`.
 * Only [a-z0-9_] survive, so derived names never need more than plain quoting.
 */
export function safeJobId(jobId: string): string {
  const id = jobId.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (!/[a-z0-9]/.test(id)) throw new RollbackError(msg('engine.badJobId', { id: JSON.stringify(jobId) }));
  return id;
}

/**
 * `<db><suffix>` within the server's identifier limit (63 bytes in PostgreSQL,
 * 64 characters in MySQL). A long name is cut and made unique with a short
 * hash of the full one, because servers truncate silently and two jobs would
 * then collide.
 */
export function derivedName(db: string, suffix: string, maxBytes: number): string {
  const full = `${db}${suffix}`;
  if (Buffer.byteLength(full) <= maxBytes) return full;
  const hash = createHash('sha256').update(db).digest('hex').slice(0, 6);
  let head = db;
  while (Buffer.byteLength(`${head}_${hash}${suffix}`) > maxBytes) head = head.slice(0, -1);
  return `${head}_${hash}${suffix}`;
}

/** Counts bytes on their way through. */
class Counter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

/**
 * Streams a dump tool's stdout into `out`. `out` is ended only when the tool
 * exited 0 and wrote something; otherwise it is destroyed with the error, so
 * a store reading it fails too and no half dump is ever recorded.
 */
export async function streamToolInto(tool: Piped, out: Writable, what: string | Msg, hint?: string | Msg): Promise<number> {
  const counter = new Counter();
  const [piped, exited] = await Promise.allSettled([pipeline(tool.stdout, counter, out, { end: false }), tool.exit()]);
  let error: Error | undefined;
  if (exited.status === 'rejected') error = exited.reason as Error;
  else if (exited.value !== 0) error = new ExternalToolError(what, exited.value, tool.stderr(), undefined, hint);
  else if (piped.status === 'rejected') error = piped.reason as Error;
  else if (counter.bytes === 0) {
    const stderr = tool.stderr().trim();
    error = new ExternalToolError(what, 0, stderr, stderr ? msg('engine.wroteNothingErr', { what, stderr: stderr.split('\n').slice(-3).join(' | ') }) : msg('engine.wroteNothing', { what }), hint);
  }
  if (error) {
    tool.kill();
    out.destroy(error);
    throw error;
  }
  out.end();
  return counter.bytes;
}

/**
 * Feeds a stored dump into a restore tool. When the input fails (a corrupt
 * dump: the store errors at the end) that is the error reported, not the
 * tool's complaint about a truncated stdin.
 */
export async function streamIntoTool(input: Readable, tool: Piped, what: string | Msg, hint?: string | Msg): Promise<void> {
  const [fed, exited] = await Promise.allSettled([pipeline(input, tool.stdin), tool.exit()]);
  if (fed.status === 'rejected' && !isPipeError(fed.reason)) {
    tool.kill();
    throw fed.reason;
  }
  if (exited.status === 'rejected') throw exited.reason;
  if (exited.value !== 0) throw new ExternalToolError(what, exited.value, tool.stderr(), undefined, hint);
  if (fed.status === 'rejected') throw fed.reason;
}

function isPipeError(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED';
}

/** A private temp dir (mode 0700: dumps hold user data). */
export async function privateTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `git-rollback-${prefix}-`));
}

/**
 * Writes `input` to `path` (mode 0600) and fsyncs it; removes the file if
 * anything fails. A dump store's stream is written by the store itself
 * (GitDumpStore.readIntoFile: large writes from reused buffers).
 */
export async function materialize(input: Readable, path: string): Promise<number> {
  const intoFile = (input as Readable & { [INTO_FILE]?: IntoFile })[INTO_FILE];
  if (intoFile) {
    // The stream itself is not read: its error (a cancel destroys it) surfaces through intoFile.
    input.on('error', () => {});
    try {
      const file = await open(path, 'wx', 0o600);
      try {
        const bytes = await intoFile(file);
        await file.sync();
        return bytes;
      } finally {
        await file.close();
        input.destroy();
      }
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
  }
  const counter = new Counter();
  try {
    await pipeline(input, counter, createWriteStream(path, { mode: 0o600, flags: 'wx' }));
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    return counter.bytes;
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
}

export function randomSuffix(): string {
  return randomBytes(4).toString('hex');
}

/** First line of a tool's --version output, e.g. "pg_dump (PostgreSQL) 15.10 (Debian …)" → "15.10". */
export function versionOf(text: string): string {
  return /\d+(?:\.\d+)+/.exec(text)?.[0] ?? text.trim().split('\n')[0] ?? '';
}

/** For errors built from a tool's stderr by hand (not through ExternalToolError). */
export function tidy(stderr: string): string {
  return redact(stderr).trim().split('\n').filter(Boolean).slice(-3).join(' | ');
}

// --- i18n (second pass): messages about one database -----------------------

/** "database <name>: <text>" as a catalog message, for errors, notes and warnings of an engine. */
export function inDb(name: string, text: Msg | string): Msg {
  return msg('error.inDatabase', { name, text });
}
