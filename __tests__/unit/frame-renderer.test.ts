// Unit level: the built-in renderer (lib/frames/frame-renderer.ts) and the wire format's
// bytes (lib/stream/multipart-format.ts), without a server.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { PNG } from 'pngjs';
import { BUNDLED_FONT_PATH, createCanvasRenderer, createCustomRenderer } from '../../lib/frames/frame-renderer.js';
import type { ImageSettings } from '../../lib/frames/frame-renderer.js';
import { MultipartFormat, PNG_HEADER_LENGTH, PNG_SIGNATURE, createBoundary } from '../../lib/stream/multipart-format.js';
import { pngChunk } from '../../lib/frames/png-encoder.js';
import { DEFAULT_IMAGE, decodePng, inkPixels, samePixels } from '../../support/png.js';
import type { DecodedPng } from '../../support/png.js';

/** Left and right padding of the default 200×30 image: a third of its height. */
const PADDING = 10;

/** The columns and rows that hold any ink at all (alpha above 0). */
function inkBox(image: DecodedPng): { left: number; right: number; top: number; bottom: number } | undefined {
  let box: { left: number; right: number; top: number; bottom: number } | undefined;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      if (image.data[(y * image.width + x) * 4 + 3] === 0) continue;
      box ??= { left: x, right: x, top: y, bottom: y };
      box.left = Math.min(box.left, x);
      box.right = Math.max(box.right, x);
      box.top = Math.min(box.top, y);
      box.bottom = Math.max(box.bottom, y);
    }
  }
  return box;
}

function renderer(changes: Partial<ImageSettings> = {}) {
  return createCanvasRenderer({ ...DEFAULT_IMAGE, ...changes });
}

/** A PNG made with pngjs, with extra chunks inserted right after IHDR. */
function pngWithChunks(extra: { type: string; data: Buffer }[]): Buffer {
  const image = new PNG({ width: 8, height: 4 });
  for (let i = 0; i < image.data.length; i += 4) image.data.set([10, 120, 30, 255], i);
  const png = PNG.sync.write(image);
  const afterIhdr = 8 + 12 + 13;
  const chunks = extra.map(({ type, data }) => pngChunk(type, data));
  return Buffer.concat([png.subarray(0, afterIhdr), ...chunks, png.subarray(afterIhdr)]);
}

/** A tEXt chunk: keyword, NUL, Latin-1 text. */
function textChunk(text: string): { type: string; data: Buffer } {
  return { type: 'tEXt', data: Buffer.from(`Comment\0${text}`, 'latin1') };
}

describe('the built-in renderer', () => {
  test.each([0, 9, 1234567])('draws the text for %i with the bundled font, inside the paddings', (count) => {
    const image = decodePng(renderer().renderSync!(count));
    expect([image.width, image.height]).toEqual([200, 30]);
    expect(inkPixels(image)).toBeGreaterThan(150);
    const box = inkBox(image)!;
    // Anti-aliasing may touch one column next to the padding, no more.
    expect(box.left).toBeGreaterThanOrEqual(PADDING - 1);
    expect(box.right).toBeLessThanOrEqual(200 - PADDING);
    expect(inkPixels(image, { x: 200 - PADDING + 1, y: 0, width: PADDING - 1, height: 30 }, 0)).toBe(0);
    // Vertically centred: clear rows above and below.
    expect(box.top).toBeGreaterThan(0);
    expect(box.bottom).toBeLessThan(29);
    expect(Math.abs(box.top - (29 - box.bottom))).toBeLessThanOrEqual(3);
  });

  test('the bundled Anton face is what draws, not a fallback font', () => {
    expect(existsSync(BUNDLED_FONT_PATH)).toBe(true);
    expect(existsSync(path.join(path.dirname(BUNDLED_FONT_PATH), 'OFL.txt'))).toBe(true);
    const anton = renderer().renderSync!(1234);
    // A family nobody has: the canvas falls back to its default face.
    const fallback = renderer({ font: '20px NoSuchFamilyAnywhere' }).renderSync!(1234);
    expect(inkPixels(decodePng(fallback))).toBeGreaterThan(0);
    expect(samePixels(anton, fallback)).toBe(false);
  });

  test('text longer than the image is squeezed to fit between the paddings', () => {
    const long = (count: number) => `Users online on this page right now, all told: ${count}`;
    const image = decodePng(renderer({ text: long }).renderSync!(1234567));
    const box = inkBox(image)!;
    expect(box.left).toBeGreaterThanOrEqual(PADDING - 1);
    expect(box.right).toBeLessThanOrEqual(200 - PADDING);
    // Squeezed, not cut: the text still reaches most of the way across.
    expect(box.right).toBeGreaterThanOrEqual(200 - PADDING - 10);
    expect(inkPixels(image, { x: 200 - PADDING + 1, y: 0, width: PADDING - 1, height: 30 }, 0)).toBe(0);
    // A narrower image squeezes harder and still keeps its right padding clear.
    const narrow = decodePng(renderer({ text: long, width: 120 }).renderSync!(1234567));
    expect(inkBox(narrow)!.right).toBeLessThanOrEqual(120 - PADDING);
    expect(inkPixels(narrow)).toBeGreaterThan(100);
  });

  test('distinct counts give distinct pixels', () => {
    const counts = [...Array.from({ length: 31 }, (_, i) => i), 99, 100, 101, 1000, 99999, 1234567];
    const draw = renderer();
    const images = new Set(counts.map((count) => decodePng(draw.renderSync!(count)).data.toString('base64')));
    expect(images.size).toBe(counts.length);
  });

  test('the async render and renderSync give the same pixels', async () => {
    const draw = renderer();
    for (const count of [0, 1, 7, 42, 1234567]) {
      const [fromAsync, fromSync] = [await draw.render(count), draw.renderSync!(count)];
      expect(samePixels(fromAsync, fromSync)).toBe(true);
    }
  });

  test('every frame of one renderer starts with the same signature and IHDR, 33 bytes the heartbeat sends ahead', async () => {
    for (const [width, height] of [[200, 30], [320, 48]]) {
      const draw = renderer({ width, height });
      const frames = [...[0, 1, 2, 9, 10, 99, 1234567].map((count) => draw.renderSync!(count)), await draw.render(5)];
      const header = frames[0].subarray(0, PNG_HEADER_LENGTH);
      expect(header.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
      expect(header.readUInt32BE(8)).toBe(13);
      expect(header.toString('latin1', 12, 16)).toBe('IHDR');
      expect([header.readUInt32BE(16), header.readUInt32BE(20)]).toEqual([width, height]);
      expect(header.readUInt32BE(29)).toBe(crc32(header.subarray(12, 29)));
      for (const frame of frames) expect(frame.subarray(0, PNG_HEADER_LENGTH).equals(header)).toBe(true);
    }
  });

  test('a colour the canvas does not understand is refused when the renderer is made', () => {
    expect(() => renderer({ color: 'not-a-colour' })).toThrow(/color/);
    expect(() => renderer({ background: 'rgb(nope)' })).toThrow(/background/);
    expect(() => renderer({ color: '#c00', background: 'white' })).not.toThrow();
  });
});

describe('a custom render function', () => {
  const png = pngWithChunks([]);

  test('a Buffer is passed through as it is', async () => {
    await expect(createCustomRenderer(() => png).render(1)).resolves.toBe(png);
  });

  test('a Uint8Array, even a view into a larger buffer, becomes a Buffer of exactly its bytes', async () => {
    const backing = new Uint8Array(png.length + 20).fill(7);
    backing.set(png, 10);
    const view = backing.subarray(10, 10 + png.length);
    const result = await createCustomRenderer(async () => view).render(1);
    expect(Buffer.isBuffer(result)).toBe(true);
    expect(result.equals(png)).toBe(true);
  });

  test('anything else is refused with a TypeError that says a PNG Buffer is needed', async () => {
    for (const wrong of ['a string', undefined, 42, { png }]) {
      const render = createCustomRenderer(() => wrong as unknown as Buffer);
      await expect(render.render(3)).rejects.toThrow(TypeError);
      await expect(render.render(3)).rejects.toThrow(/PNG Buffer/);
    }
  });

  test('an error the function throws, or rejects with, comes out of render', async () => {
    const boom = new Error('the drawing broke');
    await expect(createCustomRenderer(() => { throw boom; }).render(1)).rejects.toBe(boom);
    await expect(createCustomRenderer(() => Promise.reject(boom)).render(1)).rejects.toBe(boom);
  });
});

describe('MultipartFormat', () => {
  const boundary = 'Kn0wnBoundaryForTests0123456789x';

  test('the bytes of the stream: content type, first delimiter, advance headers, close-delimiter', () => {
    const format = new MultipartFormat(boundary);
    expect(format.boundary).toBe(boundary);
    expect(format.contentType).toBe(`multipart/x-mixed-replace; boundary=${boundary}`);
    expect(format.preamble.toString('latin1')).toBe(`--${boundary}\r\nContent-Type: image/png\r\n\r\n`);
    expect(format.closeDelimiter.toString('latin1')).toBe(`\r\n--${boundary}--\r\n`);
    const png = pngWithChunks([]);
    const frame = format.frame(5, png);
    expect(frame.count).toBe(5);
    expect(frame.png.equals(png)).toBe(true);
    // One buffer per frame: the PNG is a view of the wire bytes.
    expect(frame.png.buffer).toBe(frame.wire.buffer);
    expect(frame.wire.equals(Buffer.concat([png, Buffer.from(`\r\n--${boundary}\r\nContent-Type: image/png\r\n\r\n`, 'latin1')]))).toBe(true);
  });

  test('boundaries are 24 to 70 letters and digits, never starting with --, different every time', () => {
    const boundaries = [...Array.from({ length: 500 }, () => createBoundary()), new MultipartFormat().boundary];
    for (const made of boundaries) expect(made).toMatch(/^[A-Za-z0-9]{24,70}$/);
    expect(new Set(boundaries).size).toBe(boundaries.length);
  });

  test('frame refuses bytes that are not a PNG', () => {
    const format = new MultipartFormat(boundary);
    const notPngs = [
      Buffer.alloc(0),
      Buffer.from('hello, I am text'),
      Buffer.from([0xff, 0xd8, 0xff, 0xe0, ...Buffer.alloc(60)]), // JPEG
      Buffer.from(`GIF89a${'\0'.repeat(60)}`, 'latin1'),
      PNG_SIGNATURE, // a signature and nothing else
      Buffer.concat([PNG_SIGNATURE, Buffer.from('\0\0\0\rIDAT'), Buffer.alloc(40)]), // no IHDR first
      pngWithChunks([]).subarray(1), // one byte short at the start
    ];
    for (const bytes of notPngs) expect(() => format.frame(1, bytes)).toThrow(/not a PNG/);
    expect(() => format.frame(1, pngWithChunks([]))).not.toThrow();
  });

  test('frame refuses a valid PNG that contains the boundary, which would end its part early', () => {
    const format = new MultipartFormat(boundary);
    const containing = [
      pngWithChunks([textChunk(`made by --${boundary}`)]),
      pngWithChunks([textChunk(`\r\n--${boundary}--\r\n`)]),
    ];
    for (const png of containing) {
      // A real PNG (pngjs reads it), only its bytes collide with the boundary.
      expect(decodePng(png).width).toBe(8);
      expect(() => format.frame(1, png)).toThrow(/boundary/);
    }
    // The same PNG with other text, or with another counter's boundary, is fine.
    const harmless = pngWithChunks([textChunk(`made by --${createBoundary()}`)]);
    expect(decodePng(harmless).width).toBe(8);
    expect(() => format.frame(1, harmless)).not.toThrow();
    expect(() => new MultipartFormat(createBoundary()).frame(1, containing[0])).not.toThrow();
  });
});
