// A minimal RESP2 client over node:net: binary-safe (keys and DUMP payloads
// are Buffers), pipelined (replies resolve in order), nothing else. Enough for
// SCAN/DUMP/RESTORE/SWAPDB, and for reading a replication snapshot (SYNC) as a
// byte stream; it saves a dependency and a redis-cli install, and redis-cli
// cannot stream DUMP payloads binary-safely anyway.
import { connect, type Socket } from 'node:net';
import { RollbackError } from '../../core/errors.js';
import { en, msg, type Msg } from '../../core/i18n.js';

export type Reply = null | number | Buffer | string | ReplyError | Reply[];

export class ReplyError extends Error {
  /** Our own words (a catalog message) when the text is not the server's. */
  constructor(
    message: string,
    readonly local?: Msg,
  ) {
    super(message);
  }
}

const CRLF = Buffer.from('\r\n');

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
    socket.on('close', () => fail(new RollbackError(msg('resp.closed'))));
  }

  static open(host: string, port: number, where: string, timeoutMs = 5000): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RollbackError(msg('resp.timeout', { where }), msg('resp.timeoutHint')));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RespClient(socket));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new RollbackError(msg('resp.cannotConnect', { where, error: error.code ?? error.message }), msg('resp.cannotConnectHint')));
      });
    });
  }

  /** Sends one command; resolves with its reply (error replies reject with ReplyError). */
  call(...args: Array<string | Buffer | number>): Promise<Reply> {
    return this.batch([args])[0]!;
  }

  /**
   * Sends several commands in one write (one packet where they fit, instead
   * of one per command); each promise resolves with its own reply.
   */
  batch(commands: Array<Array<string | Buffer | number>>): Array<Promise<Reply>> {
    if (this.closedError) {
      const error = this.closedError;
      return commands.map(() => Promise.reject(error));
    }
    const parts: Buffer[] = [];
    for (const args of commands) {
      parts.push(Buffer.from(`*${args.length}\r\n`));
      for (const arg of args) {
        const data = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg));
        parts.push(Buffer.from(`$${data.length}\r\n`), data, CRLF);
      }
    }
    const promises = commands.map(
      () =>
        new Promise<Reply>((resolve, reject) => {
          this.waiting.push({ resolve: (reply) => (reply instanceof ReplyError ? reject(reply) : resolve(reply)), reject });
        }),
    );
    this.socket.write(Buffer.concat(parts));
    return promises;
  }

  /** Resolves once the socket has flushed what we wrote (for pipelining with bounded memory). */
  get needsDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  /**
   * Sends SYNC (after every earlier reply has arrived) and returns the
   * replication snapshot that follows as a stream of exactly its bytes (an
   * RDB file); the connection is closed at its end. Rejects with ReplyError
   * when the server refuses (no permission, renamed command, a replica
   * without its master). The client is unusable for commands afterwards.
   */
  async sync(): Promise<{ size: number; data: AsyncIterable<Buffer> }> {
    if (this.waiting.length > 0) throw new RollbackError(msg('resp.syncPending'));
    const socket = this.socket;
    socket.removeAllListeners('data');
    socket.pause();
    let pending = this.buffer;
    this.buffer = Buffer.alloc(0);
    const chunks = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const read = async (): Promise<Buffer> => {
      const next = await chunks.next();
      if (next.done) throw this.closedError ?? new RollbackError(msg('resp.closedSync'));
      return next.value;
    };
    socket.write('SYNC\r\n');
    // The server sends newlines to keep the link alive while it forks and saves, then "$<size>\r\n".
    let header: string;
    for (;;) {
      while (pending.length > 0 && pending[0] === 0x0a) pending = pending.subarray(1);
      const eol = pending.indexOf('\r\n');
      if (eol >= 0) {
        header = pending.toString('utf8', 0, eol);
        pending = pending.subarray(eol + 2);
        break;
      }
      // A server that cannot save (no space, a read-only dir) drops the link here.
      const more = await read().catch(() => {
        throw new ReplyError(en('resp.noSnapshot'), msg('resp.noSnapshot'));
      });
      pending = Buffer.concat([pending, more]);
    }
    if (header.startsWith('-')) throw new ReplyError(header.slice(1));
    const m = /^\$(\d+)$/.exec(header);
    if (!m) throw new RollbackError(msg('resp.badSync', { reply: JSON.stringify(header.slice(0, 40)) }));
    const size = Number(m[1]);
    const first = pending;
    const close = () => this.close();
    async function* data(): AsyncGenerator<Buffer> {
      let left = size;
      try {
        if (first.length > 0) {
          const piece = first.subarray(0, left);
          left -= piece.length;
          yield piece;
        }
        while (left > 0) {
          const chunk = await read();
          const piece = chunk.length > left ? chunk.subarray(0, left) : chunk;
          left -= piece.length;
          yield piece;
        }
      } finally {
        close();
      }
    }
    return { size, data: data() };
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
      throw new RollbackError(msg('resp.badReply', { type: JSON.stringify(type) }));
  }
}
