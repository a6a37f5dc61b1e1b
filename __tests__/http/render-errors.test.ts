// A render that fails (throws, rejects, returns what is not a PNG, or a room's text that cannot
// be drawn): the error reaches the error event and the logger, no broken part is sent, the
// streams stay open, and a failing render is not retried in a loop nor freezes the process.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Request } from 'express';
import request from 'supertest';
import { quietLogger, startCounterApp } from '../helpers/counter-app.js';
import { eventually, sleep } from '../helpers/time.js';
import { Viewer } from '../helpers/viewer.js';
import { decodePng, expectedFrame, showsCount } from '../../support/png.js';

/**
 * A custom renderer drawing what the default one draws, but failing for `failing`
 * counts. It answers after a real timer, as an encoder would: a renderer that fails
 * without yielding makes the counter loop forever (see "does not freeze the process" below).
 */
function renderFailingFor(failing: (count: number) => Buffer | Error) {
  const calls: number[] = [];
  const render = async (count: number): Promise<Buffer> => {
    calls.push(count);
    await sleep(5);
    const result = failing(count);
    if (result instanceof Error) throw result;
    return result;
  };
  return { render, calls };
}

test('a custom render that throws for one count reaches the error event, and streaming goes on', async () => {
  const logger = quietLogger();
  const { render } = renderFailingFor((count) => (count === 2 ? new Error('cannot draw 2') : expectedFrame(count)));
  const { url, counter } = await startCounterApp({ render, logger });
  const errors: Error[] = [];
  counter.events.on('error', (error) => errors.push(error));

  const first = await Viewer.open(url);
  await first.waitForLastFrame((png) => showsCount(png, 1), 'the first viewer to see 1');
  const second = await Viewer.open(url);
  await eventually(() => errors.some((error) => error.message === 'cannot draw 2'), 'the render error as an error event');
  expect(logger.error.mock.calls.map(([m]) => String(m)).some((m) => m.includes('cannot draw 2'))).toBe(true);

  // No frame for 2 exists; the streams stay open and show the next count that renders.
  const third = await Viewer.open(url);
  for (const viewer of [first, second, third]) {
    await viewer.waitForLastFrame((png) => showsCount(png, 3), 'every viewer to see 3 after the failed render');
    expect(viewer.ended).toBe(false);
  }
  expect((await request(url).get('/online.json')).text).toBe('{"count":3}');
  for (const frame of first.frames) expect(() => decodePng(frame)).not.toThrow();
});

test('a custom render that returns something not a PNG reaches the error event and no broken part is sent', async () => {
  const { render } = renderFailingFor((count) => (count === 2 ? Buffer.from('GIF89a, not a png') : expectedFrame(count)));
  const { url, counter } = await startCounterApp({ render });
  const errors: Error[] = [];
  counter.events.on('error', (error) => errors.push(error));

  const first = await Viewer.open(url);
  await first.waitForLastFrame((png) => showsCount(png, 1), 'the first viewer to see 1');
  await Viewer.open(url);
  await eventually(() => errors.some((error) => /not a PNG/.test(error.message)), 'a not-a-PNG error event');
  await Viewer.open(url);
  await first.waitForLastFrame((png) => showsCount(png, 3), 'the first viewer to see 3');
  for (const frame of first.frames) expect(() => decodePng(frame)).not.toThrow();
  expect(first.body.includes(Buffer.from('GIF89a'))).toBe(false);
});

// Once the count settles the neighbours count±1 are pre-rendered; a failing one must not be
// retried in a loop (with a renderer that throws at once, such a loop would hang the process).
test('a render that keeps failing for a neighbouring count is not retried in a loop', async () => {
  const { render, calls } = renderFailingFor((count) => (count === 1 ? new Error('cannot draw 1') : expectedFrame(count)));
  await startCounterApp({ render });
  // Nobody is watching; the count sits at 0. Pre-rendering 1 may fail once or twice, not hundreds of times.
  await sleep(1000);
  expect(calls.filter((count) => count === 1).length).toBeLessThanOrEqual(3);
});

// The failing renderers below fail after a timer: one that fails at once freezes the
// process (see "does not freeze the process" below), which would hang this whole file.
const failingSetups: [string, (count: number) => Buffer][] = [
  [
    'throws',
    (count) => {
      throw new Error(`the drawing of ${count} broke`);
    },
  ],
  ['returns bytes that are not a PNG', () => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/> is not a PNG')],
];
test.each(failingSetups)('a render function that %s for 1 does not crash the server: the stream stays open and the error is reported', async (_, fail) => {
  const logger = quietLogger();
  let released!: () => void;
  const gate = new Promise<void>((resolve) => (released = resolve));
  let zeroDrawn = false;
  const render = async (count: number) => {
    await gate;
    await sleep(10);
    if (count !== 0) return fail(count);
    zeroDrawn = true;
    return expectedFrame(0);
  };
  const { url, counter } = await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0, render, logger });
  const errors: Error[] = [];
  counter.events.on('error', (error) => errors.push(error));
  released();
  await eventually(() => zeroDrawn, 'the frame for 0');
  expect(errors).toEqual([]);

  const viewer = await Viewer.open(url);
  await viewer.waitForFrames(1, 10_000);
  await eventually(() => errors.length > 0, 'an error event', 10_000);
  expect(errors[0]).toBeInstanceOf(Error);
  expect(logger.error).toHaveBeenCalled();
  expect(String(logger.error.mock.calls[0][0])).toContain(errors[0].message);

  await sleep(300);
  expect(viewer.ended).toBe(false);
  expect(counter.count).toBe(1);
  // Only real frames reached the viewer: the one for 0, never the broken bytes.
  for (const png of viewer.frames) expect(png.equals(expectedFrame(0))).toBe(true);
  const json = await fetch(`${url}/online.json`).then((response) => response.json());
  expect(json).toEqual({ count: 1 });
  // And a second viewer is still served.
  const second = await Viewer.open(url);
  expect(second.status).toBe(200);
  await eventually(() => counter.count === 2, 'a count of 2');
  second.close();
  viewer.close();
});

// Was a bug (lib/frames/frame-broadcaster.ts run(), fixed in fa0a1c8): a neighbour pre-render that
// failed was swallowed and picked again at once, so a failing renderer was called forever.
test('a render function that keeps failing is not retried in a loop', async () => {
  const calls: number[] = [];
  const render = async (count: number) => {
    calls.push(count);
    await sleep(5);
    if (count === 0) return expectedFrame(0);
    throw new Error(`the drawing of ${count} broke`);
  };
  await startCounterApp({ keepAliveMs: 0, heartbeatMs: 0, render });
  await sleep(1000);
  // 0 once, then 1 (the neighbour) once: not hundreds.
  expect(calls.length).toBeLessThanOrEqual(5);
});

// The same loop with a renderer that fails without waiting on anything (a synchronous throw,
// or bytes that are not a PNG) settled every retry in the microtask queue and froze the
// process: no timer, socket or request ran again. Checked in a child process, killed on a
// deadline, so that a regression cannot freeze this one.
test.each([
  ['throws at once', `() => { throw new Error('broken'); }`],
  ['returns a non-PNG at once', `() => Buffer.from('not a PNG, not even close to one')`],
])('a render function that %s does not freeze the process', async (_, render) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'frames-test-'));
  const script = path.join(dir, 'renderer-fails.ts');
  const lib = path.resolve(__dirname, '..', '..', 'lib', 'index.ts');
  writeFileSync(
    script,
    [
      `const { userCounterMiddleware } = require(${JSON.stringify(lib)});`,
      `userCounterMiddleware({ render: ${render}, logger: { warn() {}, error() {} } });`,
      `console.log('created');`,
      `setTimeout(() => { console.log('event loop alive'); process.exit(0); }, 200);`,
    ].join('\n'),
  );
  // One process (tsx as a loader, not its CLI, which would leave a grandchild behind on SIGKILL).
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: path.resolve(__dirname, '..', '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr.on('data', (data: Buffer) => (output += data.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await new Promise<void>((resolve) => child.on('close', () => resolve()));
  clearTimeout(killer);
  rmSync(dir, { recursive: true, force: true });
  expect(output).toContain('created');
  expect(output).toContain('event loop alive');
});

test('a room whose text cannot be drawn reports errors naming the room; other rooms stream on', async () => {
  const { url, counter } = await startCounterApp({
    room: (req: Request) => req.query.page as string | undefined,
    text: (count, { room }) => {
      if (room === 'broken') throw new Error('cannot draw this room');
      return `Users online: ${count}`;
    },
  });
  const errors: (Error & { room?: string })[] = [];
  counter.events.on('error', (error) => errors.push(error));
  const broken = await Viewer.open(url, { page: 'broken' });
  await eventually(() => errors.length > 0, 'an error event');
  expect(errors.every((error) => error.message === 'cannot draw this room' && error.room === 'broken')).toBe(true);
  expect(broken.frames).toEqual([]);
  const fine = await Viewer.open(url, { page: 'fine' });
  await fine.waitForLastFrame((png) => showsCount(png, 1), 'another room to show 1');
  broken.close();
  await eventually(() => counter.stats().rooms === 1, 'the broken room gone with its viewer');
});
