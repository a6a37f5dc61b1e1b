import type { FrameBroadcaster } from '../../lib/frames/frame-broadcaster.js';
import type { MultipartWriter } from '../../lib/stream/multipart-writer.js';
import { DEFAULT_ROOM } from '../../lib/counting/room-names.js';
import { RoomRegistry } from '../../lib/rooms/room-registry.js';

// The rooms with streams on one instance: a room holds state only while it has a stream (the
// default room's pinned channel excepted), and at most maxRooms rooms besides the default one.

interface FakeBroadcaster {
  readonly room: string;
  readonly pixelRatio: number;
  closed: boolean;
}

function registry({ maxRooms = 3, failFor = '' } = {}) {
  const made: FakeBroadcaster[] = [];
  const rooms = new RoomRegistry({
    maxRooms,
    pinnedPixelRatio: 1,
    createBroadcaster(room, pixelRatio) {
      if (failFor && room === failFor) throw new Error('cannot draw');
      const broadcaster: FakeBroadcaster = { room, pixelRatio, closed: false };
      made.push(broadcaster);
      return Object.assign(broadcaster, { close: () => (broadcaster.closed = true) }) as unknown as FrameBroadcaster;
    },
    readCount: () => 0,
  });
  const open = () => made.filter((broadcaster) => !broadcaster.closed).map(({ room, pixelRatio }) => `${room}@${pixelRatio}`);
  return { rooms, made, open };
}

const writer = () => ({}) as MultipartWriter;

test('the default room is there from the start with its pinned broadcaster, and counts as active only with streams', () => {
  const { rooms, open } = registry();
  expect(open()).toEqual(['@1']);
  expect(rooms.get(DEFAULT_ROOM)).toBeDefined();
  expect([rooms.activeCount, [...rooms.active()], rooms.broadcasterCount]).toEqual([0, [], 1]);
  const w = writer();
  const { room, channel } = rooms.join(DEFAULT_ROOM, 1, w, undefined);
  expect([rooms.activeCount, [...rooms.active()].map((r) => r.name)]).toEqual([1, ['']]);
  rooms.leave(room, channel, w, undefined);
  // Its last stream gone, the pinned broadcaster stays open (its frames are ready for the next viewer).
  expect([rooms.activeCount, open(), rooms.get(DEFAULT_ROOM)]).toEqual([0, ['@1'], room]);
});

test('a room gets one broadcaster per pixel ratio in use; each closes with its last stream, and the room is then forgotten', () => {
  const { rooms, open } = registry();
  const [a, b, c] = [writer(), writer(), writer()];
  const first = rooms.join('docs', 1, a, undefined);
  const second = rooms.join('docs', 1, b, undefined);
  const sharp = rooms.join('docs', 2, c, undefined);
  expect(second.channel).toBe(first.channel);
  expect(open()).toEqual(['@1', 'docs@1', 'docs@2']);
  expect([rooms.activeCount, rooms.broadcasterCount]).toEqual([1, 3]);

  rooms.leave(sharp.room, sharp.channel, c, undefined);
  expect(open()).toEqual(['@1', 'docs@1']);
  rooms.leave(first.room, first.channel, a, undefined);
  expect([open(), rooms.get('docs')]).toEqual([['@1', 'docs@1'], first.room]);
  rooms.leave(second.room, second.channel, b, undefined);
  expect([open(), rooms.get('docs'), rooms.activeCount, rooms.broadcasterCount]).toEqual([['@1'], undefined, 0, 1]);
});

test("a room's tally counts each viewer once and each stream without a viewer", () => {
  const { rooms } = registry();
  const streams = [writer(), writer(), writer(), writer()];
  const viewers = ['v', 'v', 'w', undefined];
  const joined = streams.map((w, i) => rooms.join('docs', 1, w, viewers[i]));
  const room = joined[0].room;
  expect(room.tally.count).toBe(3);
  rooms.leave(room, joined[0].channel, streams[0], 'v');
  expect(room.tally.count).toBe(3);
  rooms.leave(room, joined[1].channel, streams[1], 'v');
  expect(room.tally.count).toBe(2);
});

test('leaving twice with one stream changes nothing the second time', () => {
  const { rooms } = registry();
  const [a, b] = [writer(), writer()];
  const { room, channel } = rooms.join('docs', 1, a, 'v');
  rooms.join('docs', 1, b, undefined);
  rooms.leave(room, channel, a, 'v');
  rooms.leave(room, channel, a, 'v');
  expect([room.tally.count, rooms.get('docs')]).toEqual([1, room]);
});

test('past maxRooms a new room is refused; rooms with streams and the default room are still admitted, and a forgotten room frees its place', () => {
  const { rooms } = registry({ maxRooms: 2 });
  const joined = ['r1', 'r2'].map((name) => {
    const w = writer();
    return { w, ...rooms.join(name, 1, w, undefined) };
  });
  expect([rooms.admits('r3'), rooms.admits('r1'), rooms.admits(DEFAULT_ROOM)]).toEqual([false, true, true]);
  rooms.join(DEFAULT_ROOM, 1, writer(), undefined);
  expect(rooms.activeCount).toBe(3);
  rooms.leave(joined[0].room, joined[0].channel, joined[0].w, undefined);
  expect(rooms.admits('r3')).toBe(true);
});

test('a room whose broadcaster cannot draw leaves nothing behind', () => {
  const { rooms, open } = registry({ failFor: 'broken' });
  expect(() => rooms.join('broken', 1, writer(), undefined)).toThrow('cannot draw');
  expect([rooms.get('broken'), rooms.activeCount, open()]).toEqual([undefined, 0, ['@1']]);
  // It took no place among maxRooms.
  for (const name of ['r1', 'r2', 'r3']) expect(rooms.admits(name) && rooms.join(name, 1, writer(), undefined)).toBeTruthy();
});

test('close() closes every broadcaster, the pinned one included', () => {
  const { rooms, made } = registry();
  rooms.join('docs', 2, writer(), undefined);
  rooms.close();
  expect(made.every((broadcaster) => broadcaster.closed)).toBe(true);
  expect(made).toHaveLength(2);
});
