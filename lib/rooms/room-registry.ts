import type { FrameBroadcaster } from '../frames/frame-broadcaster.js';
import type { MultipartWriter } from '../stream/multipart-writer.js';
import { DEFAULT_ROOM } from '../counting/room-names.js';
import { ViewerTally } from '../counting/viewer-tally.js';

/** The streams of one room at one pixel ratio, and the broadcaster that feeds them. */
interface Channel {
  readonly pixelRatio: number;
  readonly broadcaster: FrameBroadcaster;
  readonly writers: Set<MultipartWriter>;
}

/** One room (page) with streams on this instance. */
interface Room {
  readonly name: string;
  /** One channel per pixel ratio in use. */
  readonly channels: Map<number, Channel>;
  /** This instance's streams here: without a viewer, and each viewer (digest) once. */
  readonly tally: ViewerTally;
  /** The room's count as last reported in a `change` event. */
  lastCount: number;
}

interface RoomRegistrySettings {
  /** The most rooms besides the default one with streams at once. */
  readonly maxRooms: number;
  /** The default room's channel at this ratio lives as long as the registry (it has frames ready at start-up). */
  readonly pinnedPixelRatio: number;
  /** A new broadcaster for a room at a pixel ratio; may throw (a drawing that fails). */
  createBroadcaster(room: string, pixelRatio: number): FrameBroadcaster;
  /** The room's count now. */
  readCount(room: string): number;
}

/**
 * The rooms with streams on this instance. A room holds state only while it has a stream
 * (the default room's pinned channel excepted): when its last stream leaves, its
 * broadcasters are closed and it is forgotten, so memory follows open streams, never the
 * names clients have tried. At most `maxRooms` rooms besides the default one at once.
 */
export class RoomRegistry {
  private readonly rooms = new Map<string, Room>();
  private readonly pinned: Room;
  /** Rooms other than the default one (which is always admitted). */
  private others = 0;

  constructor(private readonly settings: RoomRegistrySettings) {
    this.pinned = this.newRoom(DEFAULT_ROOM);
    this.channel(this.pinned, settings.pinnedPixelRatio);
    this.rooms.set(DEFAULT_ROOM, this.pinned);
  }

  /** The room `name` while it has streams (the default room always). */
  get(name: string): Room | undefined {
    return this.rooms.get(name);
  }

  /** Whether a stream may open in `name`: false for a new room past `maxRooms`. */
  admits(name: string): boolean {
    return this.rooms.has(name) || this.others < this.settings.maxRooms;
  }

  /**
   * Add a stream (of `viewer`, when given) to a room at a pixel ratio, creating what it
   * needs; `admits` must have said yes. Throws when a new broadcaster cannot draw, leaving nothing behind.
   */
  join(name: string, pixelRatio: number, writer: MultipartWriter, viewer: string | undefined): { room: Room; channel: Channel } {
    let room = this.rooms.get(name);
    const created = !room;
    if (!room) room = this.newRoom(name);
    const channel = room.channels.get(pixelRatio) ?? this.channel(room, pixelRatio);
    if (created) {
      this.rooms.set(name, room);
      this.others += 1;
    }
    channel.writers.add(writer);
    room.tally.add(viewer);
    return { room, channel };
  }

  /** Remove a stream added by `join`; a channel, then a room, with no stream left is closed and forgotten. */
  leave(room: Room, channel: Channel, writer: MultipartWriter, viewer: string | undefined): void {
    if (!channel.writers.delete(writer)) return;
    room.tally.remove(viewer);
    const pinned = room === this.pinned && channel.pixelRatio === this.settings.pinnedPixelRatio;
    if (channel.writers.size === 0 && !pinned) {
      channel.broadcaster.close();
      room.channels.delete(channel.pixelRatio);
    }
    if (room.channels.size === 0 && room !== this.pinned) {
      this.rooms.delete(room.name);
      this.others -= 1;
    }
  }

  /** Every room with at least one stream. */
  *active(): IterableIterator<Room> {
    for (const room of this.rooms.values()) if (!room.tally.empty) yield room;
  }

  /** How many rooms have streams, the default one included when it has. */
  get activeCount(): number {
    return this.others + (this.pinned.tally.empty ? 0 : 1);
  }

  /** How many broadcasters are open (one per room and pixel ratio in use, and the pinned one). */
  get broadcasterCount(): number {
    let count = 0;
    for (const room of this.rooms.values()) count += room.channels.size;
    return count;
  }

  /** Close every broadcaster. */
  close(): void {
    for (const room of this.rooms.values()) for (const channel of room.channels.values()) channel.broadcaster.close();
  }

  private newRoom(name: string): Room {
    return { name, channels: new Map(), tally: new ViewerTally(), lastCount: this.settings.readCount(name) };
  }

  private channel(room: Room, pixelRatio: number): Channel {
    const writers = new Set<MultipartWriter>();
    const channel: Channel = { pixelRatio, broadcaster: this.settings.createBroadcaster(room.name, pixelRatio), writers };
    room.channels.set(pixelRatio, channel);
    return channel;
  }
}
