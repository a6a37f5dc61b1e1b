import { createCanvasRenderer } from '../../lib/frames/frame-renderer.js';
import type { NodeCanvasModule } from '../../lib/types/index.js';
import { startCounterApp } from '../helpers/counter-app.js';
import { DEFAULT_IMAGE, decodePng, inkPixels } from '../../support/png.js';
import type { DecodedPng } from '../../support/png.js';
import { Viewer } from '../helpers/viewer.js';

// node-canvas is not a dependency (users who never pass it pay nothing); `npm run
// setup:node-canvas` installs it for these tests, and CI does. Missing in CI is a failure.
function loadNodeCanvas(): NodeCanvasModule | undefined {
  try {
    return require('canvas') as NodeCanvasModule;
  } catch {
    if (process.env.CI) {
      throw new Error('node-canvas (`canvas`) is not installed: run `npm run setup:node-canvas` (it needs Cairo: apt-get install -y libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev).');
    }
    console.warn('Skipping the node-canvas tests: `canvas` is not installed (npm run setup:node-canvas).');
    return undefined;
  }
}

const nodeCanvas = loadNodeCanvas();
const describeWithNodeCanvas = nodeCanvas ? describe : describe.skip;

/** The box around every inked pixel. */
function inkBox(image: DecodedPng): { left: number; right: number; top: number; bottom: number } {
  const box = { left: image.width, right: -1, top: image.height, bottom: -1 };
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      if (image.data[(y * image.width + x) * 4 + 3] > 64) {
        box.left = Math.min(box.left, x);
        box.right = Math.max(box.right, x);
        box.top = Math.min(box.top, y);
        box.bottom = Math.max(box.bottom, y);
      }
    }
  }
  return box;
}

describeWithNodeCanvas('with node-canvas', () => {
  test('the renderer draws the text in the bundled font: a valid PNG whose ink matches @napi-rs/canvas', async () => {
    const withNodeCanvas = decodePng(await createCanvasRenderer(DEFAULT_IMAGE, nodeCanvas).render(1234));
    const withNapi = decodePng(await createCanvasRenderer(DEFAULT_IMAGE).render(1234));
    expect([withNodeCanvas.width, withNodeCanvas.height]).toEqual([200, 30]);
    expect(inkPixels(withNodeCanvas)).toBeGreaterThan(300);
    // A fallback font (the bundled one not registered) sets the text at another width and height.
    const [a, b] = [inkBox(withNodeCanvas), inkBox(withNapi)];
    for (const side of ['left', 'right', 'top', 'bottom'] as const) expect(Math.abs(a[side] - b[side])).toBeLessThanOrEqual(2);
  });

  test('a counter given `canvas` streams frames drawn by node-canvas', async () => {
    const { url } = await startCounterApp({ canvas: nodeCanvas });
    const viewer = await Viewer.open(url);
    await viewer.waitForFrames(1);
    const image = decodePng(viewer.lastFrame!);
    expect(inkPixels(image)).toBeGreaterThan(200);
    const expected = decodePng(createCanvasRenderer(DEFAULT_IMAGE, nodeCanvas).renderSync!(1));
    expect(image.data.equals(expected.data)).toBe(true);
    viewer.close();
  });

  test('a colour node-canvas cannot parse is refused when the counter is created', () => {
    expect(() => createCanvasRenderer({ ...DEFAULT_IMAGE, color: 'no-such-colour' }, nodeCanvas)).toThrow(/`color` must be a CSS colour/);
  });
});
