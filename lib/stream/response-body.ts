import type { EventEmitter } from 'node:events';
import { ServerResponse } from 'node:http';
import { Socket } from 'node:net';

const CRLF = Buffer.from('\r\n', 'latin1');

type NodeResponse = ServerResponse & { outputSize?: number; chunkedEncoding?: boolean };

/**
 * Where a stream's body bytes go. Until its head is out, through `res.write`; then, for a
 * response Node made on a TCP socket, straight to the socket. The bytes on the wire are the same
 * (each write one chunk of the chunked coding when the response has it, as Node frames them), but
 * a write skips `ServerResponse.write`, whose dozens of property reads on the response each miss
 * V8's caches: Express gives every response a hidden class of its own, and with thousands of
 * streams those reads were about a third of what a keep-alive cost (bench/README.md). Every
 * write is still one system call. HTTP/2's compatibility layer keeps to `res.write`.
 */
export class ResponseBody {
  /** The socket the body goes to once the head is out; undefined: through `res.write`. */
  private socket: Socket | undefined;
  private chunked = false;
  /** The socket's byte count when this response began (a kept-alive connection sent others before). */
  private readonly bytesBefore: number;

  constructor(private readonly res: ServerResponse) {
    this.bytesBefore = res.socket?.bytesWritten ?? 0;
  }

  /**
   * The head went out with the last write: from now on write to the socket when it can. Returns
   * what emits 'drain' when the viewer has taken what waited.
   */
  headSent(): EventEmitter {
    const res = this.res as NodeResponse;
    const socket = res.socket;
    // Node's own buffer of the response must be empty, or a write here would overtake it; and no
    // middleware may be encoding the body (compression's own res.write would be skipped).
    if (
      res instanceof ServerResponse &&
      socket instanceof Socket &&
      res.headersSent &&
      res.outputSize === 0 &&
      res.getHeader('content-encoding') === undefined
    ) {
      this.socket = socket;
      this.chunked = res.chunkedEncoding === true;
      return socket;
    }
    return res;
  }

  /**
   * Whether a write would still reach the viewer: the connection is open, and nothing (the app's
   * code) ended the response. Node ends the socket of a `Connection: close` response only once the
   * response's last bytes are out: until then a write straight to the socket would land after the
   * body's end, so the response's own state is read too.
   */
  get writable(): boolean {
    const socket = this.socket;
    if (socket && (socket.destroyed || socket.writableEnded)) return false;
    return !this.res.destroyed && !this.res.writableEnded;
  }

  /** Bytes written and not yet taken by the kernel. */
  get waiting(): number {
    return this.socket ? this.socket.writableLength : this.res.writableLength;
  }

  /** Bytes of this response the kernel has taken (not what still waits in Node's buffers). */
  get bytesSent(): number {
    const socket = this.socket ?? this.res.socket;
    if (!socket) return 0;
    return Math.max(0, socket.bytesWritten - socket.writableLength - this.bytesBefore);
  }

  /**
   * Write `bytes` as one chunk; false when the buffer is full (wait for 'drain'). `chunk`: the
   * same bytes already framed as a chunk, written as they are when the response is chunked.
   */
  write(bytes: Buffer, chunk?: Buffer): boolean {
    const socket = this.socket;
    if (!socket) return this.res.write(bytes);
    if (bytes.length === 0) return true;
    if (!this.chunked) return socket.write(bytes);
    if (chunk) return socket.write(chunk);
    // One system call for the chunk's size line, its bytes and its CRLF.
    socket.cork();
    socket.write(`${bytes.length.toString(16)}\r\n`, 'latin1');
    socket.write(bytes);
    const accepted = socket.write(CRLF);
    socket.uncork();
    return accepted;
  }
}
