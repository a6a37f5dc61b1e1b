import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The HTTP/1 parser Node gives each connection (`socket.parser`), as far as this module uses it.
 * Its `onIncoming` is called with every request whose head it has read, before anything else
 * sees it: Node's own answers (417 for `Expect`, 400 without `Host`, 503 past
 * `maxRequestsPerSocket`), `checkContinue`, `checkExpectation` and the server's `request`.
 * Undocumented, and the same from Node 20 to 24; hostile/pipelining.test.ts fails if that changes.
 */
interface ConnectionParser {
  /** The request the parser read last. */
  incoming: IncomingMessage | null;
  onIncoming: ((req: IncomingMessage, keepAlive: boolean) => number) | null;
}

type Connection = Socket & { parser?: ConnectionParser | null };

/*
 * A request pipelined behind an open stream on one HTTP/1.x connection waits for a response
 * that never ends: Node keeps it and its response (or an answer of its own) until the
 * connection closes, so a client that keeps pipelining fills memory from one connection
 * (browsers never pipeline). Once a connection carries a stream, a request read on it closes
 * the connection before Node or the app does anything with it; a stream with a request
 * already read behind it does not begin.
 */

function parserOf(req: IncomingMessage): ConnectionParser | undefined {
  if (req.httpVersionMajor !== 1) return undefined;
  const parser = (req.socket as Connection | null)?.parser;
  return parser && typeof parser.onIncoming === 'function' ? parser : undefined;
}

/** Whether a request was read on `req`'s connection after it, and waits behind it. */
export function hasRequestQueuedBehind(req: IncomingMessage): boolean {
  const latest = parserOf(req)?.incoming;
  return latest !== undefined && latest !== null && latest !== req;
}

/**
 * `req`'s connection carries the stream `res` from now on, and every stream's end closes it:
 * the response says so (before its head is written), and any request read on it closes it.
 */
export function dedicateToStream(req: IncomingMessage, res: ServerResponse): void {
  // A client, or a proxy's pool of kept-alive connections, must not send another request on it.
  if (req.httpVersionMajor === 1) res.setHeader('Connection', 'close');
  const parser = parserOf(req);
  if (parser) parser.onIncoming = closeConnection;
}

/** The parser's `onIncoming` on a connection that carries a stream. */
function closeConnection(req: IncomingMessage): number {
  // Nothing may take the connection over either (an app's 'upgrade' listener).
  (req as IncomingMessage & { upgrade?: boolean }).upgrade = false;
  req.socket.destroy();
  return 0;
}
