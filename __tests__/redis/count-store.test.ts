import IORedis from 'ioredis';
import { RedisCountStore } from '../../lib/index.js';
import { quietLogger } from '../helpers/counter-app.js';
import { eventually, sleep } from '../helpers/time.js';
import { connectStore, scriptCalls, uniquePrefix } from '../helpers/redis-store.js';
import { useTestRedis } from '../helpers/redis-suite.js';

const suite = useTestRedis();

describe('sharing one Redis', () => {
  test('two stores (ioredis and node-redis) see each other: per-room and overall totals agree', async () => {
    const prefix = uniquePrefix();
    const a = await connectStore('ioredis', suite.redis, { prefix });
    const b = await connectStore('node-redis', suite.redis, { prefix });
    await Promise.all([a.store.init(), b.store.init()]);
    a.store.increment('/x');
    a.store.increment('/x');
    a.store.increment('/y');
    b.store.increment('/x');
    const agree = () =>
      [a.store, b.store].every((store) => store.count('/x') === 3 && store.count('/y') === 1 && store.count() === 4);
    await eventually(agree, 'both stores at /x=3, /y=1, total 4');
    b.store.decrement('/x');
    a.store.decrement('/y');
    await eventually(
      () => [a.store, b.store].every((store) => store.count('/x') === 2 && store.count('/y') === 0 && store.count() === 2),
      'both stores at /x=2, /y=0, total 2',
    );
  });

  test('keys: one hash tag {prefix}, a sorted set scored by Redis TIME, one hash of room counts per instance and the totals derived from them; all expiring; none left after the last close', async () => {
    const prefix = uniquePrefix();
    const a = await connectStore('ioredis', suite.redis, { prefix, instanceId: 'alpha' });
    const b = await connectStore('ioredis', suite.redis, { prefix, instanceId: 'beta' });
    await Promise.all([a.store.init(), b.store.init()]);
    a.store.increment('');
    a.store.increment('/page');
    await eventually(() => b.store.count() === 2, 'b to see 2');

    const keys = (await suite.inspector.keys(`{${prefix}}*`)).sort();
    expect(keys).toEqual(
      ['instance:alpha', 'instances', 'meta', 'owners', 'room:', 'room:/page', 'totals'].map((name) => `{${prefix}}:${name}`),
    );
    expect(await suite.inspector.hgetall(`{${prefix}}:instance:alpha`)).toEqual({ '': '1', '/page': '1' });
    expect(await suite.inspector.hgetall(`{${prefix}}:room:/page`)).toEqual({ aalpha: '1' });
    expect(await suite.inspector.hgetall(`{${prefix}}:totals`)).toEqual({ '': '1', '/page': '1' });
    expect(await suite.inspector.hget(`{${prefix}}:meta`, 'sum')).toBe('2');
    const [seconds] = await suite.inspector.time();
    const scores = await suite.inspector.zrange(`{${prefix}}:instances`, '0', '-1', 'WITHSCORES');
    expect(scores.filter((_, i) => i % 2 === 0).sort()).toEqual(['alpha', 'beta']);
    for (const score of scores.filter((_, i) => i % 2 === 1)) {
      expect(Math.abs(Number(score) - Number(seconds) * 1000)).toBeLessThan(10_000);
    }
    // Nothing lives forever: every key expires if every instance dies.
    for (const key of keys) expect(await suite.inspector.pttl(key)).toBeGreaterThan(0);

    await a.close();
    await b.close();
    expect(await suite.inspector.keys(`{${prefix}}*`)).toEqual([]);
  });

  test("what Redis keeps is bounded by the rooms live now: 60 rooms streamed, checked by heartbeats and left leave no trace of a room (totals, checked, room hashes)", async () => {
    const prefix = uniquePrefix();
    const key = (name: string) => `{${prefix}}:${name}`;
    const connected = await connectStore('ioredis', suite.redis, { prefix, instanceId: 'alpha', heartbeatMs: 100, ttlMs: 1000 });
    const { store } = connected;
    await store.init();
    const rooms = Array.from({ length: 60 }, (_, i) => `/r${i}`);
    for (const room of rooms) store.increment(room, room.length % 2 ? 'viewer' : undefined);
    // Every room checked at least once (a third of them per heartbeat).
    await eventually(async () => (await suite.inspector.hlen(key('checked'))) === 60, 'every room checked', 10_000);
    for (const room of rooms) store.decrement(room, room.length % 2 ? 'viewer' : undefined);
    await eventually(async () => (await suite.inspector.hlen(key('totals'))) === 0, 'every total gone', 10_000);
    // A few heartbeats later, nothing of any room is left: only this instance's own records.
    const calls = scriptCalls(connected.commands);
    await eventually(() => scriptCalls(connected.commands) >= calls + 3, 'three more script calls', 10_000);
    expect(await suite.inspector.hlen(key('checked'))).toBe(0);
    expect((await suite.inspector.keys(`{${prefix}}*`)).sort()).toEqual(['instances', 'meta', 'owners'].map(key));
  });

  test('100 joins in one tick cost a handful of script calls, not one per viewer, on both instances', async () => {
    const prefix = uniquePrefix();
    const options = { prefix, heartbeatMs: 60_000, ttlMs: 180_000 };
    const a = await connectStore('ioredis', suite.redis, options);
    const b = await connectStore('node-redis', suite.redis, options);
    await Promise.all([a.store.init(), b.store.init()]);
    const [beforeA, beforeB] = [scriptCalls(a.commands), scriptCalls(b.commands)];
    for (let i = 0; i < 100; i++) a.store.increment('');
    await eventually(() => b.store.count() === 100, 'b to see 100');
    await sleep(300);
    expect(scriptCalls(a.commands) - beforeA).toBeLessThanOrEqual(3);
    expect(scriptCalls(b.commands) - beforeB).toBeLessThanOrEqual(3);
    expect(a.commands.every(([name]) => name === 'EVALSHA' || name === 'EVAL')).toBe(true);
    for (let i = 0; i < 100; i++) a.store.decrement('');
    await eventually(() => b.store.count() === 0, 'b to see 0');
    await sleep(300);
    expect(scriptCalls(a.commands) - beforeA).toBeLessThanOrEqual(6);
  });

  test('a join on one store reaches the other through the pub/sub hint, long before any heartbeat', async () => {
    const prefix = uniquePrefix();
    const options = { prefix, heartbeatMs: 60_000, ttlMs: 180_000 };
    const a = await connectStore('ioredis', suite.redis, options);
    const b = await connectStore('ioredis', suite.redis, options);
    await Promise.all([a.store.init(), b.store.init()]);
    await sleep(100);
    const changes: number[] = [];
    b.store.events.on('change', () => changes.push(b.store.count()));
    const started = Date.now();
    a.store.increment('');
    await eventually(() => b.store.count() === 1, 'b to see the join', 3000);
    const elapsed = Date.now() - started;
    // 200 ms is the budget; the bound is loose because the machine is shared.
    expect(elapsed).toBeLessThan(1000);
    expect(changes).toEqual([1]);
  });

  test('a malformed hint on the channel (anyone who can PUBLISH may send one) is ignored whole: no count from it, never NaN', async () => {
    const prefix = uniquePrefix();
    const options = { prefix, heartbeatMs: 60_000, ttlMs: 180_000 };
    const a = await connectStore('ioredis', suite.redis, options);
    const b = await connectStore('node-redis', suite.redis, options);
    await Promise.all([a.store.init(), b.store.init()]);
    a.store.increment('/p');
    await eventually(() => b.store.count('/p') === 1, 'b to see /p');
    const seq = Number(await suite.inspector.hget(`{${prefix}}:meta`, 'seq')) + 1;
    const malformed = [{ r: ['/q', 9], m: ['1:v/q', 'x'] }, { r: ['/q', 9, '/p', 'x'] }, { r: ['/q', 1.5] }, { t: 'x' }, { r: ['/q', 'x'] }];
    for (const fields of malformed) {
      await suite.inspector.publish(`{${prefix}}:changed`, JSON.stringify({ i: 'intruder', s: seq, t: 1, r: [], m: [], ...fields }));
    }
    // a's own hint comes after them on the channel: once b has it, b has read them all.
    a.store.increment('/p');
    await eventually(() => b.store.count('/p') === 2, 'b to see the second stream');
    expect([b.store.count('/p'), b.store.count('/q'), b.store.count()]).toEqual([2, 0, 2]);
  });

  test('close() takes this instance out at once: the other store drops its viewers without waiting for the TTL', async () => {
    const prefix = uniquePrefix();
    const options = { prefix, heartbeatMs: 60_000, ttlMs: 180_000 };
    const a = await connectStore('ioredis', suite.redis, options);
    const b = await connectStore('node-redis', suite.redis, options);
    await Promise.all([a.store.init(), b.store.init()]);
    for (let i = 0; i < 5; i++) a.store.increment('');
    b.store.increment('');
    await eventually(() => b.store.count() === 6, 'b to see 6');
    await a.close();
    await eventually(() => b.store.count() === 1, 'b back to its own 1', 3000);
  });

  test('a store whose calls stall past the TTL is dropped by the other, and counted again at its next heartbeat', async () => {
    const prefix = uniquePrefix();
    const options = { prefix, heartbeatMs: 200, ttlMs: 800 };
    let release: (() => void) | undefined;
    let stalled: Promise<void> | undefined;
    const logger = quietLogger();
    const slow = await connectStore('ioredis', suite.redis, { ...options, logger }, async (_, send) => {
      if (stalled) await stalled;
      return send();
    });
    const other = await connectStore('node-redis', suite.redis, options);
    await Promise.all([slow.store.init(), other.store.init()]);
    slow.store.increment('');
    slow.store.increment('');
    other.store.increment('');
    await eventually(() => other.store.count() === 3 && slow.store.count() === 3, 'both at 3');

    stalled = new Promise((resolve) => (release = resolve));
    await eventually(() => other.store.count() === 1, 'the stalled instance dropped', 800 + 200 + 3000);
    // Dropped from the set of live instances by whoever ran the script, not only expired.
    const dropped = async () => (await suite.inspector.zscore(`{${prefix}}:instances`, slow.store.instanceId)) === null;
    const deadline = Date.now() + 3000;
    while (!(await dropped()) && Date.now() < deadline) await sleep(50);
    expect(await dropped()).toBe(true);
    // The stalled store still shows its own viewers.
    expect(slow.store.count()).toBeGreaterThanOrEqual(2);
    expect(logger.warn).toHaveBeenCalledTimes(1);

    stalled = undefined;
    release!();
    await eventually(() => other.store.count() === 3, 'the stalled instance back', 200 + 3000);
    await eventually(() => slow.store.count() === 3, 'the stalled store sees the total again', 200 + 3000);
  });

  test('liveness uses Redis TIME, not host clocks: a host clock an hour ahead does not drop a live instance', async () => {
    const prefix = uniquePrefix();
    const options = { prefix, heartbeatMs: 60_000, ttlMs: 180_000 };
    const a = await connectStore('ioredis', suite.redis, options);
    a.store.increment('');
    await a.store.init();
    await eventually(() => a.commands.length > 0, 'a to write');
    await sleep(100);
    const realNow = Date.now;
    const spy = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 3_600_000);
    try {
      const b = await connectStore('ioredis', suite.redis, options);
      await b.store.init();
      await eventually(() => b.commands.length > 0, 'b to sync');
      await sleep(100);
      expect(b.store.count()).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(await suite.inspector.zcard(`{${prefix}}:instances`)).toBe(2);
  });

  test('refresh() re-reads the totals at once, making up for a lost hint without waiting for the heartbeat', async () => {
    const prefix = uniquePrefix();
    const options = { prefix, heartbeatMs: 60_000, ttlMs: 180_000 };
    const a = await connectStore('ioredis', suite.redis, options);
    const client = new IORedis(suite.redis.url);
    try {
      // No subscription: every hint is lost, as while a subscriber reconnects.
      const b = new RedisCountStore({ ...options, sendCommand: (...args) => client.call(...(args as [string, ...string[]])) });
      await Promise.all([a.store.init(), b.init()]);
      a.store.increment('');
      await eventually(() => a.commands.length >= 2, 'a to write');
      await sleep(300);
      expect(b.count()).toBe(0);
      b.refresh();
      await eventually(() => b.count() === 1, 'b to see the join after refresh()', 2000);
      await b.close();
    } finally {
      client.disconnect();
    }
  });

  test('when Redis forgets the script (SCRIPT FLUSH), one EVAL loads it again and EVALSHA works after', async () => {
    const prefix = uniquePrefix();
    const a = await connectStore('node-redis', suite.redis, { prefix, heartbeatMs: 60_000, ttlMs: 180_000 });
    await a.store.init();
    await suite.inspector.script('FLUSH');
    const before = a.commands.length;
    a.store.increment('');
    await eventually(() => a.commands.slice(before).some(([name]) => name === 'EVAL'), 'an EVAL after NOSCRIPT');
    await sleep(100);
    a.store.increment('');
    await eventually(() => a.commands.length >= before + 3, 'one more call');
    expect(a.commands.slice(before).map(([name]) => name)).toEqual(['EVALSHA', 'EVAL', 'EVALSHA']);
    // Sent is not yet run: the inspector's connection may be served first.
    const stored = () => suite.inspector.hget(`{${prefix}}:instance:${a.store.instanceId}`, '');
    await eventually(async () => (await stored()) === '2', 'the second increment stored in Redis');
    expect(a.store.count()).toBe(2);
  });
});
