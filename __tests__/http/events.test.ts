// The counter's events (connect, disconnect, change, error) and the store's, and listeners that throw.
import request from 'supertest';
import { MemoryCountStore } from '../../lib/index.js';
import type { CountStoreEvents, UserCounterEvents } from '../../lib/index.js';
import { quietLogger, startCounterApp } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import { Viewer } from '../helpers/viewer.js';
import { showsCount } from '../../support/png.js';

describe('router.counter.events', () => {
  test('connect, disconnect and change report the count as viewers come and go', async () => {
    const { url, counter } = await startCounterApp();
    const seen: string[] = [];
    counter.events.on('connect', ({ count }) => seen.push(`connect ${count}`));
    counter.events.on('disconnect', ({ count }) => seen.push(`disconnect ${count}`));
    counter.events.on('change', ({ count }) => seen.push(`change ${count}`));

    const viewer = await Viewer.open(url);
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

    const first = await Viewer.open(url);
    await first.waitForLastFrame((png) => showsCount(png, 1), 'the first viewer to see 1');
    const second = await Viewer.open(url);
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
    const viewer = await Viewer.open(url);
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

    const first = await Viewer.open(url);
    const second = await Viewer.open(url);
    const third = await Viewer.open(url);
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

// Types the listeners above rely on: a compile-time check that the event maps stay as documented.
const typeCheck: [UserCounterEvents['change'], CountStoreEvents['change']] = [{ count: 0 }, { room: '' }];
void typeCheck;
