// Reading Redis's RDB format: cutting a replication snapshot into the per-key
// payloads that DUMP writes and RESTORE takes (the RDB type byte and value
// exactly as the snapshot holds them, then the snapshot's RDB version and a
// CRC64 over both, as RedisShake does), and decoding a payload's value into a
// canonical form (set members and hash fields sorted, integers as decimal
// text) so that the same data compares equal whatever its encoding.
//
// Covers RDB versions up to 12 (Redis 7.4/8.x): every type and opcode Redis
// writes there, including streams with consumer groups (v1-v3), module values
// (v2: self-describing), functions and hash field expiries. A snapshot of a
// newer version is refused before anything is written, so the caller can fall
// back to reading keys one by one.
import { CorruptSnapshotError, RollbackError } from '../../core/errors.js';
import { msg } from '../../core/i18n.js';

/** The newest RDB version whose every type this reader can cut. */
export const MAX_RDB_VERSION = 12;

// ---------------------------------------------------------------------------
// CRC64 (Jones polynomial, reflected, as Redis computes it), on 32-bit halves.

const CRC_LO = new Uint32Array(256);
const CRC_HI = new Uint32Array(256);
{
  // Reflected form of 0xad93d23594c935a9.
  const polyHi = 0x95ac9329;
  const polyLo = 0xac4bc9b5;
  for (let i = 0; i < 256; i++) {
    let lo = i;
    let hi = 0;
    for (let bit = 0; bit < 8; bit++) {
      const carry = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi >>>= 1;
      if (carry) {
        lo = (lo ^ polyLo) >>> 0;
        hi = (hi ^ polyHi) >>> 0;
      }
    }
    CRC_LO[i] = lo;
    CRC_HI[i] = hi;
  }
}

export class Crc64 {
  private lo = 0;
  private hi = 0;
  update(data: Uint8Array, start = 0, end = data.length): this {
    let lo = this.lo;
    let hi = this.hi;
    for (let i = start; i < end; i++) {
      const index = (lo ^ data[i]!) & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ CRC_LO[index]!) >>> 0;
      hi = ((hi >>> 8) ^ CRC_HI[index]!) >>> 0;
    }
    this.lo = lo;
    this.hi = hi;
    return this;
  }
  clone(): Crc64 {
    const copy = new Crc64();
    copy.lo = this.lo;
    copy.hi = this.hi;
    return copy;
  }
  /** Little-endian, as Redis stores it. */
  bytes(): Buffer {
    const out = Buffer.allocUnsafe(8);
    out.writeUInt32LE(this.lo, 0);
    out.writeUInt32LE(this.hi, 4);
    return out;
  }
}

/** A DUMP/RESTORE payload: type byte + value, RDB version (u16le), CRC64 (u64le) of what precedes it. */
export function makePayload(type: number, value: Uint8Array, rdbVersion: number): Buffer {
  const payload = Buffer.allocUnsafe(1 + value.length + 10);
  payload[0] = type;
  payload.set(value, 1);
  payload.writeUInt16LE(rdbVersion, 1 + value.length);
  const crc = new Crc64().update(payload, 0, 1 + value.length + 2).bytes();
  crc.copy(payload, 1 + value.length + 2);
  return payload;
}

// ---------------------------------------------------------------------------
// A cursor over a buffer that throws NEED_MORE when a read runs past its end.

const NEED_MORE = Symbol('need more bytes');

class Unsupported extends RollbackError {}

function lzfDecompress(input: Uint8Array, outLen: number): Buffer {
  const out = Buffer.allocUnsafe(outLen);
  let i = 0;
  let o = 0;
  const bad = () => new CorruptSnapshotError(msg('rdb.lzf'));
  while (i < input.length) {
    const ctrl = input[i++]!;
    if (ctrl < 32) {
      if (o + ctrl + 1 > outLen || i + ctrl + 1 > input.length) throw bad();
      for (let x = 0; x <= ctrl; x++) out[o++] = input[i++]!;
    } else {
      let len = ctrl >> 5;
      if (len === 7) len += input[i++]!;
      let ref = o - ((ctrl & 0x1f) << 8) - input[i++]! - 1;
      if (ref < 0 || o + len + 2 > outLen) throw bad();
      for (let x = 0; x < len + 2; x++) out[o++] = out[ref++]!;
    }
  }
  if (o !== outLen) throw bad();
  return out;
}

class Cursor {
  constructor(
    readonly buf: Buffer,
    public pos: number,
  ) {}

  need(n: number): void {
    if (this.pos + n > this.buf.length) throw NEED_MORE;
  }

  byte(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A length, or (encoded = true) a string's special encoding number. */
  len(): { value: number; encoded: boolean } {
    const first = this.byte();
    switch (first >> 6) {
      case 0:
        return { value: first & 0x3f, encoded: false };
      case 1:
        return { value: ((first & 0x3f) << 8) | this.byte(), encoded: false };
      case 2:
        if (first === 0x80) {
          this.need(4);
          const v = this.buf.readUInt32BE(this.pos);
          this.pos += 4;
          return { value: v, encoded: false };
        }
        if (first === 0x81) {
          this.need(8);
          const v = Number(this.buf.readBigUInt64BE(this.pos));
          this.pos += 8;
          return { value: v, encoded: false };
        }
        throw new CorruptSnapshotError(msg('rdb.lengthByte', { byte: first.toString(16) }));
      default:
        return { value: first & 0x3f, encoded: true };
    }
  }

  length(): number {
    const l = this.len();
    if (l.encoded) throw new CorruptSnapshotError(msg('rdb.encodedLength'));
    return l.value;
  }

  skipString(): void {
    const l = this.len();
    if (!l.encoded) return this.skip(l.value);
    switch (l.value) {
      case 0:
        return this.skip(1);
      case 1:
        return this.skip(2);
      case 2:
        return this.skip(4);
      case 3: {
        const clen = this.length();
        this.length();
        return this.skip(clen);
      }
      default:
        throw new CorruptSnapshotError(msg('rdb.stringEncoding', { value: l.value }));
    }
  }

  /** A string's bytes, decoded (integer encodings become decimal text, LZF is inflated). */
  string(): Buffer {
    const l = this.len();
    if (!l.encoded) return this.bytes(l.value);
    switch (l.value) {
      case 0: {
        this.need(1);
        return Buffer.from(String(this.buf.readInt8(this.pos++)));
      }
      case 1: {
        this.need(2);
        const v = this.buf.readInt16LE(this.pos);
        this.pos += 2;
        return Buffer.from(String(v));
      }
      case 2: {
        this.need(4);
        const v = this.buf.readInt32LE(this.pos);
        this.pos += 4;
        return Buffer.from(String(v));
      }
      case 3: {
        const clen = this.length();
        const len = this.length();
        return lzfDecompress(this.bytes(clen), len);
      }
      default:
        throw new CorruptSnapshotError(msg('rdb.stringEncoding', { value: l.value }));
    }
  }

  /** Module value opcodes up to their EOF (module type v2 and module aux data). */
  skipModuleOps(): void {
    for (;;) {
      const op = this.length();
      switch (op) {
        case 0:
          return;
        case 1:
        case 2:
          this.length();
          break;
        case 3:
          this.skip(4);
          break;
        case 4:
          this.skip(8);
          break;
        case 5:
          this.skipString();
          break;
        default:
          throw new CorruptSnapshotError(msg('rdb.moduleOpcode', { op }));
      }
    }
  }
}

// RDB value types (rdb.h).
const T = {
  STRING: 0, LIST: 1, SET: 2, ZSET: 3, HASH: 4, ZSET_2: 5, MODULE_PRE_GA: 6, MODULE_2: 7,
  HASH_ZIPMAP: 9, LIST_ZIPLIST: 10, SET_INTSET: 11, ZSET_ZIPLIST: 12, HASH_ZIPLIST: 13, LIST_QUICKLIST: 14,
  STREAM_LISTPACKS: 15, HASH_LISTPACK: 16, ZSET_LISTPACK: 17, LIST_QUICKLIST_2: 18, STREAM_LISTPACKS_2: 19,
  SET_LISTPACK: 20, STREAM_LISTPACKS_3: 21, HASH_METADATA_PRE_GA: 22, HASH_LISTPACK_EX_PRE_GA: 23,
  HASH_METADATA: 24, HASH_LISTPACK_EX: 25,
} as const;

/** Advances past one value of RDB type `type`. */
function skipValue(c: Cursor, type: number): void {
  switch (type) {
    case T.STRING:
    case T.HASH_ZIPMAP:
    case T.LIST_ZIPLIST:
    case T.SET_INTSET:
    case T.ZSET_ZIPLIST:
    case T.HASH_ZIPLIST:
    case T.HASH_LISTPACK:
    case T.ZSET_LISTPACK:
    case T.SET_LISTPACK:
    case T.HASH_LISTPACK_EX_PRE_GA:
      return c.skipString();
    case T.LIST:
    case T.SET:
    case T.LIST_QUICKLIST: {
      for (let n = c.length(); n > 0; n--) c.skipString();
      return;
    }
    case T.ZSET: {
      for (let n = c.length(); n > 0; n--) {
        c.skipString();
        const b = c.byte();
        if (b < 253) c.skip(b); // 253-255: nan, +inf, -inf
      }
      return;
    }
    case T.ZSET_2: {
      for (let n = c.length(); n > 0; n--) {
        c.skipString();
        c.skip(8);
      }
      return;
    }
    case T.HASH: {
      for (let n = c.length() * 2; n > 0; n--) c.skipString();
      return;
    }
    case T.LIST_QUICKLIST_2: {
      for (let n = c.length(); n > 0; n--) {
        c.length(); // container: plain or packed
        c.skipString();
      }
      return;
    }
    case T.MODULE_2:
      c.length(); // module id
      return c.skipModuleOps();
    case T.HASH_METADATA:
    case T.HASH_METADATA_PRE_GA: {
      if (type === T.HASH_METADATA) c.skip(8); // min expiry
      for (let n = c.length(); n > 0; n--) {
        c.length(); // field TTL
        c.skipString();
        c.skipString();
      }
      return;
    }
    case T.HASH_LISTPACK_EX:
      c.skip(8); // min expiry
      return c.skipString();
    case T.STREAM_LISTPACKS:
    case T.STREAM_LISTPACKS_2:
    case T.STREAM_LISTPACKS_3:
      return skipStream(c, type);
    case T.MODULE_PRE_GA:
      throw new Unsupported(msg('rdb.moduleRc'));
    default:
      throw new Unsupported(msg('rdb.valueType', { type }));
  }
}

function skipStream(c: Cursor, type: number): void {
  for (let n = c.length(); n > 0; n--) {
    c.skipString(); // master entry ID
    c.skipString(); // listpack
  }
  c.length(); // entries
  c.length(); // last ID ms
  c.length(); // last ID seq
  if (type >= T.STREAM_LISTPACKS_2) {
    for (let i = 0; i < 5; i++) c.length(); // first ID, max deleted ID, entries added
  }
  for (let groups = c.length(); groups > 0; groups--) {
    c.skipString(); // name
    c.length(); // last ID ms
    c.length(); // last ID seq
    if (type >= T.STREAM_LISTPACKS_2) c.length(); // entries read
    for (let pel = c.length(); pel > 0; pel--) {
      c.skip(16); // ID
      c.skip(8); // delivery time
      c.length(); // delivery count
    }
    for (let consumers = c.length(); consumers > 0; consumers--) {
      c.skipString(); // name
      c.skip(8); // seen time
      if (type >= T.STREAM_LISTPACKS_3) c.skip(8); // active time
      for (let pel = c.length(); pel > 0; pel--) c.skip(16);
    }
  }
}

// ---------------------------------------------------------------------------
// The snapshot, item by item.

export interface RdbEntry {
  key: Buffer;
  /** Absolute unix ms, -1 when none. */
  expireAt: number;
  payload: Buffer;
}

export interface RdbSummary {
  rdbVersion: number;
  /** Keys in the wanted db, and in the snapshot. */
  keys: number;
  totalKeys: number;
}

/**
 * Cuts an RDB stream into entries of database `db`. `onHeader` runs once the
 * header is read and before the first entry (so a caller can refuse or start
 * writing); a version newer than MAX_RDB_VERSION rejects there, before any
 * entry. The stream must end right after the RDB's checksum, which is checked
 * when present.
 */
export async function* rdbEntries(source: AsyncIterable<Buffer>, db: number, onHeader?: (rdbVersion: number) => void, summary?: RdbSummary): AsyncGenerator<RdbEntry> {
  let buf: Buffer = Buffer.alloc(0);
  let pos = 0;
  /** Don't retry a parse until this many bytes are buffered past `pos` (amortises big values). */
  let wanted = 0;
  let version = -1;
  let currentDb = 0;
  let expireAt = -1;
  let ended = false;
  const crc = new Crc64();
  let keys = 0;
  let totalKeys = 0;
  const iterator = source[Symbol.asyncIterator]();
  let sourceDone = false;

  const more = async (): Promise<boolean> => {
    const next = await iterator.next();
    if (next.done) {
      sourceDone = true;
      return false;
    }
    crc.update(buf, 0, pos); // bytes consumed so far are final
    buf = buf.length - pos === 0 ? next.value : Buffer.concat([buf.subarray(pos), next.value]);
    pos = 0;
    return true;
  };

  for (;;) {
    if (buf.length - pos < wanted && !sourceDone) {
      await more();
      continue;
    }
    const c = new Cursor(buf, pos);
    let entry: RdbEntry | undefined;
    try {
      if (version < 0) {
        const head = c.bytes(9).toString('latin1');
        if (!head.startsWith('REDIS') || !/^\d{4}$/.test(head.slice(5))) throw new CorruptSnapshotError(msg('rdb.notRdb'));
        version = Number(head.slice(5));
        if (version > MAX_RDB_VERSION) throw new Unsupported(msg('rdb.newer', { version, max: MAX_RDB_VERSION }));
        onHeader?.(version);
      } else if (ended) {
        // Checksum (RDB ≥ 5): CRC64 of everything before it; 0 means the server has rdbchecksum off.
        if (version >= 5) {
          const got = c.bytes(8);
          // `crc` holds what was dropped from the buffer at each refill; the rest is buf[0, pos).
          const expected = crc.clone().update(buf, 0, pos).bytes();
          if (!got.equals(Buffer.alloc(8)) && !got.equals(expected)) throw new CorruptSnapshotError(msg('rdb.checksum'));
        }
        if (c.pos < buf.length) throw new CorruptSnapshotError(msg('rdb.trailing'));
        pos = c.pos;
        if (!sourceDone && (await more())) {
          if (buf.length - pos > 0) throw new CorruptSnapshotError(msg('rdb.trailing'));
        }
        break;
      } else {
        const type = c.byte();
        switch (type) {
          case 0xff: // EOF
            ended = true;
            break;
          case 0xfe: // SELECTDB
            currentDb = c.length();
            break;
          case 0xfd: // EXPIRETIME (seconds)
            c.need(4);
            expireAt = c.buf.readInt32LE(c.pos) * 1000;
            c.pos += 4;
            break;
          case 0xfc: // EXPIRETIME_MS
            c.need(8);
            expireAt = Number(c.buf.readBigInt64LE(c.pos));
            c.pos += 8;
            break;
          case 0xfb: // RESIZEDB
            c.length();
            c.length();
            break;
          case 0xfa: // AUX
            c.skipString();
            c.skipString();
            break;
          case 0xf9: // FREQ
            c.skip(1);
            break;
          case 0xf8: // IDLE
            c.length();
            break;
          case 0xf7: // MODULE_AUX
            c.length();
            c.length();
            c.length();
            c.skipModuleOps();
            break;
          case 0xf6:
            throw new Unsupported(msg('rdb.functionsRc'));
          case 0xf5: // FUNCTION2
            c.skipString();
            break;
          case 0xf4: // SLOT_INFO
            c.length();
            c.length();
            c.length();
            break;
          default: {
            const key = c.string();
            const start = c.pos;
            skipValue(c, type);
            totalKeys++;
            if (currentDb === db) {
              keys++;
              // Copies: the value must outlive the buffer it was cut from.
              entry = { key: Buffer.from(key), expireAt, payload: makePayload(type, c.buf.subarray(start, c.pos), version) };
            }
            expireAt = -1;
          }
        }
      }
    } catch (error) {
      if (error !== NEED_MORE) throw error;
      if (sourceDone) throw new CorruptSnapshotError(msg('rdb.truncated'));
      wanted = Math.max(64, (buf.length - pos) * 2);
      continue;
    }
    pos = c.pos;
    wanted = 0;
    if (entry) yield entry;
  }
  if (summary) Object.assign(summary, { rdbVersion: version, keys, totalKeys });
}

export function isUnsupported(error: unknown): boolean {
  return error instanceof Unsupported;
}

// ---------------------------------------------------------------------------
// Canonical values, for digests that compare data rather than encodings.

function listpackItems(lp: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const count = lp.readUInt16LE(4);
  let p = 6;
  const backlen = (l: number) => (l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5);
  const int = (v: bigint | number) => Buffer.from(String(v));
  for (;;) {
    const b = lp[p]!;
    if (b === 0xff) break;
    if ((b & 0x80) === 0) {
      out.push(int(b & 0x7f));
      p += 1 + backlen(1);
    } else if ((b & 0xc0) === 0x80) {
      const len = b & 0x3f;
      out.push(lp.subarray(p + 1, p + 1 + len));
      p += 1 + len + backlen(1 + len);
    } else if ((b & 0xe0) === 0xc0) {
      let v = ((b & 0x1f) << 8) | lp[p + 1]!;
      if (v >= 1 << 12) v -= 1 << 13;
      out.push(int(v));
      p += 2 + backlen(2);
    } else if ((b & 0xf0) === 0xe0) {
      const len = ((b & 0x0f) << 8) | lp[p + 1]!;
      out.push(lp.subarray(p + 2, p + 2 + len));
      p += 2 + len + backlen(2 + len);
    } else if (b === 0xf0) {
      const len = lp.readUInt32LE(p + 1);
      out.push(lp.subarray(p + 5, p + 5 + len));
      p += 5 + len + backlen(5 + len);
    } else if (b === 0xf1) {
      out.push(int(lp.readInt16LE(p + 1)));
      p += 3 + backlen(3);
    } else if (b === 0xf2) {
      out.push(int(lp.readIntLE(p + 1, 3)));
      p += 4 + backlen(4);
    } else if (b === 0xf3) {
      out.push(int(lp.readInt32LE(p + 1)));
      p += 5 + backlen(5);
    } else if (b === 0xf4) {
      out.push(int(lp.readBigInt64LE(p + 1)));
      p += 9 + backlen(9);
    } else {
      throw new CorruptSnapshotError(msg('rdb.listpackEncoding', { byte: b.toString(16) }));
    }
  }
  if (count !== 65535 && out.length !== count) throw new CorruptSnapshotError(msg('rdb.listpackCount'));
  return out;
}

function ziplistItems(zl: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let p = 10;
  for (;;) {
    if (zl[p] === 0xff) break;
    p += zl[p] === 0xfe ? 5 : 1; // prevlen
    const b = zl[p]!;
    switch (b >> 6) {
      case 0: {
        const len = b & 0x3f;
        out.push(zl.subarray(p + 1, p + 1 + len));
        p += 1 + len;
        continue;
      }
      case 1: {
        const len = ((b & 0x3f) << 8) | zl[p + 1]!;
        out.push(zl.subarray(p + 2, p + 2 + len));
        p += 2 + len;
        continue;
      }
      case 2: {
        const len = zl.readUInt32BE(p + 1);
        out.push(zl.subarray(p + 5, p + 5 + len));
        p += 5 + len;
        continue;
      }
    }
    const int = (v: bigint | number) => Buffer.from(String(v));
    if (b === 0xc0) {
      out.push(int(zl.readInt16LE(p + 1)));
      p += 3;
    } else if (b === 0xd0) {
      out.push(int(zl.readInt32LE(p + 1)));
      p += 5;
    } else if (b === 0xe0) {
      out.push(int(zl.readBigInt64LE(p + 1)));
      p += 9;
    } else if (b === 0xf0) {
      out.push(int(zl.readIntLE(p + 1, 3)));
      p += 4;
    } else if (b === 0xfe) {
      out.push(int(zl.readInt8(p + 1)));
      p += 2;
    } else if (b >> 4 === 0x0f && (b & 0x0f) >= 1 && (b & 0x0f) <= 13) {
      out.push(int((b & 0x0f) - 1));
      p += 1;
    } else {
      throw new CorruptSnapshotError(msg('rdb.ziplistEncoding', { byte: b.toString(16) }));
    }
  }
  return out;
}

function intsetItems(is: Buffer): Buffer[] {
  const width = is.readUInt32LE(0);
  const n = is.readUInt32LE(4);
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const at = 8 + i * width;
    const v = width === 2 ? is.readInt16LE(at) : width === 4 ? is.readInt32LE(at) : is.readBigInt64LE(at);
    out.push(Buffer.from(String(v)));
  }
  return out;
}

/** "2.5", "inf", "-inf" from a score however it was stored. */
function score(text: Buffer | number): string {
  const v = typeof text === 'number' ? text : Number(text.toString());
  return v === Infinity ? 'inf' : v === -Infinity ? '-inf' : String(v);
}

function pairs(items: Buffer[]): Array<[Buffer, Buffer]> {
  const out: Array<[Buffer, Buffer]> = [];
  for (let i = 0; i + 1 < items.length; i += 2) out.push([items[i]!, items[i + 1]!]);
  return out;
}

const byBytes = (a: Buffer, b: Buffer) => Buffer.compare(a, b);

/**
 * The logical type and a canonical byte form of a DUMP payload's value:
 * equal for equal data in any encoding. Types whose bytes are already
 * canonical (streams, modules, hashes with field expiries) keep their raw
 * value bytes.
 */
export function canonicalValue(payload: Buffer): { type: string; parts: Buffer[] } {
  const type = payload[0]!;
  const c = new Cursor(payload.subarray(0, payload.length - 10), 1);
  switch (type) {
    case T.STRING:
      return { type: 'string', parts: [c.string()] };
    case T.LIST: {
      const items: Buffer[] = [];
      for (let n = c.length(); n > 0; n--) items.push(c.string());
      return { type: 'list', parts: items };
    }
    case T.LIST_ZIPLIST:
      return { type: 'list', parts: ziplistItems(c.string()) };
    case T.LIST_QUICKLIST: {
      const items: Buffer[] = [];
      for (let n = c.length(); n > 0; n--) items.push(...ziplistItems(c.string()));
      return { type: 'list', parts: items };
    }
    case T.LIST_QUICKLIST_2: {
      const items: Buffer[] = [];
      for (let n = c.length(); n > 0; n--) {
        const container = c.length();
        const data = c.string();
        if (container === 1) items.push(data); // plain node: one big element
        else items.push(...listpackItems(data));
      }
      return { type: 'list', parts: items };
    }
    case T.SET: {
      const items: Buffer[] = [];
      for (let n = c.length(); n > 0; n--) items.push(c.string());
      return { type: 'set', parts: items.sort(byBytes) };
    }
    case T.SET_INTSET:
      return { type: 'set', parts: intsetItems(c.string()).sort(byBytes) };
    case T.SET_LISTPACK:
      return { type: 'set', parts: listpackItems(c.string()).sort(byBytes) };
    case T.ZSET:
    case T.ZSET_2: {
      const items: Array<[Buffer, Buffer]> = [];
      for (let n = c.length(); n > 0; n--) {
        const member = c.string();
        let s: string;
        if (type === T.ZSET_2) {
          c.need(8);
          s = score(c.buf.readDoubleLE(c.pos));
          c.pos += 8;
        } else {
          const b = c.byte();
          s = b === 253 ? 'nan' : b === 254 ? 'inf' : b === 255 ? '-inf' : score(c.bytes(b));
        }
        items.push([member, Buffer.from(s)]);
      }
      return { type: 'zset', parts: items.sort((a, b) => byBytes(a[0], b[0])).flat() };
    }
    case T.ZSET_ZIPLIST:
    case T.ZSET_LISTPACK: {
      const items = pairs(type === T.ZSET_ZIPLIST ? ziplistItems(c.string()) : listpackItems(c.string()));
      return { type: 'zset', parts: items.map(([m, s]) => [m, Buffer.from(score(s))] as [Buffer, Buffer]).sort((a, b) => byBytes(a[0], b[0])).flat() };
    }
    case T.HASH: {
      const items: Array<[Buffer, Buffer]> = [];
      for (let n = c.length(); n > 0; n--) items.push([c.string(), c.string()]);
      return { type: 'hash', parts: items.sort((a, b) => byBytes(a[0], b[0])).flat() };
    }
    case T.HASH_ZIPLIST:
    case T.HASH_LISTPACK: {
      const items = pairs(type === T.HASH_ZIPLIST ? ziplistItems(c.string()) : listpackItems(c.string()));
      return { type: 'hash', parts: items.sort((a, b) => byBytes(a[0], b[0])).flat() };
    }
    default: {
      const streams: number[] = [T.STREAM_LISTPACKS, T.STREAM_LISTPACKS_2, T.STREAM_LISTPACKS_3];
      const name = streams.includes(type) ? 'stream' : type === T.MODULE_2 ? 'module' : type === T.HASH_ZIPMAP || type >= T.HASH_METADATA_PRE_GA ? 'hash' : `type${type}`;
      return { type: name, parts: [payload.subarray(1, payload.length - 10)] };
    }
  }
}
