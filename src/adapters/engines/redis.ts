// Redis: every key of the configured database with its remaining TTL
// (SCAN + DUMP + PTTL), in a small length-prefixed file:
//
//   "GITROLLBACK-REDIS 1\n"
//   then per key:  'K' u32be(keyLen) key  i64be(pttl ms, -1 = none)  u32be(len) DUMP-payload
//   then:          'E' u64be(keyCount)   -- a dump without it is truncated
//
// Restore (docs/decisions.md, "Redis restore"): stage RESTOREs every key into
// an empty scratch database on the same server (default: the last one,
// `databases - 1`), so every payload has been accepted by Redis before
// anything live changes; swap is one SWAPDB, which Redis executes atomically:
// clients see the old keyspace, then exactly the snapshot (keys made since
// are gone). unswap is SWAPDB again. MULTI/FLUSHDB/RESTORE…/EXEC was the
// alternative: it blocks the server for the whole restore, and Redis does not
// roll a transaction back when one RESTORE in it fails (bad payload, newer
// RDB version), which would leave a flushed, half-restored database.
// Costs of the choice: the server holds both copies for a moment (memory),
// it needs Redis >= 4.0 and a spare database number, so not Redis Cluster.
//
// TTLs are stored as remaining milliseconds and restored relative to the
// restore time: a session with 10 minutes left gets 10 minutes again.
// SCAN is not a point-in-time snapshot: keys written during the dump may
// be seen at slightly different moments (stop writers for an exact one).
import type { Readable, Writable } from 'node:stream';
import type { DatabaseConfig, DumpOutcome, Engine, EngineProbe, RestoreStrategy, StagedRestore } from '../../core/engine.js';
import type { DatabaseEntry } from '../../core/types.js';
import { CorruptSnapshotError, RollbackError } from '../../core/errors.js';
import { drained } from '../piped.js';
import { describeUrl, guardedRestore, parseDbUrl, validateKeys, type EngineContext, type ParsedUrl } from './common.js';
import { ReplyError, RespClient, type Reply } from './resp.js';

const MAGIC = Buffer.from('GITROLLBACK-REDIS 1\n');
const SCAN_COUNT = 500;
/** Commands in flight while restoring: enough to hide round trips, bounded memory. */
const IN_FLIGHT = 256;

export class RedisEngine implements Engine {
  readonly engine = 'redis';
  readonly name: string;
  private readonly url: ParsedUrl;
  private readonly db: number;
  private readonly scratchConfig: number | undefined;

  constructor(config: DatabaseConfig, _ctx: EngineContext) {
    validateKeys(config, { url: 'string' }, { scratchDb: 'integer' });
    this.name = config.name;
    this.url = parseDbUrl(config, ['redis']);
    const db = this.url.database === '' ? 0 : Number(this.url.database);
    if (!Number.isInteger(db) || db < 0) throw new RollbackError(`databases.${config.name}.url: expected redis://[:password@]host:port/<db number>`);
    this.db = db;
    this.scratchConfig = config.scratchDb as number | undefined;
    if (this.scratchConfig === db) throw new RollbackError(`databases.${config.name}.scratchDb: must differ from the database in the URL (${db})`);
  }

  describe(): string {
    return describeUrl(this.url, String(this.db));
  }

  strategy(): RestoreStrategy {
    return {
      text: `RESTORE every key into scratch db ${this.scratchConfig ?? '(last)'} , then SWAPDB ${this.db} with it (atomic)`,
      downtime: 'none: clients switch from the old keyspace to the snapshot in one step',
    };
  }

  private async client(): Promise<RespClient> {
    const where = `${this.url.host}:${this.url.port ?? 6379}`;
    const client = await RespClient.open(this.url.host || '127.0.0.1', this.url.port ?? 6379, where);
    try {
      if (this.url.password) {
        await (this.url.user ? client.call('AUTH', this.url.user, this.url.password) : client.call('AUTH', this.url.password));
      }
      await client.call('SELECT', this.db);
      return client;
    } catch (error) {
      client.close();
      if (error instanceof ReplyError) {
        // Redis error texts never contain the password; ours neither.
        const auth = /WRONGPASS|NOAUTH|invalid password|invalid username/i.test(error.message);
        throw new RollbackError(`redis at ${where}: ${error.message}`, auth ? 'wrong or missing password in databases.<name>.url' : undefined);
      }
      throw error;
    }
  }

  private async scratchDb(client: RespClient): Promise<number> {
    if (this.scratchConfig !== undefined) return this.scratchConfig;
    let count = 16;
    try {
      const reply = (await client.call('CONFIG', 'GET', 'databases')) as Reply[];
      const value = Number(String(reply[1] ?? '16'));
      if (Number.isInteger(value) && value > 0) count = value;
    } catch {
      // CONFIG is often renamed away on managed servers: assume the default.
    }
    const scratch = count - 1;
    if (scratch === this.db) throw new RollbackError(`database ${this.name}: db ${this.db} is the last one, which the restore uses as scratch space`, `set databases.${this.name}.scratchDb to an unused database number`);
    return scratch;
  }

  async check(): Promise<EngineProbe> {
    const client = await this.client();
    try {
      const info = String(await client.call('INFO', 'server')) + String(await client.call('INFO', 'cluster'));
      const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
      if (/cluster_enabled:1/.test(info)) throw new RollbackError(`database ${this.name}: Redis Cluster is not supported (it has one database, so no SWAPDB)`);
      if (Number.parseInt(version, 10) < 4) throw new RollbackError(`database ${this.name}: Redis ${version} has no SWAPDB; 4.0 or newer is needed`);
      return { tool: 'git-rollback resp', serverVersion: version };
    } finally {
      client.close();
    }
  }

  async dump(out: Writable): Promise<DumpOutcome> {
    let client: RespClient;
    let probe: EngineProbe;
    try {
      probe = await this.check();
      client = await this.client();
    } catch (error) {
      out.destroy(error as Error);
      throw error;
    }
    const write = async (data: Buffer) => {
      if (!out.write(data)) await drained(out);
    };
    let keys = 0;
    try {
      await write(MAGIC);
      let cursor = '0';
      do {
        const [next, batch] = (await client.call('SCAN', cursor, 'COUNT', SCAN_COUNT)) as [Buffer, Buffer[]];
        cursor = next.toString();
        const replies = await Promise.all(batch.map((key) => Promise.all([client.call('DUMP', key), client.call('PTTL', key)])));
        for (let i = 0; i < batch.length; i++) {
          const [payload, pttl] = replies[i] as [Buffer | null, number];
          if (payload === null || pttl === -2) continue; // deleted since SCAN saw it
          const key = batch[i]!;
          const head = Buffer.alloc(1 + 4);
          head.write('K', 0);
          head.writeUInt32BE(key.length, 1);
          const mid = Buffer.alloc(8 + 4);
          mid.writeBigInt64BE(BigInt(pttl < 0 ? -1 : pttl), 0);
          mid.writeUInt32BE(payload.length, 8);
          await write(Buffer.concat([head, key, mid, payload]));
          keys++;
        }
      } while (cursor !== '0');
      const tail = Buffer.alloc(9);
      tail.write('E', 0);
      tail.writeBigUInt64BE(BigInt(keys), 1);
      await write(tail);
      out.end();
    } catch (error) {
      out.destroy(error as Error);
      throw error;
    } finally {
      client.close();
    }
    return { format: 'redis-dump-v1', ext: 'redis', tool: probe.tool, serverVersion: probe.serverVersion, details: { db: this.db, keys } };
  }

  async stage(input: Readable): Promise<StagedRestore> {
    const client = await this.client();
    let scratch: number;
    try {
      scratch = await this.scratchDb(client);
      await client.call('SELECT', scratch);
      const size = Number(await client.call('DBSIZE'));
      if (size !== 0) {
        throw new RollbackError(
          `database ${this.name}: scratch db ${scratch} is not empty (${size} keys); the restore needs it empty`,
          `empty it, or set databases.${this.name}.scratchDb to an unused database number`,
        );
      }
    } catch (error) {
      client.close();
      throw error;
    }
    const flushScratch = async () => {
      const c = await this.client();
      try {
        await c.call('SELECT', scratch);
        await c.call('FLUSHDB');
      } finally {
        c.close();
      }
    };
    try {
      const inFlight = new Set<Promise<unknown>>();
      let failure: unknown;
      for await (const record of readRecords(input)) {
        const ttl = record.pttl < 0 ? 0 : record.pttl;
        const p: Promise<unknown> = client.call('RESTORE', record.key, ttl, record.payload).catch((error: unknown) => {
          failure ??= error instanceof ReplyError ? new CorruptSnapshotError(`redis refused a stored key: ${error.message}`) : error;
        });
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
        if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
        if (failure) throw failure;
      }
      await Promise.all(inFlight);
      if (failure) throw failure;
    } catch (error) {
      client.close();
      await flushScratch().catch(() => undefined);
      throw error;
    }
    client.close();

    const swapdb = async () => {
      const c = await this.client();
      try {
        await c.call('SWAPDB', this.db, scratch);
      } finally {
        c.close();
      }
    };
    return guardedRestore(this.name, {
      async swap() {
        await swapdb();
        return undefined;
      },
      async unswap() {
        await swapdb();
      },
      async discard() {
        // The scratch db holds the staged copy (before swap / after unswap)
        // or the previous live keyspace (after swap): either way it must be
        // empty for the next restore, and the backup point has the old state.
        await flushScratch();
      },
    });
  }
}

interface RedisRecord {
  key: Buffer;
  pttl: number;
  payload: Buffer;
}

/** Parses the dump format incrementally; throws CorruptSnapshotError on anything malformed or truncated. */
export async function* readRecords(input: Readable): AsyncGenerator<RedisRecord> {
  let buf: Buffer = Buffer.alloc(0);
  let headerSeen = false;
  let count = 0;
  let ended = false;
  const bad = (why: string) => new CorruptSnapshotError(`redis dump is malformed: ${why}`);
  for await (const piece of input) {
    buf = buf.length === 0 ? (piece as Buffer) : Buffer.concat([buf, piece as Buffer]);
    if (!headerSeen) {
      if (buf.length < MAGIC.length) continue;
      if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw bad('unknown header');
      buf = buf.subarray(MAGIC.length);
      headerSeen = true;
    }
    for (;;) {
      if (ended) {
        if (buf.length > 0) throw bad('data after the end marker');
        break;
      }
      if (buf.length < 1) break;
      const tag = buf[0];
      if (tag === 0x45 /* E */) {
        if (buf.length < 9) break;
        const expected = Number(buf.readBigUInt64BE(1));
        if (expected !== count) throw bad(`end marker says ${expected} keys, found ${count}`);
        buf = buf.subarray(9);
        ended = true;
        continue;
      }
      if (tag !== 0x4b /* K */) throw bad(`unexpected record type ${tag}`);
      if (buf.length < 5) break;
      const keyLen = buf.readUInt32BE(1);
      if (buf.length < 5 + keyLen + 12) break;
      const pttl = Number(buf.readBigInt64BE(5 + keyLen));
      const len = buf.readUInt32BE(5 + keyLen + 8);
      const end = 5 + keyLen + 12 + len;
      if (buf.length < end) break;
      const record = { key: Buffer.from(buf.subarray(5, 5 + keyLen)), pttl, payload: Buffer.from(buf.subarray(5 + keyLen + 12, end)) };
      buf = buf.subarray(end);
      count++;
      yield record;
    }
  }
  if (!headerSeen) throw bad('empty or truncated header');
  if (!ended) throw bad('truncated (no end marker)');
}
