// The Redis dump format: a small length-prefixed file of keys.
//
//   "GITROLLBACK-REDIS <v>\n"
//   then per key:  'K' u32be(keyLen) key  i64be(expiry)  u32be(len) payload
//   then:          'E' u64be(keyCount)   -- a dump without it is truncated
//
// payload is what DUMP returns and RESTORE takes: the RDB type byte and value,
// the RDB version (u16le) and a CRC64 (u64le) over both.
// v1 (redis-dump-v1): expiry = remaining ms at dump time (PTTL), -1 = none.
// v2 (redis-dump-v2): expiry = absolute unix time in ms (the server's clock), -1 = none.
import type { Readable } from 'node:stream';
import { CorruptSnapshotError } from '../../core/errors.js';
import { msg } from '../../core/i18n.js';

export const FORMAT_V1 = 'redis-dump-v1';
export const FORMAT_V2 = 'redis-dump-v2';
const MAGIC_PREFIX = 'GITROLLBACK-REDIS ';
const MAGIC_V1 = Buffer.from(`${MAGIC_PREFIX}1\n`);
const MAGIC_V2 = Buffer.from(`${MAGIC_PREFIX}2\n`);

export interface RedisRecord {
  key: Buffer;
  /** v1: remaining ms; v2: absolute unix ms. -1: no expiry. */
  expire: number;
  payload: Buffer;
}

/** The RDB version a DUMP payload was written with (its 10th byte from the end). */
export function payloadRdbVersion(payload: Buffer): number {
  return payload.length >= 10 ? payload.readUInt16LE(payload.length - 10) : 0;
}

/** Writes v2 records through `write` (which applies back-pressure). */
export class RecordWriter {
  count = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly write: (data: Buffer) => Promise<void>) {}

  async header(): Promise<void> {
    await this.write(MAGIC_V2);
  }

  async record(key: Buffer, expireAt: number, payload: Buffer): Promise<void> {
    const head = Buffer.allocUnsafe(5);
    head.write('K', 0);
    head.writeUInt32BE(key.length, 1);
    const mid = Buffer.allocUnsafe(12);
    mid.writeBigInt64BE(BigInt(expireAt), 0);
    mid.writeUInt32BE(payload.length, 8);
    this.pending.push(head, key, mid, payload);
    this.pendingBytes += 17 + key.length + payload.length;
    this.count++;
    // Small keys are batched: one write per 64 KiB, not four per key.
    if (this.pendingBytes >= 64 * 1024) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.write(data);
  }

  async end(): Promise<void> {
    const tail = Buffer.alloc(9);
    tail.write('E', 0);
    tail.writeBigUInt64BE(BigInt(this.count), 1);
    this.pending.push(tail);
    this.pendingBytes += tail.length;
    await this.flush();
  }
}

/**
 * Parses either version incrementally; `onFormat` learns which before the
 * first record. Throws CorruptSnapshotError on anything malformed or truncated.
 */
export async function* readRecords(input: Readable, onFormat?: (format: string) => void): AsyncGenerator<RedisRecord> {
  let buf: Buffer = Buffer.alloc(0);
  let headerSeen = false;
  let count = 0;
  let ended = false;
  const bad = (why: string) => new CorruptSnapshotError(msg('redis.malformed', { why }));
  for await (const piece of input) {
    buf = buf.length === 0 ? (piece as Buffer) : Buffer.concat([buf, piece as Buffer]);
    if (!headerSeen) {
      if (buf.length < MAGIC_V1.length) continue;
      const head = buf.subarray(0, MAGIC_V1.length);
      if (head.equals(MAGIC_V1)) onFormat?.(FORMAT_V1);
      else if (head.equals(MAGIC_V2)) onFormat?.(FORMAT_V2);
      else throw bad('unknown header');
      buf = buf.subarray(MAGIC_V1.length);
      headerSeen = true;
    }
    let at = 0;
    for (;;) {
      if (ended) {
        if (at < buf.length) throw bad('data after the end marker');
        break;
      }
      if (buf.length - at < 1) break;
      const tag = buf[at];
      if (tag === 0x45 /* E */) {
        if (buf.length - at < 9) break;
        const expected = Number(buf.readBigUInt64BE(at + 1));
        if (expected !== count) throw bad(`end marker says ${expected} keys, found ${count}`);
        at += 9;
        ended = true;
        continue;
      }
      if (tag !== 0x4b /* K */) throw bad(`unexpected record type ${tag}`);
      if (buf.length - at < 5) break;
      const keyLen = buf.readUInt32BE(at + 1);
      if (buf.length - at < 5 + keyLen + 12) break;
      const expire = Number(buf.readBigInt64BE(at + 5 + keyLen));
      const len = buf.readUInt32BE(at + 5 + keyLen + 8);
      const end = at + 5 + keyLen + 12 + len;
      if (buf.length < end) break;
      const record = { key: buf.subarray(at + 5, at + 5 + keyLen), expire, payload: buf.subarray(at + 5 + keyLen + 12, end) };
      at = end;
      count++;
      yield record;
    }
    // Records point into `buf`; the next concat copies, so they stay valid.
    buf = buf.subarray(at);
  }
  if (!headerSeen) throw bad('empty or truncated header');
  if (!ended) throw bad('truncated (no end marker)');
}
