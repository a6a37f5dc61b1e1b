// The count of open streams, read from every side (the handle, /online.json, the locals, the
// events), as viewers join and leave.
import { startCounterApp } from '../helpers/counter-app.js';
import { jsonCount, localsCount, openServerStreams, openStreams, recordEvents, startCountedApp } from '../helpers/counted-app.js';
import { RawConnection } from '../helpers/raw-connection.js';
import { eventually, sleep } from '../helpers/time.js';
import { showsCount } from '../../support/png.js';

test('one viewer counts 1 in the handle, in /online.json (never cached) and in req.app.locals.userCount', async () => {
  const started = await startCountedApp();
  const [viewer] = await openStreams(started.url, 1);
  await eventually(() => started.counter.count === 1, 'count 1');

  const json = await jsonCount(started.url);
  expect(json.count).toBe(1);
  expect(json.cacheControl).toContain('no-store');
  expect(await localsCount(started.url)).toEqual({ value: 1, type: 'number' });

  viewer.destroy();
  await eventually(() => started.counter.count === 0, 'count 0 after the viewer left', 2000);
  expect((await jsonCount(started.url)).count).toBe(0);
  expect(await localsCount(started.url)).toEqual({ value: 0, type: 'number' });
});

test('50 viewers at once count 50 in the handle, the JSON and the locals; they agree at every step down to 0', async () => {
  const started = await startCountedApp();
  const events = recordEvents(started);
  const viewers = await openStreams(started.url, 50);
  await eventually(() => started.counter.count === 50, `count 50, have ${started.counter.count}`);
  expect((await jsonCount(started.url)).count).toBe(50);
  expect(await localsCount(started.url)).toEqual({ value: 50, type: 'number' });
  expect(openServerStreams(started.serverStreams)).toBe(50);

  // Leave one at a time; after each departure all three views agree with the server.
  for (let left = 1; left <= viewers.length; left++) {
    viewers[left - 1].destroy();
    const expected = 50 - left;
    await eventually(() => started.counter.count === expected, `count ${expected}`, 2000);
    expect((await jsonCount(started.url)).count).toBe(expected);
    expect((await localsCount(started.url)).value).toBe(expected);
    await eventually(() => openServerStreams(started.serverStreams) === expected, `${expected} open server streams`, 2000);
  }
  events.stop();
  expect(events.lowest()).toBe(0);
  expect(events.seen.connect).toHaveLength(50);
  expect(events.seen.disconnect).toHaveLength(50);
});

test('change events carry each new total; connect and disconnect fire once per stream', async () => {
  const started = await startCountedApp();
  const events = recordEvents(started);
  const viewers: RawConnection[] = [];
  for (let n = 1; n <= 3; n++) {
    viewers.push(...(await openStreams(started.url, 1)));
    await eventually(() => started.counter.count === n, `count ${n}`);
  }
  for (let n = 2; n >= 0; n--) {
    viewers.shift()!.destroy();
    await eventually(() => started.counter.count === n, `count ${n}`, 2000);
  }
  expect(events.seen.change).toEqual([1, 2, 3, 2, 1, 0]);
  expect(events.seen.connect).toEqual([1, 2, 3]);
  expect(events.seen.disconnect).toEqual([2, 1, 0]);

  // Ten at once: ten connects, ten disconnects, whatever the interleaving.
  const ten = await openStreams(started.url, 10);
  await eventually(() => started.counter.count === 10, 'count 10');
  ten.forEach((viewer, i) => (i % 2 ? viewer.destroy() : viewer.reset()));
  await eventually(() => started.counter.count === 0, 'count 0', 2000);
  await sleep(200);
  events.stop();
  expect(events.seen.connect).toHaveLength(13);
  expect(events.seen.disconnect).toHaveLength(13);
  expect(events.seen.change.at(-1)).toBe(0);
  expect(events.lowest()).toBe(0);
});

// Was a bug: the joiner was sent the frame for 3 at once; the count then went back to 2, the
// frame everyone else showed, so no broadcast came and the joiner kept showing 3.
test('a viewer who joins just before another leaves ends up showing the settled count, like everyone else', async () => {
  const { url, counter } = await startCounterApp();
  const [stays, leaves] = await Promise.all([RawConnection.open(url), RawConnection.open(url)]);
  await eventually(() => [stays, leaves].every((viewer) => viewer.lastPart !== undefined && showsCount(viewer.lastPart, 2)), 'both show 2');
  const joins = await RawConnection.open(url);
  await joins.waitForLastPart((png) => showsCount(png, 3), 'the joiner is sent 3 at once');
  leaves.destroy();
  await eventually(() => counter.count === 2, 'count 2');
  await joins.waitForLastPart((png) => showsCount(png, 2), 'the joiner shows 2');
  expect(showsCount(stays.lastPart!, 2)).toBe(true);
});
