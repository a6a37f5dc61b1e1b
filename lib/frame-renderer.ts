import path from 'node:path';
import { createCanvas as createNapiCanvas, GlobalFonts } from '@napi-rs/canvas';
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
  clearRect(x: number, y: number, w: number, h: number): void;
  fillRect(x: number, y: number, w: number, h: number): void;
  fillText(text: string, x: number, y: number): void;
  measureText(text: string): { width: number; actualBoundingBoxAscent: number; actualBoundingBoxDescent: number };
  save(): void;
  restore(): void;
  translate(x: number, y: number): void;
  scale(x: number, y: number): void;
  fillStyle: unknown;
  font: string;
  textBaseline: string;
}

/** What differs between @napi-rs/canvas and node-canvas. */
interface CanvasBackend {
  draw(width: number, height: number, paint: (ctx: Context2D) => void): { encode(): Promise<Buffer>; encodeSync(): Buffer };
}

const napiBackend: CanvasBackend = {
  draw(width, height, paint) {
    const canvas = createNapiCanvas(width, height);
    paint(canvas.getContext('2d') as unknown as Context2D);
    return { encode: () => canvas.encode('png'), encodeSync: () => canvas.encodeSync('png') };
  },
};

interface NodeCanvas {
  getContext(id: '2d'): Context2D;
  toBuffer(mime: 'image/png'): Buffer;
  toBuffer(callback: (error: Error | null, png: Buffer) => void, mime: 'image/png'): void;
}

function nodeCanvasBackend(module: NodeCanvasModule): CanvasBackend {
  return {
    draw(width, height, paint) {
      const canvas = module.createCanvas(width, height) as NodeCanvas;
      paint(canvas.getContext('2d'));
      return {
        encode: () =>
          new Promise<Buffer>((resolve, reject) =>
            canvas.toBuffer((error, png) => (error ? reject(error) : resolve(png)), 'image/png'),
          ),
        encodeSync: () => canvas.toBuffer('image/png'),
      };
    },
  };
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

/** The built-in renderer: the text of the count, vertically centred, squeezed to fit. */
export function createCanvasRenderer(image: ImageSettings, canvasModule?: NodeCanvasModule): FrameRenderer {
  registerBundledFont(canvasModule);
  const backend = canvasModule ? nodeCanvasBackend(canvasModule) : napiBackend;
  const padding = Math.round(image.height / 3);
  const paint = (count: number) => (ctx: Context2D) => {
    ctx.clearRect(0, 0, image.width, image.height);
    if (image.background !== 'transparent') {
      ctx.fillStyle = image.background;
      ctx.fillRect(0, 0, image.width, image.height);
    }
    const text = String(image.text(count));
    ctx.font = image.font;
    ctx.fillStyle = image.color;
    ctx.textBaseline = 'alphabetic';
    const metrics = ctx.measureText(text);
    const room = Math.max(1, image.width - 2 * padding);
    const squeeze = metrics.width > room ? room / metrics.width : 1;
    const baseline = (image.height + metrics.actualBoundingBoxAscent - metrics.actualBoundingBoxDescent) / 2;
    ctx.save();
    ctx.translate(padding, Math.round(baseline));
    ctx.scale(squeeze, 1);
    ctx.fillText(text, 0, 0);
    ctx.restore();
  };
  return {
    render: (count) => backend.draw(image.width, image.height, paint(count)).encode(),
    renderSync: (count) => backend.draw(image.width, image.height, paint(count)).encodeSync(),
  };
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
