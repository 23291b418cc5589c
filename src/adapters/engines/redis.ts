// Redis: every key of the configured database with its absolute expiry,
// in a small length-prefixed file (redis-dump.ts has the format).
//
// Restore (docs/decisions.md, "Redis restore"): stage RESTOREs every key into
// an empty scratch database on the same server (default: the last one,
// `databases - 1`), so every payload has been accepted by Redis before
// anything live changes; swap is one SWAPDB, which Redis executes atomically:
// clients see the old keyspace, then exactly the snapshot (keys made since
// are gone). After it the scratch db holds the previous keyspace: that is the
// parked copy, dumped from there into the automatic backup, and swapped back
// by unswap or a fast undo.
//
// The scratch db is ours while it holds an owner key (MARKER) naming the job,
// the live db it serves and its state (staging → staged → parked). The marker
// is moved in the same MULTI/EXEC as the SWAPDB, so what the server holds
// always says where a job stands: every step reads it and can run again. A
// scratch db with data and no marker is not ours and is never touched.
import { createHash } from 'node:crypto';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import type {
  DatabaseConfig, DumpOutcome, Engine, EngineProbe, RestoreCheck, RestoreJob, RestoreStrategy, TempObject,
} from '../../core/engine.js';
import type { DatabaseEntry } from '../../core/types.js';
import { CancelledError, ConfigError, ConflictError, CorruptSnapshotError, errorMsg, RollbackError } from '../../core/errors.js';
import { english, msg, type Msg } from '../../core/i18n.js';
import { drained } from '../piped.js';
import { describeUrl, inDb, parseDbUrl, safeJobId, validateKeys, type EngineContext, type ParsedUrl } from './common.js';
import { FORMAT_V1, FORMAT_V2, payloadRdbVersion, readRecords, RecordWriter } from './redis-dump.js';
import { canonicalValue, isUnsupported, rdbEntries } from './redis-rdb.js';
import { ReplyError, RespClient, type Reply } from './resp.js';

const SCAN_COUNT = 1000;
/** RESTOREs sent per write, and writes awaiting replies: round trips hidden, memory bounded. */
const BATCH_KEYS = 256;
const BATCH_BYTES = 4 * 1024 * 1024;
const BATCHES_IN_FLIGHT = 4;
/** The scratch db's owner key. The NUL bytes keep it out of any application's key space. */
export const MARKER = Buffer.from('\u0000git-rollback\u0000scratch-owner');

type ScratchState = 'staging' | 'staged' | 'parked';

interface Marker {
  job: string;
  /** The live db this scratch db serves. */
  db: number;
  state: ScratchState;
  /** Set by adoptParked: the job whose parked copy became this job's staged copy. */
  from?: string;
}

/** What the parked copy was when its dump was stored (entry.details.parked; the runner reads `jobId`). */
interface ParkedFacts {
  jobId: string;
  db: number;
  scratch: number;
  keys: number;
  digest: string;
}

/** Highest RDB version each Redis release reads (a DUMP payload carries the version that wrote it). */
function rdbVersionOf(serverVersion: string): number | undefined {
  const [major = 0, minor = 0] = serverVersion.split('.').map(Number);
  if (major >= 8 || (major === 7 && minor >= 4)) return undefined; // 12 or later: let the server judge
  if (major === 7) return minor >= 2 ? 11 : 10;
  if (major >= 5) return 9;
  if (major === 4) return 8;
  return 7;
}

export class RedisEngine implements Engine {
  readonly engine = 'redis';
  readonly parks = true;
  readonly name: string;
  private readonly url: ParsedUrl;
  private readonly db: number;
  private readonly scratchConfig: number | undefined;
  private readonly snapshotMode: 'sync' | 'scan';
  /** The scratch db number once asked from the server (a fact of the server, not of a job). */
  private scratchKnown?: number;

  constructor(config: DatabaseConfig, _ctx: EngineContext) {
    validateKeys(config, { url: 'string' }, { scratchDb: 'integer', snapshot: 'string' });
    if (config.snapshot !== undefined && config.snapshot !== 'sync' && config.snapshot !== 'scan') {
      throw new ConfigError(msg('redis.snapshotKey', { name: config.name }));
    }
    this.snapshotMode = (config.snapshot as 'sync' | 'scan' | undefined) ?? 'sync';
    this.name = config.name;
    this.url = parseDbUrl(config, ['redis']);
    const db = this.url.database === '' ? 0 : Number(this.url.database);
    if (!Number.isInteger(db) || db < 0) throw new RollbackError(msg('redis.urlDb', { name: config.name }));
    this.db = db;
    this.scratchConfig = config.scratchDb as number | undefined;
    if (this.scratchConfig === db) throw new RollbackError(msg('redis.scratchSame', { name: config.name, db }));
  }

  describe(): string {
    return describeUrl(this.url, String(this.db));
  }

  private scratchName(): string {
    return String(this.scratchKnown ?? this.scratchConfig ?? 'last');
  }

  strategy(): RestoreStrategy {
    return {
      text: msg('redis.strategy', { scratch: this.scratchName(), db: this.db }),
      downtime: msg('redis.downtime'),
    };
  }

  private where(): string {
    return `${this.url.host}:${this.url.port ?? 6379}`;
  }

  /** A connection, authenticated, with `db` selected (default: the configured one). */
  async client(db = this.db): Promise<RespClient> {
    const client = await RespClient.open(this.url.host || '127.0.0.1', this.url.port ?? 6379, this.where());
    try {
      if (this.url.password) {
        await (this.url.user ? client.call('AUTH', this.url.user, this.url.password) : client.call('AUTH', this.url.password));
      }
      await client.call('SELECT', db);
      return client;
    } catch (error) {
      client.close();
      if (error instanceof ReplyError) {
        // Redis error texts never contain the password; ours neither.
        const auth = /WRONGPASS|NOAUTH|invalid password|invalid username/i.test(error.message);
        throw new RollbackError(msg('redis.at', { where: this.where(), error: error.message }), auth ? msg('redis.authHint', { name: this.name }) : undefined);
      }
      throw error;
    }
  }

  private async withClient<T>(db: number, use: (client: RespClient) => Promise<T>): Promise<T> {
    const client = await this.client(db);
    try {
      return await use(client);
    } finally {
      client.close();
    }
  }

  private async scratchDb(client: RespClient): Promise<number> {
    if (this.scratchConfig !== undefined) return (this.scratchKnown = this.scratchConfig);
    if (this.scratchKnown !== undefined) return this.scratchKnown;
    let count = 16;
    try {
      const reply = (await client.call('CONFIG', 'GET', 'databases')) as Reply[];
      const value = Number(String(reply[1] ?? '16'));
      if (Number.isInteger(value) && value > 0) count = value;
    } catch {
      // CONFIG is often renamed away on managed servers: assume the default.
    }
    const scratch = count - 1;
    if (scratch === this.db) throw new RollbackError(inDb(this.name, msg('redis.lastDb', { db: this.db })), msg('redis.setScratch', { name: this.name }));
    this.scratchKnown = scratch;
    return scratch;
  }

  private async probe(client: RespClient): Promise<EngineProbe & { serverVersion: string }> {
    const info = String(await client.call('INFO', 'server')) + String(await client.call('INFO', 'cluster'));
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    if (/cluster_enabled:1/.test(info)) throw new RollbackError(inDb(this.name, msg('redis.cluster')));
    if (!(Number.parseInt(version, 10) >= 5)) {
      throw new RollbackError(inDb(this.name, msg('redis.tooOld', { version })));
    }
    return { tool: 'git-rollback resp', serverVersion: version };
  }

  async check(_mode: 'dump'): Promise<EngineProbe> {
    return this.withClient(this.db, (client) => this.probe(client));
  }

  private async readMarker(client: RespClient): Promise<Marker | undefined> {
    const raw = (await client.call('GET', MARKER)) as Buffer | null;
    if (raw === null) return undefined;
    try {
      const m = JSON.parse(raw.toString()) as Marker;
      if (typeof m.job === 'string' && typeof m.db === 'number' && ['staging', 'staged', 'parked'].includes(m.state)) return m;
    } catch {
      // fall through: a marker we cannot read is treated as foreign
    }
    return { job: '?', db: -1, state: 'staging' };
  }

  /** Scratch db number, its marker and its size, read on a connection selected on it. */
  private async scratchState(client: RespClient): Promise<{ scratch: number; marker: Marker | undefined; size: number }> {
    const scratch = await this.scratchDb(client);
    await client.call('SELECT', scratch);
    const marker = await this.readMarker(client);
    const size = Number(await client.call('DBSIZE'));
    return { scratch, marker, size };
  }

  private ours(marker: Marker | undefined, jobId: string, states?: ScratchState[]): boolean {
    return marker !== undefined && marker.db === this.db && marker.job === safeJobId(jobId) && (!states || states.includes(marker.state));
  }

  async checkRestore(entry: DatabaseEntry, jobId: string): Promise<RestoreCheck> {
    if (!entry.absent && entry.format !== FORMAT_V1 && entry.format !== FORMAT_V2) {
      throw new ConflictError(inDb(this.name, msg('engine.format', { format: entry.format, engine: 'redis' })));
    }
    return this.withClient(this.db, async (client) => {
      const probe = await this.probe(client);
      const notes: Msg[] = [];
      const readable = rdbVersionOf(probe.serverVersion);
      const needs = entry.details?.rdbVersion;
      if (typeof needs === 'number' && readable !== undefined && needs > readable) {
        throw new ConflictError(
          inDb(this.name, msg('redis.newerRdb', { version: entry.serverVersion ?? '?', needs, server: probe.serverVersion, readable })),
          msg('redis.newerRdbHint'),
        );
      }
      const { scratch, marker, size } = await this.scratchState(client);
      if (marker === undefined && size > 0) {
        throw new ConflictError(inDb(this.name, msg('redis.scratchBusy', { scratch, size })), msg('redis.scratchBusyHint', { scratch, name: this.name }));
      }
      if (marker && marker.db !== this.db) {
        throw new ConflictError(inDb(this.name, msg('redis.scratchOther', { scratch, db: marker.db, job: marker.job, state: marker.state })), msg('redis.scratchOtherHint'));
      }
      const adoptable = (entry.details?.parked as { jobId?: unknown } | undefined)?.jobId;
      if (marker && marker.state === 'parked' && marker.job === adoptable) {
        notes.push(msg('redis.noteAdopt', { scratch, job: marker.job }));
      } else if (marker && marker.job !== safeJobId(jobId)) {
        notes.push(msg(marker.state === 'parked' ? 'redis.noteParked' : 'redis.noteHalf', { scratch, job: marker.job }));
      }
      notes.push(msg('redis.noteStages', { scratch }));
      if (entry.format === FORMAT_V1) notes.push(msg('redis.noteRelative'));
      else notes.push(msg('redis.noteAbsolute'));
      if (entry.details?.snapshot === 'scan') notes.push(msg('redis.noteScan'));
      return { ...probe, notes };
    });
  }

  async dump(out: Writable, _options?: { allowAbsent?: boolean }): Promise<DumpOutcome> {
    let probe: EngineProbe & { serverVersion: string };
    try {
      probe = await this.check('dump') as EngineProbe & { serverVersion: string };
    } catch (error) {
      out.destroy(error as Error);
      throw error;
    }
    const outcome = (details: Record<string, unknown>, warnings?: Msg[]): DumpOutcome => ({
      format: FORMAT_V2, ext: 'redis', tool: probe.tool, serverVersion: probe.serverVersion, details: { db: this.db, ...details },
      ...(warnings ? { warnings } : {}),
    });
    let refused: string | Msg = msg('redis.scanConfigured', { name: this.name });
    if (this.snapshotMode === 'sync') {
      try {
        const written = await this.dumpBySync(out);
        return outcome({ keys: written.keys, snapshot: 'rdb', rdbVersion: written.rdbVersion });
      } catch (error) {
        if (!(error instanceof SnapshotRefused)) {
          out.destroy(error as Error);
          throw error;
        }
        refused = error.local;
      }
    }
    // No replication snapshot for us (ACL without SYNC, managed Redis, a
    // replica cut off from its master…): read the keys one by one, and say so.
    const client = await this.client().catch((error: unknown) => {
      out.destroy(error as Error);
      throw error;
    });
    try {
      const written = await this.dumpByScan(client, this.db, out, probe.serverVersion);
      return outcome(
        { keys: written.keys, snapshot: 'scan', ...(written.rdbVersion ? { rdbVersion: written.rdbVersion } : {}) },
        [inDb(this.name, msg('redis.noSnapshot', { why: refused }))],
      );
    } finally {
      client.close();
    }
  }

  /**
   * A point-in-time dump: the server forks and saves a replication snapshot
   * (as for a new replica, what `redis-cli --rdb` reads), which is cut here
   * into per-key payloads of the configured db. Throws SnapshotRefused,
   * having written nothing to `out`, when the server will not give one.
   */
  private async dumpBySync(out: Writable): Promise<{ keys: number; rdbVersion: number }> {
    const client = await this.client();
    let data: AsyncIterable<Buffer>;
    try {
      // 7.0+: the server needs to send only the snapshot, not the replication stream after it.
      await client.call('REPLCONF', 'rdb-only', '1').catch(() => undefined);
      data = (await client.sync()).data;
    } catch (error) {
      client.close();
      if (error instanceof ReplyError) throw new SnapshotRefused(msg('redis.syncRefused', { error: error.local ?? error.message }));
      throw error;
    }
    let flushed = false;
    const writer = new RecordWriter(async (bytes) => {
      flushed = true;
      if (!out.write(bytes)) await drained(out);
    });
    const summary = { rdbVersion: 0, keys: 0, totalKeys: 0 };
    try {
      await writer.header();
      for await (const entry of rdbEntries(data, this.db, undefined, summary)) {
        await writer.record(entry.key, entry.expireAt, entry.payload);
      }
      await writer.end();
    } catch (error) {
      // Closes the connection (the generator's finally) before anything else.
      await (data as AsyncGenerator<Buffer>).return?.(undefined);
      if (isUnsupported(error) && !flushed) throw new SnapshotRefused(errorMsg(error));
      throw error;
    }
    out.end();
    return { keys: writer.count, rdbVersion: summary.rdbVersion };
  }

  /**
   * Every key of `db` (but our marker) with DUMP and its absolute expiry,
   * into `out` (which it ends, or destroys on failure). Consistent only when
   * nothing writes to `db` meanwhile: the parked copy, or a quiet database.
   */
  private async dumpByScan(client: RespClient, db: number, out: Writable, serverVersion: string, withDigest = false): Promise<{ keys: number; rdbVersion: number; digest: string }> {
    const writer = new RecordWriter(async (data) => {
      if (!out.write(data)) await drained(out);
    });
    const digest = withDigest ? new KeyDigest() : undefined;
    let rdbVersion = 0;
    try {
      await client.call('SELECT', db);
      const absolute = Number.parseInt(serverVersion, 10) >= 7; // PEXPIRETIME is 7.0+
      const now = absolute ? 0 : await serverTimeMs(client);
      await writer.header();
      // Each round trip carries DUMP + expiry of one SCAN batch and the next SCAN.
      let scan = client.call('SCAN', '0', 'COUNT', SCAN_COUNT);
      for (;;) {
        const [next, keys] = (await scan) as [Buffer, Buffer[]];
        const cursor = next.toString();
        const commands: Array<Array<string | number | Buffer>> = keys.flatMap((key) => [['DUMP', key], [absolute ? 'PEXPIRETIME' : 'PTTL', key]]);
        if (cursor !== '0') commands.push(['SCAN', cursor, 'COUNT', SCAN_COUNT]);
        const replies = client.batch(commands);
        if (cursor !== '0') scan = replies.pop()!;
        const values = await Promise.all(replies);
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i]!;
          if (key.equals(MARKER)) continue;
          const payload = values[2 * i] as Buffer | null;
          const ttl = values[2 * i + 1] as number;
          if (payload === null || ttl === -2) continue; // deleted since SCAN saw it
          const expireAt = ttl < 0 ? -1 : absolute ? ttl : now + ttl;
          rdbVersion = Math.max(rdbVersion, payloadRdbVersion(payload));
          digest?.add(key, expireAt, payload);
          await writer.record(key, expireAt, payload);
        }
        if (cursor === '0') break;
      }
      await writer.end();
      out.end();
      return { keys: writer.count, rdbVersion, digest: digest?.hex() ?? '' };
    } catch (error) {
      out.destroy(error as Error);
      throw error;
    }
  }

  tempObjects(jobId: string): TempObject[] {
    return [{ database: this.name, engine: this.engine, role: 'scratch', kind: 'redis db', name: this.scratchName(), jobId: safeJobId(jobId) }];
  }

  async stage(input: Readable, job: RestoreJob): Promise<void> {
    const jobId = safeJobId(job.jobId);
    const client = await this.client();
    let scratch: number;
    try {
      const state = await this.scratchState(client);
      scratch = state.scratch;
      const { marker, size } = state;
      if (this.ours(marker, jobId, ['parked'])) {
        throw new RollbackError(inDb(this.name, msg('redis.alreadySwapped', { job: jobId })));
      }
      if (marker === undefined && size > 0) {
        throw new ConflictError(inDb(this.name, msg('redis.scratchBusy', { scratch, size })), msg('redis.scratchEmptyHint', { name: this.name }));
      }
      if (marker && marker.db !== this.db) {
        throw new ConflictError(inDb(this.name, msg('redis.scratchOtherShort', { scratch, db: marker.db, job: marker.job })), msg('redis.scratchOwn'));
      }
      // Ours (this job's earlier attempt, or an earlier job's parked copy whose dump is stored): emptied.
      if (marker || size > 0) await client.call('FLUSHDB');
      await this.setMarker(client, { job: jobId, db: this.db, state: 'staging' });
    } catch (error) {
      client.close();
      throw error;
    }
    try {
      const now = await serverTimeMs(client);
      let failure: unknown;
      const fail = (error: unknown) => {
        failure ??= error instanceof ReplyError ? new CorruptSnapshotError(inDb(this.name, msg('redis.refusedKey', { error: error.message }))) : error;
      };
      // Batches of RESTOREs, a few in flight: round trips hidden, memory bounded.
      const inFlight: Array<Promise<unknown>> = [];
      let batch: Array<Array<string | number | Buffer>> = [];
      let batchBytes = 0;
      const send = async () => {
        if (batch.length === 0) return;
        inFlight.push(Promise.all(client.batch(batch).map((p) => p.catch(fail))));
        batch = [];
        batchBytes = 0;
        if (inFlight.length >= BATCHES_IN_FLIGHT) await inFlight.shift();
        if (failure) throw failure;
      };
      let relative = false;
      const records = readRecords(input, (format) => {
        relative = format === FORMAT_V1;
      });
      for await (const record of records) {
        if (job.signal.aborted) throw new CancelledError(inDb(this.name, msg('engine.cancelled')));
        if (relative) {
          batch.push(['RESTORE', record.key, record.expire < 0 ? 0 : record.expire, record.payload]);
        } else if (record.expire >= 0) {
          if (record.expire <= now) continue; // expired since the point: not brought back
          batch.push(['RESTORE', record.key, record.expire, record.payload, 'ABSTTL']);
        } else {
          batch.push(['RESTORE', record.key, 0, record.payload]);
        }
        batchBytes += record.key.length + record.payload.length;
        if (batch.length >= BATCH_KEYS || batchBytes >= BATCH_BYTES) await send();
      }
      await send();
      await Promise.all(inFlight);
      if (failure) throw failure;
      await this.setMarker(client, { job: jobId, db: this.db, state: 'staged' });
    } catch (error) {
      client.close();
      await this.discardStaged(job).catch(() => undefined);
      throw error;
    }
    client.close();
  }

  private async setMarker(client: RespClient, marker: Marker): Promise<void> {
    await client.call('SET', MARKER, JSON.stringify(marker));
  }

  /** SWAPDB live ↔ scratch with the marker moved along, in one MULTI/EXEC. */
  private async swapWithMarker(client: RespClient, scratch: number, marker: Marker): Promise<void> {
    await client.call('MULTI');
    const queued = [
      client.call('SELECT', scratch),
      client.call('DEL', MARKER),
      client.call('SWAPDB', this.db, scratch),
      client.call('SET', MARKER, JSON.stringify(marker)),
    ];
    const results = await Promise.allSettled(queued);
    const exec = (await client.call('EXEC')) as Reply[] | null;
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    const inner = (exec ?? []).find((r) => r instanceof ReplyError);
    if (failed || exec === null || inner) {
      const why = failed ? String((failed.reason as Error).message) : inner ? (inner as ReplyError).message : msg('redis.txAborted');
      throw new RollbackError(inDb(this.name, msg('redis.swapFailed', { db: this.db, scratch, why })));
    }
  }

  async swap(job: RestoreJob): Promise<void> {
    const jobId = safeJobId(job.jobId);
    await this.withClient(this.db, async (client) => {
      const { scratch, marker } = await this.scratchState(client);
      if (this.ours(marker, jobId, ['parked'])) return;
      if (!this.ours(marker, jobId, ['staged'])) {
        throw new RollbackError(inDb(this.name, msg('redis.notStaged', { job: jobId, scratch, state: marker ? msg('redis.markerState', { state: marker.state, job: marker.job }) : '' })));
      }
      await this.swapWithMarker(client, scratch, { job: jobId, db: this.db, state: 'parked' });
    });
  }

  async unswap(job: RestoreJob): Promise<void> {
    const jobId = safeJobId(job.jobId);
    await this.withClient(this.db, async (client) => {
      const { scratch, marker } = await this.scratchState(client);
      if (!this.ours(marker, jobId, ['parked'])) return;
      await this.swapWithMarker(client, scratch, { job: jobId, db: this.db, state: 'staged' });
    });
  }

  async discardStaged(job: RestoreJob): Promise<void> {
    await this.withClient(this.db, async (client) => {
      const { marker } = await this.scratchState(client);
      if (this.ours(marker, job.jobId, ['staging', 'staged'])) await client.call('FLUSHDB', 'ASYNC');
    });
  }

  async dumpParked(job: RestoreJob, out: Writable): Promise<DumpOutcome> {
    const jobId = safeJobId(job.jobId);
    let client: RespClient;
    let probe: EngineProbe & { serverVersion: string };
    let scratch: number;
    try {
      client = await this.client();
      probe = await this.probe(client);
      const state = await this.scratchState(client);
      scratch = state.scratch;
      if (!this.ours(state.marker, jobId, ['parked'])) {
        client.close();
        throw new RollbackError(inDb(this.name, msg('redis.noParked', { scratch, job: jobId })));
      }
    } catch (error) {
      out.destroy(error as Error);
      throw error;
    }
    try {
      // Nothing writes to the scratch db, so reading it key by key is a consistent snapshot.
      const written = await this.dumpByScan(client, scratch, out, probe.serverVersion, true);
      const parked: ParkedFacts = { jobId, db: this.db, scratch, keys: written.keys, digest: written.digest };
      return {
        format: FORMAT_V2, ext: 'redis', tool: probe.tool, serverVersion: probe.serverVersion,
        details: { db: this.db, keys: written.keys, snapshot: 'parked', ...(written.rdbVersion ? { rdbVersion: written.rdbVersion } : {}), parked },
      };
    } finally {
      client.close();
    }
  }

  async dropParked(jobId: string): Promise<void> {
    await this.withClient(this.db, async (client) => {
      const { marker } = await this.scratchState(client);
      if (this.ours(marker, jobId, ['parked'])) await client.call('FLUSHDB', 'ASYNC');
    });
  }

  async adoptParked(fromJobId: string, job: RestoreJob): Promise<boolean> {
    const from = safeJobId(fromJobId);
    const jobId = safeJobId(job.jobId);
    const recorded = job.entry.details?.parked as ParkedFacts | undefined;
    if (!recorded || recorded.jobId !== from || recorded.db !== this.db) return false;
    return this.withClient(this.db, async (client) => {
      const { scratch, marker, size } = await this.scratchState(client);
      if (this.ours(marker, jobId, ['staged']) && marker!.from === from) return true; // adopted by an earlier attempt
      if (!this.ours(marker, from, ['parked']) || scratch !== recorded.scratch || size - 1 !== recorded.keys) return false;
      // Proof that nobody changed it since its dump: the same keys, values and expiries.
      const digest = await this.digestDb(client, scratch);
      if (digest !== recorded.digest) return false;
      await this.setMarker(client, { job: jobId, db: this.db, state: 'staged', from });
      return true;
    });
  }

  private async digestDb(client: RespClient, db: number): Promise<string> {
    const sink = new PassThrough();
    sink.resume();
    const probe = await this.probe(client);
    return (await this.dumpByScan(client, db, sink, probe.serverVersion, true)).digest;
  }

  async leftovers(): Promise<TempObject[]> {
    return this.withClient(this.db, async (client) => {
      const { scratch, marker } = await this.scratchState(client);
      if (!marker || marker.db !== this.db) return [];
      return [{ database: this.name, engine: this.engine, role: marker.state === 'parked' ? 'parked' : 'staged', kind: 'redis db', name: String(scratch), jobId: marker.job }];
    });
  }

  /**
   * What the keys hold, not how Redis encoded them: each value decoded to a
   * canonical form (set members and hash fields sorted), with its absolute
   * expiry; keys whose expiry has passed are left out (a restore now would
   * not bring them back). Order-independent. v1 dumps only know whether a
   * key had a TTL, so they compare by that.
   */
  async digest(input: Readable): Promise<string> {
    const digest = new KeyDigest();
    const now = Date.now();
    let relative = false;
    for await (const record of readRecords(input, (format) => (relative = format === FORMAT_V1))) {
      if (!relative && record.expire >= 0 && record.expire <= now) continue;
      const value = canonicalValue(record.payload);
      const expire = relative ? (record.expire >= 0 ? 'ttl' : 'none') : record.expire;
      digest.add(record.key, expire, Buffer.from(value.type), ...value.parts);
    }
    return digest.hex();
  }

  async fingerprint(): Promise<string | null> {
    // Redis has no identity for a keyspace that survives SWAPDB, and no cheap
    // change counter per database: a revert is checked by the marker instead.
    return null;
  }
}

/** The server gives no snapshot we can read: fall back to reading keys one by one. */
class SnapshotRefused extends Error {
  constructor(readonly local: string | Msg) {
    super(english(local));
  }
}

/** Redis's own clock (expiries are judged by it, not by ours), in ms. */
async function serverTimeMs(client: RespClient): Promise<number> {
  const [seconds, micros] = (await client.call('TIME')) as [Buffer, Buffer];
  return Number(seconds.toString()) * 1000 + Math.floor(Number(micros.toString()) / 1000);
}

/** An order-independent digest of (key, expiry, value parts) entries: SCAN order is not stable. */
export class KeyDigest {
  private readonly acc = Buffer.alloc(32);
  private count = 0;
  add(key: Buffer, expire: number | string, ...parts: Buffer[]): void {
    const h = createHash('sha256');
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(key.length, 0);
    h.update(head).update(key).update(`\0${expire}\0`);
    for (const part of parts) {
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32BE(part.length, 0);
      h.update(len).update(part);
    }
    const d = h.digest();
    for (let i = 0; i < 32; i++) this.acc[i]! ^= d[i]!;
    this.count++;
  }
  hex(): string {
    return createHash('sha256').update(this.acc).update(String(this.count)).digest('hex');
  }
}
