import { ViewerTally } from '../../lib/counting/viewer-tally.js';

// A room's count: each stream without a viewer, plus each viewer once while it has a stream.

test('streams without a viewer each count, and each reports a change', () => {
  const tally = new ViewerTally();
  expect([tally.add(), tally.add(), tally.add()]).toEqual([true, true, true]);
  expect([tally.count, tally.anonymous]).toEqual([3, 3]);
  expect([tally.remove(), tally.remove()]).toEqual([true, true]);
  expect(tally.count).toBe(1);
});

test("a viewer's tabs count once: only its first stream and its last leave change the count", () => {
  const tally = new ViewerTally();
  expect([tally.add('v'), tally.add('v'), tally.add('v')]).toEqual([true, false, false]);
  expect(tally.count).toBe(1);
  expect([tally.remove('v'), tally.remove('v')]).toEqual([false, false]);
  expect([tally.count, tally.has('v')]).toEqual([1, true]);
  expect(tally.remove('v')).toBe(true);
  expect([tally.count, tally.has('v'), tally.empty]).toEqual([0, false, true]);
});

test('viewers and anonymous streams add up; the viewers are listed once each', () => {
  const tally = new ViewerTally();
  tally.add('a');
  tally.add('b');
  tally.add('a');
  tally.add();
  expect([tally.count, tally.anonymous]).toEqual([3, 1]);
  expect([...tally.viewers()]).toEqual(['a', 'b']);
  // An anonymous stream leaving is not a viewer's.
  tally.remove();
  expect([tally.count, tally.anonymous, [...tally.viewers()]]).toEqual([2, 0, ['a', 'b']]);
});

test('removing a stream that is not there changes nothing, and the count never goes below 0', () => {
  const tally = new ViewerTally();
  expect([tally.remove(), tally.remove('nobody')]).toEqual([false, false]);
  tally.add('v');
  expect(tally.remove('w')).toBe(false);
  expect([tally.count, tally.anonymous, tally.empty]).toEqual([1, 0, false]);
});
