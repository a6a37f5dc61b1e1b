import type { NextFunction, Request, Response } from 'express';
import { roomOrReply } from './replies.js';
import type { RequestReader } from './request-reader.js';
import type { CountStore } from '../types/index.js';

/**
 * The count as JSON, beside the stream (`/online.json`): `{ count }`, or with the `room`
 * option `{ count, total, room }` for the request's room. Not counted, never cached.
 */
export class JsonEndpoint {
  constructor(
    readonly path: string,
    private readonly store: Pick<CountStore, 'count'>,
    private readonly reader: RequestReader,
    private readonly byRoom: boolean,
  ) {}

  handle(req: Request, res: Response, next: NextFunction): void {
    const { store } = this;
    let body: object;
    if (this.byRoom) {
      const room = roomOrReply(this.reader, req, res, next);
      if (room === undefined) return;
      body = { count: store.count(room), total: store.count(), room };
    } else {
      body = { count: store.count() };
    }
    // Not res.json(): its ETag would let a client revalidate a count that is never cacheable.
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify(body));
  }
}
