// The RDB reader on hand-made snapshots: entries of the wanted database only,
// with their expiries and DUMP-style payloads; any chunking of the stream
// (down to one byte at a time); integer and LZF strings; the checksum, a
// truncated stream and a newer RDB version are caught.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { canonicalValue, Crc64, isUnsupported, makePayload, rdbEntries, type RdbEntry } from '../../src/adapters/engines/redis-rdb.js';

const str = (s: string) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)]);
const expireAt = 1_900_000_000_123;

function rdb(version = '0010', corruptCrc = false): Buffer {
  const expiry = Buffer.alloc(8);
  expiry.writeBigInt64LE(BigInt(expireAt));
  const lzfValue = Buffer.from([0xc3, 0x05, 0x0a, 0x00, 0x61, 0xe0, 0x00, 0x00]); // "aaaaaaaaaa"
  const intsetValue = (() => {
    const is = Buffer.alloc(8 + 3 * 2);
    is.writeUInt32LE(2, 0);
    is.writeUInt32LE(3, 4);
    [7, -3, 300].sort((a, b) => a - b).forEach((v, i) => is.writeInt16LE(v, 8 + i * 2));
    return Buffer.concat([Buffer.from([is.length]), is]);
  })();
  const body = Buffer.concat([
    Buffer.from(`REDIS${version}`),
    Buffer.from([0xfa]), str('redis-ver'), str('7.0.15'),
    Buffer.from([0xfe, 0x00, 0xfb, 0x03, 0x01]),
    Buffer.from([0xfc]), expiry, Buffer.from([0x00, 0xc0, 42]), lzfValue, // "42" (int-encoded key) = 10 × "a", expiring
    Buffer.from([0x00]), str('k2'), str('v'),
    Buffer.from([0x0b]), str('ints'), intsetValue, // SET_INTSET
    Buffer.from([0xfe, 0x01]),
    Buffer.from([0x00]), str('other-db'), str('x'),
    Buffer.from([0xff]),
  ]);
  const crc = new Crc64().update(body).bytes();
  if (corruptCrc) crc[0]! ^= 1;
  return Buffer.concat([body, crc]);
}

async function entries(data: Buffer, db: number, chunk: number): Promise<RdbEntry[]> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) pieces.push(data.subarray(i, i + chunk));
  const out: RdbEntry[] = [];
  for await (const e of rdbEntries(Readable.from(pieces), db)) out.push(e);
  return out;
}

describe('RDB reader', () => {
  it('computes Redis\'s CRC64', () => {
    assert.equal(new Crc64().update(Buffer.from('123456789')).bytes().readBigUInt64LE(0), 0xe9c6d914c4b8d9can);
  });

  it('cuts the wanted database into payloads, whatever the chunking', async () => {
    for (const chunk of [1, 3, 7, 64, 1 << 20]) {
      const got = await entries(rdb(), 0, chunk);
      assert.deepEqual(got.map((e) => [e.key.toString(), e.expireAt]), [['42', expireAt], ['k2', -1], ['ints', -1]], `chunk ${chunk}`);
      assert.deepEqual(got[1]!.payload, makePayload(0, str('v'), 10));
      assert.deepEqual(canonicalValue(got[0]!.payload), { type: 'string', parts: [Buffer.from('a'.repeat(10))] });
      assert.deepEqual(canonicalValue(got[2]!.payload), { type: 'set', parts: ['-3', '300', '7'].map((s) => Buffer.from(s)) });
    }
    assert.deepEqual((await entries(rdb(), 1, 5)).map((e) => e.key.toString()), ['other-db']);
    assert.deepEqual(await entries(rdb(), 2, 5), []);
  });

  it('refuses a bad checksum, a truncated stream, and a newer RDB version before any entry', async () => {
    await assert.rejects(entries(rdb('0010', true), 0, 16), /checksum does not match/);
    const whole = rdb();
    await assert.rejects(entries(whole.subarray(0, whole.length - 3), 0, 16), /truncated/);
    await assert.rejects(entries(Buffer.concat([whole, Buffer.from('x')]), 0, 16), /data after the end/);
    let seen = 0;
    await assert.rejects(
      (async () => {
        for await (const _ of rdbEntries(Readable.from([rdb('0099')]), 0)) seen++;
      })(),
      (error: unknown) => isUnsupported(error) && /RDB format 99/.test((error as Error).message),
    );
    assert.equal(seen, 0);
  });
});
