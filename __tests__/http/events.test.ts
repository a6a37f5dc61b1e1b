import request from 'supertest';
import { MemoryCountStore } from '../../lib/index.js';
import type { CountStoreEvents, UserCounterEvents } from '../../lib/index.js';
import { closeAllApps, eventually, quietLogger, startCounterApp } from '../helpers/counter-app.js';
import { Viewer } from '../helpers/viewer.js';
import { decodePng, expectedFrame, showsCount } from '../../support/png.js';

const viewers: Viewer[] = [];

afterEach(async () => {
  for (const viewer of viewers.splice(0)) viewer.close();
  await closeAllApps();
});

async function open(url: string): Promise<Viewer> {
  const viewer = await Viewer.open(url);
  viewers.push(viewer);
  return viewer;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A custom renderer drawing what the default one draws, but failing for `failing`
 * counts. It answers after a real timer, as an encoder would: a renderer that fails
 * without yielding makes the counter loop forever (see the test.failing below).
 */
function renderFailingFor(failing: (count: number) => Buffer | Error) {
  const calls: number[] = [];
  const render = async (count: number): Promise<Buffer> => {
    calls.push(count);
    await pause(5);
    const result = failing(count);
    if (result instanceof Error) throw result;
    return result;
  };
  return { render, calls };
}

describe('router.counter.events', () => {
  test('connect, disconnect and change report the count as viewers come and go', async () => {
    const { url, counter } = await startCounterApp();
    const seen: string[] = [];
    counter.events.on('connect', ({ count }) => seen.push(`connect ${count}`));
    counter.events.on('disconnect', ({ count }) => seen.push(`disconnect ${count}`));
    counter.events.on('change', ({ count }) => seen.push(`change ${count}`));

    const viewer = await open(url);
    await eventually(() => seen.includes('connect 1'), 'a connect event');
    viewer.close();
    await eventually(() => seen.includes('disconnect 0'), 'a disconnect event');
    expect([...seen].sort()).toEqual(['change 0', 'change 1', 'connect 1', 'disconnect 0']);
    expect(seen.indexOf('connect 1')).toBeLessThan(seen.indexOf('disconnect 0'));
  });

  test('a change listener that throws stops neither the streams nor the other listeners, and is logged', async () => {
    const logger = quietLogger();
    const { url, counter } = await startCounterApp({ logger });
    const counts: number[] = [];
    counter.events.on('change', () => {
      throw new Error('listener exploded');
    });
    counter.events.on('change', ({ count }) => counts.push(count));

    const first = await open(url);
    await first.waitForLastFrame((png) => showsCount(png, 1), 'the first viewer to see 1');
    const second = await open(url);
    await first.waitForLastFrame((png) => showsCount(png, 2), 'the first viewer to see 2 despite the throwing listener');
    await second.waitForLastFrame((png) => showsCount(png, 2), 'the second viewer to see 2');
    expect(counts).toEqual([1, 2]);
    expect(counter.count).toBe(2);
    expect((await request(url).get('/online.json')).text).toBe('{"count":2}');

    const logged = logger.error.mock.calls.map(([message]) => String(message));
    expect(logged.filter((message) => message.includes('listener exploded'))).toHaveLength(2);

    second.close();
    await first.waitForLastFrame((png) => showsCount(png, 1), 'the first viewer to see 1 again');
    expect(counts).toEqual([1, 2, 1]);
  });

  test('an error listener that throws is logged, not re-emitted in a loop', async () => {
    const logger = quietLogger();
    const { url, counter } = await startCounterApp({ logger });
    let errorCalls = 0;
    counter.events.on('error', () => {
      errorCalls += 1;
      throw new Error('error listener exploded');
    });
    counter.events.emit('error', new Error('something the counter survived'));
    expect(errorCalls).toBe(1);
    expect(logger.error.mock.calls.map(([m]) => String(m)).some((m) => m.includes('error listener exploded'))).toBe(true);
    const viewer = await open(url);
    await viewer.waitForLastFrame((png) => showsCount(png, 1), 'a frame showing 1');
  });
});

describe("the store's own events", () => {
  test("a user's store change listener that throws does not break counting; it is logged and emitted as error", async () => {
    const logger = quietLogger();
    const store = new MemoryCountStore();
    store.events.on('change', () => {
      throw new Error('user store listener exploded');
    });
    const { url, counter } = await startCounterApp({ store, logger });
    const errors: Error[] = [];
    counter.events.on('error', (error) => errors.push(error));

    const first = await open(url);
    const second = await open(url);
    const third = await open(url);
    await eventually(() => counter.count === 3, 'the count to reach 3');
    for (const viewer of [first, second, third]) {
      await viewer.waitForLastFrame((png) => showsCount(png, 3), 'every viewer to see 3');
    }
    expect((await request(url).get('/online.json')).text).toBe('{"count":3}');

    third.close();
    await first.waitForLastFrame((png) => showsCount(png, 2), 'the first viewer to see 2');
    expect(counter.count).toBe(2);

    expect(errors.length).toBeGreaterThanOrEqual(4);
    expect(errors.every((error) => error.message === 'user store listener exploded')).toBe(true);
    expect(logger.error.mock.calls.map(([m]) => String(m)).some((m) => m.includes('user store listener exploded'))).toBe(true);
  });
});

describe('render errors', () => {
  test('a custom render that throws for one count reaches the error event, and streaming goes on', async () => {
    const logger = quietLogger();
    const { render } = renderFailingFor((count) => (count === 2 ? new Error('cannot draw 2') : expectedFrame(count)));
    const { url, counter } = await startCounterApp({ render, logger });
    const errors: Error[] = [];
    counter.events.on('error', (error) => errors.push(error));

    const first = await open(url);
    await first.waitForLastFrame((png) => showsCount(png, 1), 'the first viewer to see 1');
    const second = await open(url);
    await eventually(() => errors.some((error) => error.message === 'cannot draw 2'), 'the render error as an error event');
    expect(logger.error.mock.calls.map(([m]) => String(m)).some((m) => m.includes('cannot draw 2'))).toBe(true);

    // No frame for 2 exists; the streams stay open and show the next count that renders.
    const third = await open(url);
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

    const first = await open(url);
    await first.waitForLastFrame((png) => showsCount(png, 1), 'the first viewer to see 1');
    await open(url);
    await eventually(() => errors.some((error) => /not a PNG/.test(error.message)), 'a not-a-PNG error event');
    await open(url);
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
    await pause(1000);
    expect(calls.filter((count) => count === 1).length).toBeLessThanOrEqual(3);
  });
});

describe('MemoryCountStore', () => {
  function recorded(store: MemoryCountStore): string[] {
    const seen: string[] = [];
    store.events.on('change', ({ room }) => seen.push(`${room}:${store.count(room)}/${store.count()}`));
    return seen;
  }

  test('counts per room and in total', () => {
    const store = new MemoryCountStore();
    expect(store.count()).toBe(0);
    expect(store.count('')).toBe(0);
    store.increment('');
    store.increment('/a');
    store.increment('/a');
    store.increment('/b');
    expect(store.count('')).toBe(1);
    expect(store.count('/a')).toBe(2);
    expect(store.count('/b')).toBe(1);
    expect(store.count('/unknown')).toBe(0);
    expect(store.count()).toBe(4);
    store.decrement('/a');
    expect(store.count('/a')).toBe(1);
    expect(store.count()).toBe(3);
  });

  test('never goes negative: a decrement in an empty room changes nothing and emits nothing', () => {
    const store = new MemoryCountStore();
    const seen = recorded(store);
    store.decrement('');
    store.decrement('/a');
    expect(store.count()).toBe(0);
    expect(store.count('/a')).toBe(0);
    expect(seen).toEqual([]);

    store.increment('/a');
    store.decrement('/b');
    store.decrement('/a');
    store.decrement('/a');
    expect(store.count('/a')).toBe(0);
    expect(store.count('/b')).toBe(0);
    expect(store.count()).toBe(0);
    expect(seen).toEqual(['/a:1/1', '/a:0/0']);
  });

  test('emits change with the room, after the count already includes the change', () => {
    const store = new MemoryCountStore();
    const seen = recorded(store);
    store.increment('/a');
    store.increment('');
    store.decrement('/a');
    expect(seen).toEqual(['/a:1/1', ':1/2', '/a:0/1']);
  });

  test('close() resets every room to 0 and emits change for each room that had viewers', async () => {
    const store = new MemoryCountStore();
    store.increment('/a');
    store.increment('/a');
    store.increment('/b');
    const seen = recorded(store);
    await store.close();
    expect(store.count()).toBe(0);
    expect(store.count('/a')).toBe(0);
    expect(store.count('/b')).toBe(0);
    expect(seen.sort()).toEqual(['/a:0/0', '/b:0/0']);
    // Usable again afterwards, from zero.
    store.increment('/a');
    expect(store.count()).toBe(1);
  });

  test('a throwing change listener is reported as an error event; the other listeners and the count go on', () => {
    const store = new MemoryCountStore();
    const errors: CountStoreEvents['error'][] = [];
    store.events.on('change', () => {
      throw new Error('bad listener');
    });
    const seen = recorded(store);
    store.events.on('error', (error) => errors.push(error));
    store.increment('');
    store.increment('');
    expect(store.count()).toBe(2);
    expect(seen).toEqual([':1/1', ':2/2']);
    expect(errors.map((error) => error.message)).toEqual(['bad listener', 'bad listener']);
  });

  test('a throwing error listener does not loop and does not break the store', () => {
    const store = new MemoryCountStore();
    let errorCalls = 0;
    store.events.on('change', () => {
      throw new Error('bad change listener');
    });
    store.events.on('error', () => {
      errorCalls += 1;
      throw new Error('bad error listener');
    });
    expect(() => store.increment('')).not.toThrow();
    expect(errorCalls).toBe(1);
    expect(store.count()).toBe(1);
    store.decrement('');
    expect(errorCalls).toBe(2);
    expect(store.count()).toBe(0);
  });
});

// Types the listeners above rely on: a compile-time check that the event maps stay as documented.
const typeCheck: [UserCounterEvents['change'], CountStoreEvents['change']] = [{ count: 0 }, { room: '' }];
void typeCheck;
