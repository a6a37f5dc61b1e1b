import { isIPv6 } from 'node:net';

/** Why a stream was refused, with the HTTP answer that says so. */
export interface Refusal {
  readonly status: 429 | 503;
  readonly reason: string;
  /** The option whose cap was reached. */
  readonly cap: 'maxConnections' | 'maxConnectionsPerIp' | 'maxRoomsPerIp';
}

/** What a stream's place is held by: its connection (`req.socket`). */
interface HeldConnection {
  once(event: 'close', listener: (this: HeldConnection) => void): unknown;
  removeListener(event: 'close', listener: (this: HeldConnection) => void): unknown;
}

export interface LimitSettings {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  /** Rooms besides `defaultRoom` one address may hold streams in at once. */
  readonly maxRoomsPerIp: number;
  readonly ipv6PrefixLength: number;
  readonly defaultRoom: string;
}

/** What one client (an address group) holds: its streams, and its streams per room. */
interface Holding {
  streams: number;
  readonly rooms: Map<string, number>;
}

const TOO_MANY_STREAMS = 'Too many open counter images from your address. Close some pages and try again.';
const TOO_MANY_ROOMS = 'Too many pages counted for your address right now. Close some pages and try again.';

/**
 * Caps on open streams: a public counter is an open socket anyone can hold, so one client
 * (per `req.ip`, an IPv6 client per prefix) may hold only so many streams, in only so many
 * rooms, and the instance only so many in all. Memory is one entry per address with a stream.
 */
export class ConnectionLimits {
  private readonly perAddress = new Map<string, Holding>();
  private readonly byConnection = new WeakMap<HeldConnection, { group: string; room: string }>();
  private total = 0;
  /** One listener for every connection, removed with its place: a connection admitted again and again holds one. */
  private readonly onClose: (this: HeldConnection) => void;

  constructor(private readonly settings: LimitSettings) {
    const limits = this;
    this.onClose = function (this: HeldConnection) {
      limits.releaseConnection(this);
    };
  }

  /** Take a place for `address` in `room`, or say why not. Every admitted stream must be `release`d once. */
  admit(address: string, room = this.settings.defaultRoom): Refusal | undefined {
    return this.admitGroup(addressGroup(address, this.settings.ipv6PrefixLength), room);
  }

  private admitGroup(address: string, room: string): Refusal | undefined {
    const { maxConnections, maxConnectionsPerIp, maxRoomsPerIp, defaultRoom } = this.settings;
    if (this.total >= maxConnections) {
      return { status: 503, reason: 'Too many viewers right now: the counter is at its limit. Try again shortly.', cap: 'maxConnections' };
    }
    const held = this.perAddress.get(address) ?? { streams: 0, rooms: new Map<string, number>() };
    if (held.streams >= maxConnectionsPerIp) return { status: 429, reason: TOO_MANY_STREAMS, cap: 'maxConnectionsPerIp' };
    const inRoom = held.rooms.get(room) ?? 0;
    if (room !== defaultRoom && inRoom === 0 && held.rooms.size - (held.rooms.has(defaultRoom) ? 1 : 0) >= maxRoomsPerIp) {
      return { status: 429, reason: TOO_MANY_ROOMS, cap: 'maxRoomsPerIp' };
    }
    held.streams += 1;
    held.rooms.set(room, inRoom + 1);
    this.perAddress.set(address, held);
    this.total += 1;
    return undefined;
  }

  /**
   * Take a place for a stream on `connection`, held until the connection closes: a stream that
   * has ended still holds its socket until then (every end closes it within a bound).
   */
  admitConnection(address: string, connection: HeldConnection, room = this.settings.defaultRoom): Refusal | undefined {
    if (this.byConnection.has(connection)) return undefined;
    // The group is worked out once, and kept for the release.
    const group = addressGroup(address, this.settings.ipv6PrefixLength);
    const refusal = this.admitGroup(group, room);
    if (refusal) return refusal;
    this.byConnection.set(connection, { group, room });
    connection.once('close', this.onClose);
    return undefined;
  }

  /** Give back `connection`'s place now (a stream refused after it was admitted); once. */
  releaseConnection(connection: HeldConnection): void {
    const place = this.byConnection.get(connection);
    if (place === undefined) return;
    this.byConnection.delete(connection);
    connection.removeListener('close', this.onClose);
    this.releaseGroup(place.group, place.room);
  }

  release(address: string, room = this.settings.defaultRoom): void {
    this.releaseGroup(addressGroup(address, this.settings.ipv6PrefixLength), room);
  }

  private releaseGroup(address: string, room: string): void {
    const held = this.perAddress.get(address);
    const inRoom = held?.rooms.get(room) ?? 0;
    if (!held || inRoom === 0) return;
    if (inRoom === 1) held.rooms.delete(room);
    else held.rooms.set(room, inRoom - 1);
    held.streams -= 1;
    if (held.streams === 0) this.perAddress.delete(address);
    this.total -= 1;
  }
}

/**
 * The unit the per-address caps count: an IPv4 address (also one mapped into IPv6, however
 * written), or the first `ipv6PrefixLength` bits of an IPv6 one (a client is given a whole /64
 * or more, so single addresses would cost it nothing to vary). A port some proxies append is dropped.
 */
export function addressGroup(address: string, ipv6PrefixLength = 64): string {
  address = withoutPort(address);
  if (!isIPv6(address)) return address;
  const groups = ipv6Groups(address);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
  }
  const kept = Math.ceil(ipv6PrefixLength / 16);
  const masked = groups.slice(0, kept).map((group, i) => {
    const bits = Math.min(16, ipv6PrefixLength - i * 16);
    return (group & ((0xffff << (16 - bits)) & 0xffff)).toString(16);
  });
  return `${masked.join(':')}${kept < 8 ? '::' : ''}/${ipv6PrefixLength}`;
}

/** The eight 16-bit groups of a valid IPv6 address: `::` filled in, a dotted IPv4 end as two groups, a zone dropped. */
function ipv6Groups(address: string): number[] {
  const [head, tail] = address.split('%')[0].split('::');
  const parse = (part: string | undefined): number[] =>
    part
      ? part.split(':').flatMap((piece) => {
          if (!piece.includes('.')) return [parseInt(piece, 16)];
          const [a, b, c, d] = piece.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        })
      : [];
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * Some platforms put the client's port in `X-Forwarded-For` (`203.0.113.7:5678`,
 * `[2001:db8::1]:5678`): without this each source port would be an address of its own.
 */
function withoutPort(address: string): string {
  const v4 = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(address);
  if (v4) return v4[1];
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  return bracketed ? bracketed[1] : address;
}
