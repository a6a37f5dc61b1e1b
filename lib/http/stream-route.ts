import type { NextFunction, Request, Response } from 'express';
import type { Emitter } from 'mitt';
import { BrowserStreams } from '../admission/browser-streams.js';
import type { BrowserTags } from '../admission/browser-tags.js';
import { ConnectionLimits } from '../admission/connection-limits.js';
import type { LimitSettings } from '../admission/connection-limits.js';
import type { HotlinkPolicy } from '../admission/hotlink-policy.js';
import type { Warnings } from '../config/warnings.js';
import { countsIn } from '../rooms/count-relay.js';
import type { StatsRecorder } from '../stream/stream-stats.js';
import { isListened, toError } from '../util/events.js';
import type { GuardedStore } from '../counting/guarded-store.js';
import { hotlinkRejection } from '../admission/hotlink-policy.js';
import type { MultipartFormat } from '../stream/multipart-format.js';
import { MultipartWriter } from '../stream/multipart-writer.js';
import type { WriterSettings } from '../stream/multipart-writer.js';
import { dedicateToStream, hasRequestQueuedBehind } from '../admission/pipelined-requests.js';
import { warnOfUntrustedProxy } from '../admission/proxy-warning.js';
import { CANNOT_COUNT, CANNOT_DRAW, RETRY_AFTER_SECONDS, SHUTTING_DOWN, inRoom, redirectToOwnView, refuse } from './replies.js';
import type { RequestReader } from './request-reader.js';
import { shedRequestState } from './request-footprint.js';
import { DEFAULT_ROOM } from '../counting/room-names.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import { framingOf, isGecko } from '../stream/stream-framing.js';
import type { StreamFraming } from '../stream/stream-framing.js';
import type { StreamTicker } from '../stream/stream-ticker.js';
import { longestSilenceMs } from '../stream/periodic-writes.js';
import type { UserCounterEvents } from '../types/index.js';
import { VanishTimeout } from '../admission/vanish-timeout.js';

/** How long `close()` waits for a viewer to take the close-delimiter before cutting it off. */
const CLOSE_GRACE_MS = 2000;
const TOO_MANY_ROOMS = 'Too many pages are being counted right now. Try again shortly.';

/** The resolved options a stream uses (lib/options.ts's Configuration has them all). */
export interface StreamConfig extends HotlinkPolicy, Omit<LimitSettings, 'defaultRoom'> {
  readonly maxStreamsPerBrowser: number;
  readonly vanishTimeoutMs: number;
  readonly keepAliveMs: number;
  readonly heartbeatMs: number;
  readonly stallTimeoutMs: number;
  readonly maxStreamMs: number;
  readonly endedFrame: boolean;
  readonly warnings: Warnings;
}

interface StreamRouteSettings {
  readonly config: StreamConfig;
  readonly store: GuardedStore;
  readonly registry: RoomRegistry;
  readonly reader: RequestReader;
  /** Tells browsers apart for `maxStreamsPerBrowser` (shared with the page helper). */
  readonly tags: BrowserTags;
  readonly format: MultipartFormat;
  /** The shared tick that drives every stream's keep-alives and heartbeats. */
  readonly ticker: StreamTicker;
  readonly stats: StatsRecorder;
  readonly events: Emitter<UserCounterEvents>;
  readonly report: (error: Error) => void;
}

/** A stream request that passed the request's own checks: what it asks for, and who asks. */
interface StreamRequest {
  readonly req: Request;
  readonly res: Response;
  readonly room: string;
  readonly pixelRatio: number;
  /** The viewer's digest (`identify`); undefined: the stream counts on its own. */
  readonly viewer: string | undefined;
  /** The address the per-address caps count. */
  readonly address: string;
  /** How the stream lays out its bytes for this browser (read once from the `User-Agent`). */
  readonly framing: StreamFraming;
}

/**
 * The stream at `path`, in named steps: `admit` checks what a request asks for and answers a
 * refusal, or hands back a StreamRequest; once the request has its connection (a pipelined one
 * waits for it), `admitConnection` checks the caps and `open` commits the stream: counted,
 * subscribed to its room's broadcaster, until it ends (`streamEnded`).
 */
export class StreamRoute {
  private readonly streams = new Set<MultipartWriter>();
  private readonly limits: ConnectionLimits;
  private readonly browsers: BrowserStreams;
  private readonly vanish: VanishTimeout;
  private readonly writerSettings: WriterSettings;
  private readonly headers: Readonly<Record<string, string>>;
  private closing = false;

  constructor(private readonly settings: StreamRouteSettings) {
    const { config, format, ticker, stats } = settings;
    this.limits = new ConnectionLimits({ ...config, defaultRoom: DEFAULT_ROOM });
    this.browsers = new BrowserStreams(config.maxStreamsPerBrowser);
    // Made with the counter, so that a system where it cannot work is reported at start.
    const { keepAliveMs, heartbeatMs, stallTimeoutMs, maxStreamMs } = config;
    this.vanish = new VanishTimeout(config.vanishTimeoutMs, config.warnings, { longestSilenceMs: longestSilenceMs(keepAliveMs) });
    this.writerSettings = { format, keepAliveMs, heartbeatMs, tickMs: ticker.tickMs, stallTimeoutMs, maxStreamMs, stats: stats.frames, ticker };
    this.headers = {
      'Content-Type': format.contentType,
      'Cache-Control': 'no-store, no-cache, must-revalidate, no-transform',
      Pragma: 'no-cache',
      Expires: '0',
      'X-Accel-Buffering': 'no',
      'X-Content-Type-Options': 'nosniff',
      // The framing depends on the browser (lib/stream/stream-framing.ts): no cache may serve one browser's to another.
      Vary: 'User-Agent',
    };
  }

  /** The open streams. */
  get openStreams(): ReadonlySet<MultipartWriter> {
    return this.streams;
  }

  /** Whether `close()` was called: every request is refused from then on. */
  get isClosing(): boolean {
    return this.closing;
  }

  /** Serve a stream request; what the `room` or `identify` option throws goes to `next`. */
  handle(req: Request, res: Response, next: NextFunction): void {
    let request: StreamRequest | undefined;
    try {
      request = this.admit(req, res);
    } catch (error) {
      return next(error);
    }
    if (request) this.whenConnected(request);
  }

  /**
   * Refuse every new stream, and end the open ones with their last frame and the close-delimiter;
   * resolves once each has ended (or been cut off after CLOSE_GRACE_MS).
   */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.streams].map((writer) => endStream(writer)));
  }

  /** What the request asks for; undefined once it is answered (a refusal, or a HEAD's headers). */
  private admit(req: Request, res: Response): StreamRequest | undefined {
    const { config, reader } = this.settings;
    const rejection = hotlinkRejection(req, config);
    if (rejection) return void refuse(res, 403, rejection);
    if (this.closing) return void refuse(res, 503, SHUTTING_DOWN, RETRY_AFTER_SECONDS);
    const named = reader.roomOf(req);
    if ('problem' in named) return void refuse(res, 400, named.problem);
    if (req.method === 'HEAD') {
      res.writeHead(200, this.headers);
      return void res.end();
    }
    // A plain <img src="/online.png"> in Firefox: a URL of this view's own, or a second tab stays blank.
    const gecko = isGecko(req.headers['user-agent']);
    if (gecko && !reader.hasView(req)) return void redirectToOwnView(req, res);
    return {
      req,
      res,
      room: named.room,
      pixelRatio: reader.pixelRatioOf(req),
      viewer: reader.viewerOf(req),
      address: reader.addressOf(req),
      framing: framingOf(gecko),
    };
  }

  /**
   * A request pipelined behind another on one connection has no socket until the responses
   * before it are done: it streams, and counts, only from then.
   */
  private whenConnected(request: StreamRequest): void {
    const { req, res } = request;
    if (!res.socket) {
      if (!req.socket.destroyed) res.once('socket', () => this.whenConnectedLater(request));
      return;
    }
    if (this.admitConnection(request)) this.open(request);
  }

  /** From the response's 'socket' event a throw would end the process: report it, and close the connection. */
  private whenConnectedLater(request: StreamRequest): void {
    try {
      this.whenConnected(request);
    } catch (error) {
      this.settings.report(toError(error));
      request.res.destroy();
    }
  }

  /** Whether the request, now on its connection, may stream; if not, it has been answered (or its connection closed). */
  private admitConnection({ req, res, room, address }: StreamRequest): boolean {
    // The viewer may have gone before we got here, or other middleware answered while it waited
    // (a timeout); then there is nothing to count. A request queued behind this one would wait
    // for ever (lib/admission/pipelined-requests.ts): close the connection.
    if (res.destroyed || req.socket.destroyed || res.headersSent) return false;
    if (hasRequestQueuedBehind(req)) {
      req.socket.destroy();
      return false;
    }
    if (this.closing) {
      refuse(res, 503, SHUTTING_DOWN, RETRY_AFTER_SECONDS);
      return false;
    }
    if (!this.settings.registry.admits(room)) {
      refuse(res, 429, TOO_MANY_ROOMS, RETRY_AFTER_SECONDS);
      return false;
    }
    const refusal = this.limits.admitConnection(address, req.socket, room);
    if (refusal) {
      warnOfUntrustedProxy(req, refusal, this.settings.config.warnings);
      refuse(res, refusal.status, refusal.reason, RETRY_AFTER_SECONDS);
      return false;
    }
    return true;
  }

  /** Commit an admitted stream: join its room, count it, send the headers and the first frame. */
  private open(request: StreamRequest): void {
    const { req, res, room: name, pixelRatio, viewer, address, framing } = request;
    const { config, store, registry, events, report, tags } = this.settings;
    // Read only for a stream that is admitted: a refused request costs no random id.
    const browser = tags.tag(req, address);
    let joined: ReturnType<RoomRegistry['join']> | undefined;
    const writer = new MultipartWriter(res, this.writerSettings, () => {
      if (browser) this.browsers.remove(browser.id, writer);
      if (joined) this.streamEnded(request, writer, joined);
    }, framing);
    try {
      joined = registry.join(name, pixelRatio, writer, viewer);
    } catch (error) {
      // A new room whose first frames cannot be drawn (a `text` that throws).
      report(inRoom(toError(error), name));
      this.limits.releaseConnection(req.socket);
      return refuse(res, 500, CANNOT_DRAW);
    }
    if (!store.increment(name, viewer)) {
      // The store failed (reported): a stream it did not count is not uncounted either.
      registry.leave(joined.room, joined.channel, writer, viewer);
      joined = undefined;
      this.limits.releaseConnection(req.socket);
      return refuse(res, 503, CANNOT_COUNT, RETRY_AFTER_SECONDS);
    }
    this.vanish.apply(req.socket);
    dedicateToStream(req, res);
    res.writeHead(200, browser?.setCookie ? { ...this.headers, 'Set-Cookie': browser.setCookie } : this.headers);
    this.streams.add(writer);
    const { broadcaster } = joined.channel;
    // When the server ends the stream (close(), maxStreamMs, a newer tab), the image keeps its last frame: make it say so.
    writer.start(broadcaster.firstFrame(store.count(name)), config.endedFrame ? broadcaster.endedFrame : undefined);
    broadcaster.subscribe(writer);
    if (browser) this.browsers.add(browser.id, writer);
    shedRequestState(req, res);
    if (isListened(events, 'connect')) events.emit('connect', countsIn(store, name));
  }

  /** An open stream ended, for any reason: uncount it and let go of what it held. */
  private streamEnded({ room, viewer }: StreamRequest, writer: MultipartWriter, joined: ReturnType<RoomRegistry['join']>): void {
    const { store, registry, stats, events } = this.settings;
    stats.closed(writer);
    this.streams.delete(writer);
    joined.channel.broadcaster.unsubscribe(writer);
    registry.leave(joined.room, joined.channel, writer, viewer);
    store.decrement(room, viewer);
    if (isListened(events, 'disconnect')) events.emit('disconnect', countsIn(store, room));
  }
}

/** End a stream with its last frame and the close-delimiter; cut it off if the viewer does not take it in time. */
function endStream(writer: MultipartWriter): Promise<void> {
  const res = writer.response;
  return new Promise((resolve) => {
    if (res.closed) return resolve();
    const timer = setTimeout(() => res.destroy(), CLOSE_GRACE_MS);
    res.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    void writer.endFromServer();
  });
}
