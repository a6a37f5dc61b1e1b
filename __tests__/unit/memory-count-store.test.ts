// The memory store: counts per room and in total, never below 0, `change` after the count
// includes it, close() back to 0, and listeners that throw isolated.
import { MemoryCountStore } from '../../lib/index.js';
import type { CountStoreEvents } from '../../lib/index.js';

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
