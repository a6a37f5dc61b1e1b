import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';

const STREAMING = Symbol('express-user-counter streaming');
const PARSED = Symbol('express-user-counter requests parsed');
const ORDINAL = Symbol('express-user-counter request ordinal');

type Connection = Socket & { [STREAMING]?: true; [PARSED]?: number; server?: Server | null };
type Numbered = IncomingMessage & { [ORDINAL]?: number };

const watched = new WeakSet<Server>();

/*
 * A request pipelined behind an open stream on one HTTP/1.1 connection waits for a response
 * that never ends: Node keeps it and its response until the connection closes, so a client
 * that keeps pipelining fills memory from one connection (browsers never pipeline). A request
 * parsed on a connection that carries a stream closes that connection, whatever its route;
 * a stream with a request already queued behind it does not begin.
 */

/** Number the requests of `req`'s server's connections: once per server, ahead of the app. */
export function watchPipelining(req: IncomingMessage): void {
  const server = (req.socket as Connection | null)?.server;
  if (!server || watched.has(server)) return;
  watched.add(server);
  server.prependListener('request', (incoming: Numbered) => {
    const connection = incoming.socket as Connection | null;
    if (!connection || incoming.httpVersionMajor !== 1) return;
    if (connection[STREAMING]) return void connection.destroy();
    connection[PARSED] = (connection[PARSED] ?? 0) + 1;
    incoming[ORDINAL] = connection[PARSED];
  });
}

/** Whether a request was parsed on `req`'s connection after it, and waits behind it. */
export function hasRequestQueuedBehind(req: IncomingMessage): boolean {
  if (req.httpVersionMajor !== 1) return false;
  return ((req.socket as Connection)[PARSED] ?? 0) > ((req as Numbered)[ORDINAL] ?? 0);
}

/** `req`'s connection carries a stream from now on (every stream's end closes its connection). */
export function markStreaming(req: IncomingMessage): void {
  if (req.httpVersionMajor === 1) (req.socket as Connection)[STREAMING] = true;
}
