import { parseHint, parseSyncReply } from '../../lib/redis/sync-protocol.js';

// What the store reads from Redis: the script's reply, and the "changed" hint anyone able to
// PUBLISH on the channel can send.

const valid = { i: 'other', s: 1_700_000_000_000_000, t: 3, r: ['/p', 2, '', 1], m: ['1:v/p', 2] };
const hint = (fields: Record<string, unknown>) => JSON.stringify({ ...valid, ...fields });

test('a hint as the script publishes it is read, empty lists included (cjson writes them as {})', () => {
  expect(parseHint(hint({}))).toEqual({ from: 'other', seq: valid.s, sum: 3, rooms: [['/p', 2], ['', 1]], refs: [['1:v/p', 2]] });
  expect(parseHint(hint({ r: {}, m: {} }))).toEqual({ from: 'other', seq: valid.s, sum: 3, rooms: [], refs: [] });
});

test.each<[string, Record<string, unknown>]>([
  ['a sum that is not a number', { t: 'x' }],
  ['no sum', { t: undefined }],
  ['a sum that is not whole', { t: 2.5 }],
  ['a room total that is not a number', { r: ['/p', 'x'] }],
  ['a room total that is not whole', { r: ['/p', 1.5] }],
  ['a room that is not a string', { r: [7, 1] }],
  ['a room without its total', { r: ['/p'] }],
  ['a holder count that is not a number', { m: ['1:v/p', null] }],
  ['lists that are not lists', { r: 'rooms' }],
  ['no seq', { s: undefined }],
])('a hint with %s is refused whole', (_, fields) => {
  expect(parseHint(hint(fields))).toBeUndefined();
});

test('a reply the script could not have sent is refused, and the error shows none of its content (room names come from clients)', () => {
  expect(() => parseSyncReply(['1', '0', '0', '0', '0', '5', '/secret-room', '1'])).toThrow(/unexpected reply/);
  expect(() => parseSyncReply(['1', '0', '0', '0', '0', '5', '/secret-room', '1'])).not.toThrow(/secret/);
});
