import { DEFAULT_ROOM, displayedRoom, roomNameProblem } from '../../lib/counting/room-names.js';

// The one place room names are checked (a 400 for a bad one) and made fit to draw.

test('the default room is the empty name, and it is a valid name', () => {
  expect(DEFAULT_ROOM).toBe('');
  expect(roomNameProblem(DEFAULT_ROOM)).toBeUndefined();
});

test('a name of 128 characters, Unicode included, is accepted; 129 is too long', () => {
  expect(roomNameProblem('é'.repeat(128))).toBeUndefined();
  expect(roomNameProblem('/blog/über-uns 🎉')).toBeUndefined();
  expect(roomNameProblem('x'.repeat(129))).toBe('The room name is too long: at most 128 characters.');
});

test.each([
  ['a control character', 'a\u0000b'],
  ['a newline', 'a\nb'],
  ['a bidi override', 'abc\u202Edef'],
  ['a zero-width joiner', 'a\u200Db'],
  ['a line separator', 'a\u2028b'],
  ['a lone surrogate', 'a\uD800b'],
  ['a private-use character', 'a\uE000b'],
])('a name with %s is refused', (_what, name) => {
  expect(roomNameProblem(name)).toBe('The room name may hold printable characters only.');
  // The check holds on every call (no state kept between them).
  expect(roomNameProblem(name)).toBe('The room name may hold printable characters only.');
});

test('a drawn room name keeps its printable characters only', () => {
  expect(displayedRoom('Docs')).toBe('Docs');
  expect(displayedRoom('ab\u202Ecd\u0007e\u2029f')).toBe('abcdef');
  expect(displayedRoom('')).toBe('');
});

test('a drawn room name is cut to 64 characters (code points, not UTF-16 units), ending in an ellipsis', () => {
  expect(displayedRoom('N'.repeat(64))).toBe('N'.repeat(64));
  expect(displayedRoom('N'.repeat(65))).toBe(`${'N'.repeat(63)}…`);
  const emoji = '🎉'.repeat(70);
  expect(displayedRoom(emoji)).toBe(`${'🎉'.repeat(63)}…`);
  // Removed characters do not count towards the length.
  expect(displayedRoom(`${'\u0000'.repeat(10)}${'N'.repeat(64)}`)).toBe('N'.repeat(64));
});
