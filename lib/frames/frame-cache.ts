import { Lru } from '../util/lru.js';
import type { Frame } from '../stream/multipart-format.js';

/** The bytes of frames a counter keeps at most, over every room and pixel ratio. */
export const FRAME_CACHE_BYTES = 32 * 1024 * 1024;

/** One broadcaster's view of the counter's frames: its room (or every room) at its pixel ratio. */
export interface FrameShelf {
  /** What the shelf holds: a pixel ratio, with the room's name when the drawing depends on it. */
  readonly scope: string;
  get(count: number, ended?: boolean): Frame | undefined;
  has(count: number, ended?: boolean): boolean;
  keep(count: number, frame: Frame, ended?: boolean): void;
}

/**
 * Every frame a counter keeps, in one cache bounded by bytes, most recently used kept. A frame is
 * one buffer (its PNG is a view of its wire bytes). When the drawing does not depend on the room,
 * the rooms share a shelf: a frame is drawn and kept once per pixel ratio and count, whatever the
 * number of rooms. A frame shown on a stream stays alive there while it is evicted here.
 */
export class FrameCache {
  private readonly frames: Lru<string, Frame>;

  constructor(budgetBytes = FRAME_CACHE_BYTES) {
    this.frames = new Lru(budgetBytes, (frame) => frame.chunk.length);
  }

  /** The bytes of the frames kept. */
  get bytes(): number {
    return this.frames.weight;
  }

  /** The shelf of `scope` (a pixel ratio, with the room's name when the drawing depends on it). */
  shelf(scope: string): FrameShelf {
    const key = (count: number, ended = false): string => `${scope}\0${count}${ended ? '\0ended' : ''}`;
    return {
      scope,
      get: (count, ended) => this.frames.get(key(count, ended)),
      has: (count, ended) => this.frames.has(key(count, ended)),
      keep: (count, frame, ended) => this.frames.set(key(count, ended), frame),
    };
  }
}
