// A minimal RESP2 client over node:net: binary-safe (keys and DUMP payloads
// are Buffers), pipelined (replies resolve in order), nothing else. Enough for
// SCAN/DUMP/PTTL/RESTORE/SWAPDB; it saves a dependency and a redis-cli
// install, and redis-cli cannot stream DUMP payloads binary-safely anyway.
import { connect, type Socket } from 'node:net';
import { RollbackError } from '../../core/errors.js';

export type Reply = null | number | Buffer | string | ReplyError | Reply[];

export class ReplyError extends Error {}

export class RespClient {
  private readonly socket: Socket;
  private readonly waiting: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];
  private buffer: Buffer = Buffer.alloc(0);
  private closedError?: Error;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (data: Buffer) => {
      this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
      this.drain();
    });
    const fail = (error: Error) => {
      this.closedError ??= error;
      for (const w of this.waiting.splice(0)) w.reject(this.closedError);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new RollbackError('redis closed the connection')));
  }

  static open(host: string, port: number, where: string, timeoutMs = 5000): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RollbackError(`cannot connect to redis at ${where}: timed out`, 'is the Redis server running and reachable?'));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RespClient(socket));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new RollbackError(`cannot connect to redis at ${where}: ${error.code ?? error.message}`, 'is the Redis server running and reachable at the host and port of databases.<name>.url?'));
      });
    });
  }

  /** Sends one command; resolves with its reply (error replies reject with ReplyError). */
  call(...args: Array<string | Buffer | number>): Promise<Reply> {
    if (this.closedError) return Promise.reject(this.closedError);
    const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
    for (const arg of args) {
      const data = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg));
      parts.push(Buffer.from(`$${data.length}\r\n`), data, Buffer.from('\r\n'));
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({
        resolve: (reply) => (reply instanceof ReplyError ? reject(reply) : resolve(reply)),
        reject,
      });
      this.socket.write(Buffer.concat(parts));
    });
  }

  /** Resolves once the socket has flushed what we wrote (for pipelining with bounded memory). */
  get needsDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private drain(): void {
    while (this.waiting.length > 0) {
      const parsed = parse(this.buffer, 0);
      if (!parsed) return;
      this.buffer = this.buffer.subarray(parsed.end);
      this.waiting.shift()!.resolve(parsed.reply);
    }
  }
}

/** Parses one reply at `at`; null when more bytes are needed. */
function parse(buf: Buffer, at: number): { reply: Reply; end: number } | null {
  if (at >= buf.length) return null;
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString('utf8', at + 1, eol);
  switch (type) {
    case '+':
      return { reply: line, end: eol + 2 };
    case '-':
      return { reply: new ReplyError(line), end: eol + 2 };
    case ':':
      return { reply: Number(line), end: eol + 2 };
    case '$': {
      const n = Number(line);
      if (n < 0) return { reply: null, end: eol + 2 };
      if (buf.length < eol + 2 + n + 2) return null;
      return { reply: Buffer.from(buf.subarray(eol + 2, eol + 2 + n)), end: eol + 2 + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { reply: null, end: eol + 2 };
      const items: Reply[] = [];
      let end = eol + 2;
      for (let i = 0; i < n; i++) {
        const item = parse(buf, end);
        if (!item) return null;
        items.push(item.reply);
        end = item.end;
      }
      return { reply: items, end };
    }
    default:
      throw new RollbackError(`unexpected reply from redis (type ${JSON.stringify(type)})`);
  }
}
