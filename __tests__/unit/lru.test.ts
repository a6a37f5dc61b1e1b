import { Lru } from '../../lib/util/lru.js';

// The one bounded cache (frames by bytes, static PNGs by number): least recently used go first.

test('past its limit the least recently used entry goes; a get counts as a use, a has does not', () => {
  const lru = new Lru<string, number>(3);
  lru.set('a', 1);
  lru.set('b', 2);
  lru.set('c', 3);
  expect(lru.get('a')).toBe(1);
  expect(lru.has('b')).toBe(true);
  lru.set('d', 4);
  expect(['a', 'b', 'c', 'd'].map((key) => lru.has(key))).toEqual([true, false, true, true]);
  lru.set('e', 5);
  expect(['a', 'c', 'd', 'e'].map((key) => lru.has(key))).toEqual([true, false, true, true]);
  expect(lru.weight).toBe(3);
});

test('setting a kept key replaces its value, makes it the newest and evicts nothing', () => {
  const lru = new Lru<string, number>(2);
  lru.set('a', 1);
  lru.set('b', 2);
  lru.set('a', 10);
  expect(lru.weight).toBe(2);
  lru.set('c', 3);
  expect([lru.get('a'), lru.has('b'), lru.get('c')]).toEqual([10, false, 3]);
});

test('with a weight per value, the limit bounds the total weight; the newest stays even alone over the limit', () => {
  const lru = new Lru<string, string>(10, (value) => value.length);
  lru.set('a', 'xxxx');
  lru.set('b', 'yyyy');
  expect(lru.weight).toBe(8);
  lru.set('c', 'zzzz');
  expect([lru.has('a'), lru.has('b'), lru.has('c'), lru.weight]).toEqual([false, true, true, 8]);
  lru.set('huge', 'h'.repeat(25));
  expect([lru.has('b'), lru.has('c'), lru.get('huge'), lru.weight]).toEqual([false, false, 'h'.repeat(25), 25]);
  // A replaced value's weight is taken off before the new one is added.
  lru.set('huge', 'hh');
  expect(lru.weight).toBe(2);
});

test('delete forgets an entry and its weight; deleting a missing key does nothing', () => {
  const lru = new Lru<string, string>(10, (value) => value.length);
  lru.set('a', 'abc');
  lru.delete('a');
  lru.delete('missing');
  expect([lru.has('a'), lru.get('a'), lru.weight]).toEqual([false, undefined, 0]);
});
