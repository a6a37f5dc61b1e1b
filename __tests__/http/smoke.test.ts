import { startCounterApp } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import { Viewer } from '../helpers/viewer.js';
import { decodePng, inkPixels, showsCount } from '../../support/png.js';

test('a viewer gets a PNG frame showing 1, and the count returns to 0 when it leaves', async () => {
  const { url, counter } = await startCounterApp();
  const viewer = await Viewer.open(url);
  expect(viewer.status).toBe(200);
  await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1');
  const image = decodePng(viewer.lastFrame!);
  expect([image.width, image.height]).toEqual([200, 30]);
  expect(inkPixels(image)).toBeGreaterThan(200);
  expect(counter.count).toBe(1);
  viewer.close();
  await eventually(() => counter.count === 0, 'count 0 after the viewer left', 2000);
  expect(counter.count).toBe(0);
});
