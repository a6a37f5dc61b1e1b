import path from 'node:path';
import { createCanvas as createNapiCanvas, GlobalFonts } from '@napi-rs/canvas';
import { failOptions } from './errors.js';
import { PalettePngEncoder } from './png-encoder.js';
import type { NodeCanvasModule, RenderFunction } from './types.js';

/** The bundled font's family name, registered with whichever canvas draws. */
export const BUNDLED_FONT_FAMILY = 'Anton';
/** The bundled font (SIL Open Font License; the licence is `fonts/OFL.txt`). */
export const BUNDLED_FONT_PATH = path.resolve(__dirname, '..', 'fonts', 'Anton-Regular.ttf');

/** How the built-in renderer draws. */
export interface ImageSettings {
  readonly width: number;
  readonly height: number;
  readonly text: (count: number) => string;
  readonly font: string;
  readonly color: string;
  readonly background: string;
}

/** Turns a count into a PNG. */
export interface FrameRenderer {
  /** Encodes off the event loop where the canvas can. */
  render(count: number): Promise<Buffer>;
  /** Present when the renderer can draw at once (used to have a frame at start-up). */
  renderSync?(count: number): Buffer;
}

/** The part of a 2D context the drawing uses; both canvases have it. */
interface Context2D {
  fillRect(x: number, y: number, w: number, h: number): void;
  fillText(text: string, x: number, y: number): void;
  measureText(text: string): { width: number; actualBoundingBoxAscent: number; actualBoundingBoxDescent: number };
  getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  translate(x: number, y: number): void;
  scale(x: number, y: number): void;
  fillStyle: unknown;
  font: string;
  textBaseline: string;
}

type CreateContext = (width: number, height: number) => Context2D;

const napiContext: CreateContext = (width, height) =>
  createNapiCanvas(width, height).getContext('2d') as unknown as Context2D;

function nodeCanvasContext(module: NodeCanvasModule): CreateContext {
  return (width, height) => (module.createCanvas(width, height) as { getContext(id: '2d'): Context2D }).getContext('2d');
}

let napiFontRegistered = false;
const nodeCanvasModulesWithFont = new WeakSet<NodeCanvasModule>();

function registerBundledFont(canvasModule: NodeCanvasModule | undefined): void {
  if (canvasModule) {
    if (nodeCanvasModulesWithFont.has(canvasModule)) return;
    canvasModule.registerFont(BUNDLED_FONT_PATH, { family: BUNDLED_FONT_FAMILY });
    nodeCanvasModulesWithFont.add(canvasModule);
  } else if (!napiFontRegistered) {
    if (!GlobalFonts.registerFromPath(BUNDLED_FONT_PATH, BUNDLED_FONT_FAMILY)) {
      throw new Error(`Could not load the bundled font ${BUNDLED_FONT_PATH}.`);
    }
    napiFontRegistered = true;
  }
}

/**
 * Antialiasing levels kept from the text's coverage. 16 levels differ from the
 * canvas's 256 by at most 1/30 of full opacity, which no one sees, and make the
 * frame a third of the size.
 */
const COVERAGE_LEVELS = 16;

/**
 * The built-in renderer: the text of the count, vertically centred, squeezed to fit.
 * The canvas draws the text's coverage only; the colours come from a palette made
 * once (text colour over background at each coverage level), so every frame is a
 * small palette PNG with the same header.
 */
export function createCanvasRenderer(image: ImageSettings, canvasModule?: NodeCanvasModule): FrameRenderer {
  registerBundledFont(canvasModule);
  const createContext = canvasModule ? nodeCanvasContext(canvasModule) : napiContext;
  const foreground = cssColour(createContext, image.color, 'color');
  const background = image.background === 'transparent' ? [0, 0, 0, 0] : cssColour(createContext, image.background, 'background');
  const opaqueForeground = `rgb(${foreground.slice(0, 3).join(', ')})`;
  const encoder = new PalettePngEncoder(image.width, image.height, coveragePalette(foreground, background));
  const levelOf = new Uint8Array(256).map((_, alpha) => Math.round((alpha * (COVERAGE_LEVELS - 1)) / 255));
  const padding = Math.round(image.height / 3);

  const indices = (count: number): Uint8Array => {
    const ctx = createContext(image.width, image.height);
    const text = String(image.text(count));
    ctx.font = image.font;
    // In the text's own colour: Skia tunes text antialiasing to the colour's luminance.
    ctx.fillStyle = opaqueForeground;
    ctx.textBaseline = 'alphabetic';
    const metrics = ctx.measureText(text);
    const room = Math.max(1, image.width - 2 * padding);
    const baseline = (image.height + metrics.actualBoundingBoxAscent - metrics.actualBoundingBoxDescent) / 2;
    ctx.translate(padding, Math.round(baseline));
    if (metrics.width > room) ctx.scale(room / metrics.width, 1);
    ctx.fillText(text, 0, 0);
    const rgba = ctx.getImageData(0, 0, image.width, image.height).data;
    const levels = new Uint8Array(image.width * image.height);
    for (let i = 0; i < levels.length; i++) levels[i] = levelOf[rgba[i * 4 + 3]];
    return levels;
  };
  return {
    render: (count) => encoder.encode(indices(count)),
    renderSync: (count) => encoder.encodeSync(indices(count)),
  };
}

/** The RGBA of a CSS colour as the canvas parses it; throws for one it rejects. */
function cssColour(createContext: CreateContext, css: string, option: string): number[] {
  const ctx = createContext(1, 1);
  const accepted = ['#010203', '#040506'].map((sentinel) => {
    ctx.fillStyle = sentinel;
    ctx.fillStyle = css;
    return String(ctx.fillStyle);
  });
  if (accepted[0] !== accepted[1]) {
    failOptions(`\`${option}\` must be a CSS colour such as 'rgb(0, 100, 0)' or '#fff'; got '${css}'.`);
  }
  ctx.fillRect(0, 0, 1, 1);
  return [...ctx.getImageData(0, 0, 1, 1).data];
}

/** Entry q: the text colour at coverage q/(levels-1), composited over the background. */
function coveragePalette(foreground: number[], background: number[]): Uint8Array {
  const [fr, fg, fb, fa] = foreground.map((v) => v / 255);
  const [br, bg, bb, ba] = background.map((v) => v / 255);
  const palette = new Uint8Array(COVERAGE_LEVELS * 4);
  for (let q = 0; q < COVERAGE_LEVELS; q++) {
    const source = (fa * q) / (COVERAGE_LEVELS - 1);
    const alpha = source + ba * (1 - source);
    const mix = (f: number, b: number) => (alpha === 0 ? 0 : (f * source + b * ba * (1 - source)) / alpha);
    palette.set([mix(fr, br), mix(fg, bg), mix(fb, bb), alpha].map((v) => Math.round(v * 255)), q * 4);
  }
  return palette;
}

/** A user's own renderer, its result checked and made a Buffer. */
export function createCustomRenderer(render: RenderFunction): FrameRenderer {
  return {
    async render(count) {
      const png = await render(count);
      if (!(png instanceof Uint8Array)) {
        throw new TypeError(`The render option returned ${typeof png} for ${count}; it must return a PNG Buffer.`);
      }
      return Buffer.isBuffer(png) ? png : Buffer.from(png.buffer, png.byteOffset, png.byteLength);
    },
  };
}
