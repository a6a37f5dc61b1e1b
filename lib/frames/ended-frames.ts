import { toError } from '../util/events.js';
import type { FrameRenderer } from './frame-renderer.js';
import type { Frame, MultipartFormat } from '../stream/multipart-format.js';
import type { FrameShelf } from './frame-cache.js';

/**
 * How long the last frame of an ended stream may take to draw. Less than `close()`'s grace
 * (2 s), so that a stream whose drawing hangs still gets its close-delimiter in time.
 */
const ENDED_FRAME_TIMEOUT_MS = 1000;

interface EndedFrameSettings {
  readonly renderer: FrameRenderer;
  readonly format: MultipartFormat;
  /** Where a drawing that failed or took too long is reported. */
  readonly report: (error: Error) => void;
  /** Where drawn ended frames are kept (shared by the rooms when the drawing is). */
  readonly frames: FrameShelf;
}

/**
 * The last frames of streams the server ends (`RenderContext.ended`): one drawing per count
 * however many streams end at once (`close()` ends them all), kept in the counter's frame cache.
 */
export class EndedFrames {
  /** Drawings under way. */
  private readonly drawing = new Map<number, Promise<Frame | undefined>>();

  constructor(private readonly settings: EndedFrameSettings) {}

  /**
   * The ended frame for `count`; never rejects. Undefined when the drawing failed or took
   * longer than the timeout (both reported): the stream then ends with its latest frame.
   */
  frameFor(count: number): Promise<Frame | undefined> {
    const kept = this.settings.frames.get(count, true);
    if (kept) return Promise.resolve(kept);
    let frame = this.drawing.get(count);
    if (!frame) {
      frame = this.draw(count).finally(() => this.drawing.delete(count));
      this.drawing.set(count, frame);
    }
    return frame;
  }

  private async draw(count: number): Promise<Frame | undefined> {
    const { renderer, format, report } = this.settings;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`The ended frame for ${count} took more than ${ENDED_FRAME_TIMEOUT_MS} ms to draw; the stream ended with its latest frame.`)), ENDED_FRAME_TIMEOUT_MS);
    });
    try {
      const frame = format.frame(count, await Promise.race([renderer.render(count, true), late]));
      this.settings.frames.keep(count, frame, true);
      return frame;
    } catch (error) {
      // Not kept: the next stream to end at this count tries again.
      report(toError(error));
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}
