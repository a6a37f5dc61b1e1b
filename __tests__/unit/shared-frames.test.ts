import type { FrameRenderer } from '../../lib/frames/frame-renderer.js';
import { SharedFrames } from '../../lib/frames/shared-frames.js';

// When the drawing does not depend on the room, the rooms asking for one pixel ratio and count
// while it is being drawn share that one render.

/** A renderer whose renders finish when the test says, and which records what it was asked. */
function slowRenderer() {
  const asked: string[] = [];
  const finish: Array<(png: Buffer) => void> = [];
  const fail: Array<(error: Error) => void> = [];
  const renderer: FrameRenderer = {
    render(count, ended = false) {
      asked.push(`${count}${ended ? ' ended' : ''}`);
      return new Promise<Buffer>((resolve, reject) => {
        finish.push(resolve);
        fail.push(reject);
      });
    },
    renderSync: (count) => Buffer.from(`sync ${count}`),
  };
  return { renderer, asked, finish, fail };
}

test('rooms asking for the same count while it is drawn share one render, and each real render is counted once', async () => {
  const shared = new SharedFrames();
  const { renderer, asked, finish } = slowRenderer();
  let renders = 0;
  const roomA = shared.wrap(renderer, 1, () => (renders += 1));
  const roomB = shared.wrap(renderer, 1, () => (renders += 1));
  const asks = [roomA.render(5), roomB.render(5), roomA.render(5)];
  expect([asked, renders]).toEqual([['5'], 1]);
  const png = Buffer.from('five');
  finish[0](png);
  const results = await Promise.all(asks);
  expect(results.every((result) => result === png)).toBe(true);
});

test('another count, another pixel ratio or the ended frame is a render of its own', () => {
  const shared = new SharedFrames();
  const { renderer, asked } = slowRenderer();
  const atOne = shared.wrap(renderer, 1, () => undefined);
  const atTwo = shared.wrap(renderer, 2, () => undefined);
  void atOne.render(5);
  void atOne.render(6);
  void atTwo.render(5);
  void atOne.render(5, true);
  void atOne.render(5, true);
  expect(asked).toEqual(['5', '6', '5', '5 ended']);
});

test('once a render is done, the next ask for that count renders again (frames are kept by the frame cache, not here)', async () => {
  const shared = new SharedFrames();
  const { renderer, asked, finish } = slowRenderer();
  const room = shared.wrap(renderer, 1, () => undefined);
  const first = room.render(5);
  finish[0](Buffer.from('five'));
  await first;
  void room.render(5);
  expect(asked).toEqual(['5', '5']);
});

test('a failed render fails every ask that shared it, and the next ask tries again', async () => {
  const shared = new SharedFrames();
  const { renderer, asked, fail } = slowRenderer();
  const room = shared.wrap(renderer, 1, () => undefined);
  const asks = [room.render(5), room.render(5)];
  fail[0](new Error('broken'));
  await expect(Promise.all(asks.map((ask) => ask.catch((error: Error) => error.message)))).resolves.toEqual(['broken', 'broken']);
  void room.render(5);
  expect(asked).toEqual(['5', '5']);
});

test('a drawing at once goes straight to the renderer and counts as a render', () => {
  const shared = new SharedFrames();
  const { renderer } = slowRenderer();
  let renders = 0;
  const room = shared.wrap(renderer, 1, () => (renders += 1));
  expect(room.renderSync!(3).toString()).toBe('sync 3');
  expect(renders).toBe(1);
  expect(shared.wrap({ render: renderer.render }, 1, () => undefined).renderSync).toBeUndefined();
});
