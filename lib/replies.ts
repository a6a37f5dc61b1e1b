import type { NextFunction, Request, Response } from 'express';
import type { RequestReader } from './request-reader.js';

/** What a refused viewer is told to wait before trying again. */
export const RETRY_AFTER_SECONDS = 10;
/** The answer to a request after `counter.close()` (a 503). */
export const SHUTTING_DOWN = 'The counter is shutting down.';
/** The answer when a room's image cannot be drawn (a 500). */
export const CANNOT_DRAW = 'The counter image could not be drawn.';

/** A short plain-text refusal, never cached and never counted. */
export function refuse(res: Response, status: number, reason: string, retryAfterSeconds?: number): void {
  const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' };
  if (retryAfterSeconds !== undefined) headers['Retry-After'] = String(retryAfterSeconds);
  res.writeHead(status, headers);
  res.end(reason);
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
