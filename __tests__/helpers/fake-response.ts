import { EventEmitter } from 'node:events';

/**
 * A response for the writer's unit tests: keeps every chunk written, and its socket fills up
 * on demand (`full`: `write` returns false, as a full socket's does).
 */
export class FakeResponse extends EventEmitter {
  readonly chunks: Buffer[] = [];
  full = false;
  destroyed = false;
  writableEnded = false;
  writableLength = 0;
  socket = null;
  write(chunk: Buffer): boolean {
    this.chunks.push(Buffer.from(chunk));
    return !this.full;
  }
  end(chunk: Buffer): void {
    this.chunks.push(Buffer.from(chunk));
    this.writableEnded = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
}
