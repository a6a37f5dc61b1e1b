import { MultipartFormat } from '../../lib/stream/multipart-format.js';
import { image, pngFor, renderer } from '../expected-frames.js';
import { now } from '../ipc.js';
import { round } from '../statistics.js';

/** The default image's size in bytes for a few counts, and how fast it renders. */
export interface FrameResult {
  image: Pick<typeof image, 'width' | 'height' | 'font' | 'color' | 'background'>;
  sizes: { count: number; pngBytes: number; wireBytes: number }[];
  maxPngBytes: number;
  rendersPerSecondSync: number;
  rendersPerSecondAsync: number;
}

/** Frame size and render speed of the default image, in this process. */
export async function frameScenario(): Promise<FrameResult> {
  const format = new MultipartFormat();
  const counts = [0, 7, 42, 999, 1000, 10_000, 123_456];
  const sizes = counts.map((count) => ({ count, pngBytes: pngFor(count).length, wireBytes: format.frame(count, pngFor(count)).wire.length }));
  const measure = async (render: (count: number) => Buffer | Promise<Buffer>) => {
    let done = 0;
    const start = now();
    while (now() - start < 1500) await render(20_000 + done++);
    return round((done * 1000) / (now() - start));
  };
  await measure((count) => renderer.renderSync!(count)); // warm-up
  const rendersPerSecondSync = await measure((count) => renderer.renderSync!(count));
  const rendersPerSecondAsync = await measure((count) => renderer.render(count));
  return {
    image: { width: image.width, height: image.height, font: image.font, color: image.color, background: image.background },
    sizes,
    maxPngBytes: Math.max(...sizes.map((size) => size.pngBytes)),
    rendersPerSecondSync,
    rendersPerSecondAsync,
  };
}
