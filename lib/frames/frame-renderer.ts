import path from 'node:path';
import { createCanvas as createNapiCanvas, GlobalFonts } from '@napi-rs/canvas';
import { fail } from '../config/validation.js';
import { PalettePngEncoder } from './png-encoder.js';
import { displayedRoom } from '../counting/room-names.js';
import type { NodeCanvasModule, RenderContext, RenderFunction } from '../types/index.js';

/** The bundled font's family name, registered with whichever canvas draws. */
export const BUNDLED_FONT_FAMILY = 'Anton';
/** The bundled font (SIL Open Font License; the licence is `fonts/OFL.txt`). */
export const BUNDLED_FONT_PATH = path.resolve(__dirname, '..', '..', 'fonts', 'Anton-Regular.ttf');

/** How the built-in renderer draws. */
export interface ImageSettings {
  /** In CSS pixels: a frame for pixel ratio N is N times as wide and high. */
  readonly width: number;
  readonly height: number;
  readonly text: (count: number, context: RenderContext) => string;
  readonly font: string;
  readonly color: string;
  readonly background: string;
}

/** Which frames a renderer draws: for one room, at one pixel ratio. */
interface RenderTarget {
  readonly room?: string;
  readonly pixelRatio?: number;
}

/** Turns a count into a PNG; `ended`: the last frame of a stream the server ended (`RenderContext.ended`). */
export interface FrameRenderer {
  /** Encodes off the event loop where the canvas can. */
  render(count: number, ended?: boolean): Promise<Buffer>;
  /** Present when the renderer can draw at once (used to have a frame at start-up). */
  renderSync?(count: number, ended?: boolean): Buffer;
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
/** An ended stream's last frame: the text at this share of its coverage, visibly not live. */
const ENDED_DIMMING = 0.35;

/**
 * The built-in renderer: the text of the count, vertically centred, squeezed to fit.
 * The canvas draws the text's coverage only; the colours come from a palette made
 * once (text colour over background at each coverage level), so every frame is a
 * small palette PNG with the same header.
 */
export function createCanvasRenderer(image: ImageSettings, canvasModule?: NodeCanvasModule, target: RenderTarget = {}): FrameRenderer {
  return createCanvasRenderers(image, canvasModule)(target);
}

/**
 * The built-in renderer for any room and pixel ratio: the colours are checked and the
 * palette made once (throws an OptionsError for a colour the canvas rejects); each
 * pixel ratio has its own encoder, since a frame of another size has another header.
 * At pixel ratio N the frame is N times the size, drawn at N times the scale (the page
 * shows it at the same CSS size, sharper). `format`: the count as `context.formattedCount`.
 */
export function createCanvasRenderers(
  image: ImageSettings,
  canvasModule?: NodeCanvasModule,
  format: (count: number) => string = String,
): (target: RenderTarget) => FrameRenderer {
  registerBundledFont(canvasModule);
  const createContext = canvasModule ? nodeCanvasContext(canvasModule) : napiContext;
  const foreground = cssColour(createContext, image.color, 'color');
  const background = image.background === 'transparent' ? [0, 0, 0, 0] : cssColour(createContext, image.background, 'background');
  const opaqueForeground = `rgb(${foreground.slice(0, 3).join(', ')})`;
  const palette = coveragePalette(foreground, background);
  const encoders = new Map<number, PalettePngEncoder>();
  const levelOf = new Uint8Array(256).map((_, alpha) => Math.round((alpha * (COVERAGE_LEVELS - 1)) / 255));
  const dimmedLevelOf = levelOf.map((level) => Math.round(level * ENDED_DIMMING));
  const padding = Math.round(image.height / 3);

  return ({ room = '', pixelRatio = 1 }) => {
    const [width, height] = [image.width * pixelRatio, image.height * pixelRatio];
    let encoder = encoders.get(pixelRatio);
    if (!encoder) encoders.set(pixelRatio, (encoder = new PalettePngEncoder(width, height, palette)));
    const shownRoom = displayedRoom(room);
    const indices = (count: number, ended = false): Uint8Array => {
      const ctx = createContext(width, height);
      const text = String(image.text(count, { room: shownRoom, formattedCount: format(count), pixelRatio, ended }));
      ctx.scale(pixelRatio, pixelRatio);
      ctx.font = image.font;
      // In the text's own colour: Skia tunes text antialiasing to the colour's luminance.
      ctx.fillStyle = opaqueForeground;
      ctx.textBaseline = 'alphabetic';
      const metrics = ctx.measureText(text);
      const space = Math.max(1, image.width - 2 * padding);
      const baseline = (image.height + metrics.actualBoundingBoxAscent - metrics.actualBoundingBoxDescent) / 2;
      // The baseline on a whole device pixel, as at pixel ratio 1.
      ctx.translate(padding, Math.round(baseline * pixelRatio) / pixelRatio);
      if (metrics.width > space) ctx.scale(space / metrics.width, 1);
      ctx.fillText(text, 0, 0);
      const rgba = ctx.getImageData(0, 0, width, height).data;
      const levels = new Uint8Array(width * height);
      const levelFor = ended ? dimmedLevelOf : levelOf;
      for (let i = 0; i < levels.length; i++) levels[i] = levelFor[rgba[i * 4 + 3]];
      return levels;
    };
    return {
      render: (count, ended) => encoder.encode(indices(count, ended)),
      renderSync: (count, ended) => encoder.encodeSync(indices(count, ended)),
    };
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
    fail('ERR_USER_COUNTER_INVALID_OPTION_VALUE', `\`${option}\` must be a CSS colour such as 'rgb(0, 100, 0)' or '#fff'; got '${css}'.`);
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
export function createCustomRenderer(
  render: RenderFunction,
  { room = '', pixelRatio = 1 }: RenderTarget = {},
  format: (count: number) => string = String,
): FrameRenderer {
  const shownRoom = displayedRoom(room);
  return {
    async render(count, ended = false) {
      const png = await render(count, { room: shownRoom, pixelRatio, formattedCount: format(count), ended });
      if (!(png instanceof Uint8Array)) {
        throw new TypeError(`The render option returned ${typeof png} for ${count}; it must return a PNG Buffer.`);
      }
      return Buffer.isBuffer(png) ? png : Buffer.from(png.buffer, png.byteOffset, png.byteLength);
    },
  };
}
