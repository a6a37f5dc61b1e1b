// The arguments of the sync script and the shapes of its reply and of the "changed" hint
// (lib/redis/scripts.ts describes them).

/** `delta`: the changed rooms; `beat`: every count and the changed viewers; `full`: everything; `retract`: leave. */
export type SyncMode = 'delta' | 'beat' | 'full' | 'retract';

/** The names of the store's keys, all under one hash tag. */
export interface StoreKeys {
  /** `{prefix}:`, the start of every key. */
  readonly prefix: string;
  readonly fixed: readonly string[];
  readonly channel: string;
}

export function storeKeys(prefix: string, instanceId: string): StoreKeys {
  const tag = `{${prefix}}:`;
  const fixed = ['instances', `instance:${instanceId}`, `viewers:${instanceId}`, 'totals', 'meta', 'owners', 'checked'];
  return { prefix: tag, fixed: fixed.map((name) => tag + name), channel: `${tag}changed` };
}

/** One call's content. Members are `<bytes>:<viewer><room>`. */
interface SyncRequest {
  readonly mode: SyncMode;
  /** Room and this instance's streams without a viewer there (absolute). */
  readonly anon: readonly (readonly [string, number])[];
  readonly adds: readonly string[];
  readonly removes: readonly string[];
  /** The viewer set's size once this call is applied. */
  readonly expectedSize: number;
  readonly reads: readonly string[];
  readonly checks: readonly string[];
  readonly holds: readonly string[];
  /** The HSCAN cursor of `totals`, `''` for none. */
  readonly cursor: string;
  /** Every room the call names, declared in KEYS. */
  readonly rooms: Iterable<string>;
}

export interface SyncIdentity {
  readonly instanceId: string;
  readonly nonce: string;
  readonly ttlMs: number;
  readonly checkMs: number;
}

export function syncArguments(keys: StoreKeys, who: SyncIdentity, request: SyncRequest): { keys: string[]; args: string[] } {
  const list = (items: readonly string[]) => [String(items.length), ...items];
  const args = [
    who.instanceId, who.nonce, String(who.ttlMs), keys.prefix, request.mode, String(request.expectedSize), request.cursor, String(who.checkMs),
    String(request.anon.length), ...request.anon.flatMap(([room, count]) => [room, String(count)]),
    ...list(request.adds), ...list(request.removes), ...list(request.reads), ...list(request.checks), ...list(request.holds),
  ];
  const roomKeys = [...new Set(request.rooms)].map((room) => `${keys.prefix}room:${room}`);
  return { keys: [...keys.fixed, ...roomKeys], args };
}

/** Values as of one `seq`: totals of rooms, and how many instances hold some viewers. */
export interface SyncValues {
  readonly seq: number;
  readonly sum: number;
  readonly rooms: [string, number][];
  readonly refs: [string, number][];
}

export interface SyncReply extends SyncValues {
  /** 0: fine; 1: nothing applied, send everything; 2: applied, but send everything. */
  readonly resend: number;
  /** Another process wrote under this instance id. */
  readonly conflict: boolean;
  readonly cursor: string;
  readonly scan: [string, number][];
}

export interface Hint extends SyncValues {
  readonly from: string;
}

function pairs(values: unknown[]): [string, number][] {
  const out: [string, number][] = [];
  for (let i = 0; i + 1 < values.length; i += 2) out.push([String(values[i]), Number(values[i + 1])]);
  return out;
}

export function parseSyncReply(reply: unknown): SyncReply {
  // Its shape only: a reply holds room names, which come from clients and stay out of the log.
  const unexpected = () =>
    new Error(`unexpected reply from the RedisCountStore script (${Array.isArray(reply) ? `a list of ${reply.length}` : typeof reply})`);
  if (!Array.isArray(reply) || reply.length < 7) throw unexpected();
  const roomCount = Number(reply[5]);
  const refsAt = 6 + 2 * roomCount;
  const refCount = Number(reply[refsAt]);
  if (!(refsAt + 1 + 2 * refCount <= reply.length)) throw unexpected();
  return {
    seq: Number(reply[0]),
    sum: Number(reply[1]),
    resend: Number(reply[2]),
    conflict: Number(reply[3]) === 1,
    cursor: String(reply[4]),
    rooms: pairs(reply.slice(6, refsAt)),
    refs: pairs(reply.slice(refsAt + 1, refsAt + 1 + 2 * refCount)),
    scan: pairs(reply.slice(refsAt + 1 + 2 * refCount)),
  };
}

/**
 * The hint a script publishes, or undefined for a message that is not one. Anyone who can
 * PUBLISH on the channel may send one: a hint with any value that is not a whole number is
 * ignored whole (a total Redis holds may be briefly off, even negative, until it is repaired).
 */
export function parseHint(message: unknown): Hint | undefined {
  let hint: { i?: unknown; s?: unknown; t?: unknown; r?: unknown; m?: unknown };
  try {
    hint = JSON.parse(String(message)) as typeof hint;
  } catch {
    return undefined;
  }
  if (typeof hint !== 'object' || hint === null || typeof hint.i !== 'string' || !Number.isFinite(Number(hint.s)) || !Number.isSafeInteger(hint.t)) {
    return undefined;
  }
  const rooms = countsByName(hint.r);
  const refs = countsByName(hint.m);
  if (!rooms || !refs) return undefined;
  return { from: hint.i, seq: Number(hint.s), sum: hint.t as number, rooms, refs };
}

/** A hint's list of name/number pairs; undefined if anything in it is not one. Lua's cjson writes an empty list as `{}`. */
function countsByName(list: unknown): [string, number][] | undefined {
  if (typeof list === 'object' && list !== null && !Array.isArray(list) && Object.keys(list).length === 0) return [];
  if (!Array.isArray(list) || list.length % 2 !== 0) return undefined;
  const out: [string, number][] = [];
  for (let i = 0; i < list.length; i += 2) {
    const [name, count] = [list[i], list[i + 1]];
    if (typeof name !== 'string' || !Number.isSafeInteger(count)) return undefined;
    out.push([name, count as number]);
  }
  return out;
}

/** A viewer-set member: the viewer's length in bytes first, so any viewer and room can be split apart again. */
export function member(viewer: string, room: string): string {
  return `${Buffer.byteLength(viewer)}:${viewer}${room}`;
}
