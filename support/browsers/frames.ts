import { PNG } from 'pngjs';
import { decodePng, expectedEndedFrame, expectedFrame } from '../png.js';
import type { DecodedPng } from '../png.js';
import type { Sample } from './sampler.js';

/** A box in CSS pixels (the `<img>`'s on the page, or a part of a frame). */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/*
 * Comparing the screen with the renderer's own frame. The screenshot is the frame
 * composited over the page's white background, so the expected RGBA frame is
 * composited over white first. A browser may round or antialias a little differently:
 * a pixel differs when a channel is off by more than PIXEL_TOLERANCE, and a frame
 * matches when at most MAX_DIFFERING_PIXELS differ. (Frames for 1 and 2 differ in
 * about a hundred pixels at this tolerance; the tests check that the comparison
 * tells them apart.)
 */
export const PIXEL_TOLERANCE = 48;
export const MAX_DIFFERING_PIXELS = 12;

const framesOnWhite = new Map<number, DecodedPng>();
const endedFramesOnWhite = new Map<number, DecodedPng>();

/** The renderer's frame for `count` as it looks on a white page. */
export function expectedOnWhite(count: number): DecodedPng {
  let frame = framesOnWhite.get(count);
  if (!frame) {
    frame = overWhite(decodePng(expectedFrame(count)));
    framesOnWhite.set(count, frame);
  }
  return frame;
}

/** The last frame of a stream the server ended while it showed `count` (dimmed), on a white page. */
export function expectedEndedOnWhite(count: number): DecodedPng {
  let frame = endedFramesOnWhite.get(count);
  if (!frame) {
    frame = overWhite(decodePng(expectedEndedFrame(count)));
    endedFramesOnWhite.set(count, frame);
  }
  return frame;
}

function overWhite(image: DecodedPng): DecodedPng {
  const data = Buffer.alloc(image.data.length);
  for (let i = 0; i < image.data.length; i += 4) {
    const alpha = image.data[i + 3] / 255;
    for (let c = 0; c < 3; c++) data[i + c] = Math.round(image.data[i + c] * alpha + 255 * (1 - alpha));
    data[i + 3] = 255;
  }
  return { width: image.width, height: image.height, data };
}

/** The part of `image` inside `box` (whole pixels; the box must lie inside the image). */
export function crop(image: DecodedPng, box: Box): DecodedPng {
  const [x0, y0, width, height] = [Math.round(box.x), Math.round(box.y), Math.round(box.width), Math.round(box.height)];
  if (x0 < 0 || y0 < 0 || x0 + width > image.width || y0 + height > image.height) {
    throw new Error(`Cannot crop ${width}x${height}+${x0}+${y0} out of a ${image.width}x${image.height} screenshot.`);
  }
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    const from = ((y0 + y) * image.width + x0) * 4;
    image.data.copy(data, y * width * 4, from, from + width * 4);
  }
  return { width, height, data };
}

/** How many pixels of `pixels` differ from the frame for `count` on white (Infinity: another size). */
export function differingPixels(pixels: DecodedPng, count: number): number {
  return differingFrom(pixels, expectedOnWhite(count));
}

/** Whether the screen shows the ended (dimmed) frame for `count`. */
export function screenShowsEnded(sample: Sample | DecodedPng, count: number): boolean {
  const pixels = 'pixels' in sample ? sample.pixels : sample;
  return differingFrom(pixels, expectedEndedOnWhite(count)) <= MAX_DIFFERING_PIXELS;
}

function differingFrom(pixels: DecodedPng, expected: DecodedPng): number {
  if (pixels.width !== expected.width || pixels.height !== expected.height) return Infinity;
  let differing = 0;
  for (let i = 0; i < pixels.data.length; i += 4) {
    const off = Math.max(
      Math.abs(pixels.data[i] - expected.data[i]),
      Math.abs(pixels.data[i + 1] - expected.data[i + 1]),
      Math.abs(pixels.data[i + 2] - expected.data[i + 2]),
    );
    if (off > PIXEL_TOLERANCE) differing += 1;
  }
  return differing;
}

/** Whether the screen shows the renderer's frame for `count`. */
export function screenShows(sample: Sample | DecodedPng, count: number): boolean {
  const pixels = 'pixels' in sample ? sample.pixels : sample;
  return differingPixels(pixels, count) <= MAX_DIFFERING_PIXELS;
}

/** Of `candidates`, the count whose frame is closest to what is on screen. */
export function closestCount(pixels: DecodedPng, candidates: readonly number[]): { count: number; differing: number } {
  let best = { count: NaN, differing: Infinity };
  for (const count of candidates) {
    const differing = differingPixels(pixels, count);
    if (differing < best.differing) best = { count, differing };
  }
  return best;
}

/** A pixel is ink when it is clearly darker than the white page. */
const INK_BELOW = 160;

function isInk(image: DecodedPng, x: number, y: number): boolean {
  const i = (y * image.width + x) * 4;
  return Math.min(image.data[i], image.data[i + 1], image.data[i + 2]) < INK_BELOW;
}

/**
 * Where the words "Users online:" are: the box of the pixels that are ink in the
 * frames for both 1 and 2 (the digits differ, the words do not).
 */
export const TEXT_BOX: Box = (() => {
  const [one, two] = [expectedOnWhite(1), expectedOnWhite(2)];
  let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
  for (let y = 0; y < one.height; y++) {
    for (let x = 0; x < one.width; x++) {
      if (isInk(one, x, y) && isInk(two, x, y)) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
  }
  return { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
})();

/** Ink pixels inside TEXT_BOX. */
export function inkInText(pixels: DecodedPng): number {
  let ink = 0;
  for (let y = TEXT_BOX.y; y < Math.min(pixels.height, TEXT_BOX.y + TEXT_BOX.height); y++) {
    for (let x = TEXT_BOX.x; x < Math.min(pixels.width, TEXT_BOX.x + TEXT_BOX.width); x++) {
      if (isInk(pixels, x, y)) ink += 1;
    }
  }
  return ink;
}

/** A sample shows text when its text box holds at least half the ink the rendered words have. */
export const MIN_TEXT_INK = Math.ceil(inkInText(expectedOnWhite(1)) / 2);

/** Not blank, not broken: the image has loaded and the words are drawn. */
export function showsText(sample: Sample): boolean {
  return sample.naturalWidth > 0 && inkInText(sample.pixels) >= MIN_TEXT_INK;
}

/** A whole frame of one of `counts`: loaded at the frame's own width, and exactly that frame's pixels. */
export function showsWholeFrame(sample: Sample, counts: readonly number[]): boolean {
  return sample.naturalWidth === expectedOnWhite(1).width && counts.some((count) => screenShows(sample, count));
}

/** One line about a sample, for failure messages and reports. */
export function describeSample(sample: Sample, since?: number, candidates: readonly number[] = [0, 1, 2, 3, 4, 5, 11]): string {
  const when = since === undefined ? `t=${sample.t}` : `t=+${sample.t - since} ms`;
  const closest = closestCount(sample.pixels, candidates);
  return `${when} naturalWidth=${sample.naturalWidth} textInk=${inkInText(sample.pixels)}/${MIN_TEXT_INK} closest frame=${closest.count} (${closest.differing} px differ)`;
}

/** Encode a sample's pixels as a PNG (to save evidence). */
export function samplePng(sample: Sample): Buffer {
  const png = new PNG({ width: sample.pixels.width, height: sample.pixels.height });
  sample.pixels.data.copy(png.data);
  return PNG.sync.write(png);
}
