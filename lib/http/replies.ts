import type { NextFunction, Request, Response } from 'express';
import type { RequestReader } from './request-reader.js';
import { randomId } from '../util/random-ids.js';

/** What a refused viewer is told to wait before trying again. */
export const RETRY_AFTER_SECONDS = 10;
/** The answer to a request after `counter.close()` (a 503). */
export const SHUTTING_DOWN = 'The counter is shutting down.';
/** The answer when a room's image cannot be drawn (a 500). */
export const CANNOT_DRAW = 'The counter image could not be drawn.';
/** The answer when the store fails to count a stream (a 503). */
export const CANNOT_COUNT = 'The counter cannot count right now. Try again shortly.';

/** A short plain-text refusal, never cached and never counted; none when something else answered first (a timeout). */
export function refuse(res: Response, status: number, reason: string, retryAfterSeconds?: number): void {
  if (res.headersSent) return;
  const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' };
  if (retryAfterSeconds !== undefined) headers['Retry-After'] = String(retryAfterSeconds);
  res.writeHead(status, headers);
  res.end(reason);
}

/**
 * Send the request to the same URL with a `view` of its own (`?view=<id>`), never cached. Firefox
 * makes a second tab's request for a URL wait until the first tab's response to it has finished
 * (its HTTP cache is still writing that response), and a stream never finishes: the second tab
 * would stay blank, uncounted. The redirect's answer is cached by no one, so every tab is sent
 * to a URL of its own (measured in Firefox ESR 153; README, Browsers).
 */
export function redirectToOwnView(req: Request, res: Response): void {
  const view = randomId(9);
  res.writeHead(302, {
    Location: `${req.originalUrl}${req.originalUrl.includes('?') ? '&' : '?'}view=${view}`,
    'Cache-Control': 'no-store',
    Vary: 'User-Agent',
    'Content-Length': '0',
  });
  res.end();
}

/** A render error, marked with the room it was drawing for (its message unchanged). */
export function inRoom(error: Error, room: string): Error {
  if (!Object.hasOwn(error, 'room')) Object.defineProperty(error, 'room', { value: room, enumerable: true, configurable: true });
  return error;
}

/** The request's room; or, having answered 400 for a bad name (or passed on what `room` threw), undefined. */
export function roomOrReply(reader: RequestReader, req: Request, res: Response, next: NextFunction): string | undefined {
  let named: { room: string } | { problem: string };
  try {
    named = reader.roomOf(req);
  } catch (error) {
    next(error);
    return undefined;
  }
  if ('room' in named) return named.room;
  refuse(res, 400, named.problem);
  return undefined;
}
