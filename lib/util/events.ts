import mittModule from 'mitt';
import type { Emitter, EventType, Handler, WildcardHandler } from 'mitt';

// mitt ships CommonJS with an ESM-style `export default` in its types (mitt#191):
// depending on how it is loaded, the function is the module or its `default`.
const mitt = ((mittModule as unknown as { default?: unknown }).default ?? mittModule) as typeof mittModule;

/** Where each isolated emitter sends what its listeners throw. */
const listenerErrors = new WeakMap<object, (error: unknown) => void>();

/**
 * A mitt emitter whose `emit` calls every listener even when one throws: a failing
 * listener (a user's handler, one broken stream) must not stop the others or throw
 * into the code that emitted. Each error goes to `onListenerError`.
 */
export function createIsolatedEmitter<Events extends Record<EventType, unknown>>(
  onListenerError: (error: unknown) => void,
): Emitter<Events> {
  const emitter = mitt<Events>();
  listenerErrors.set(emitter, onListenerError);
  emitter.emit = (<Key extends keyof Events>(type: Key, event?: Events[Key]) => {
    // Copies, as mitt takes: a handler may unsubscribe while being called.
    const handlers = emitter.all.get(type) as Handler<Events[Key]>[] | undefined;
    if (handlers) callEach(handlers.slice(), (handler) => handler(event as Events[Key]), onListenerError);
    emitWildcards(emitter, type, event as Events[Key]);
  }) as Emitter<Events>['emit'];
  return emitter;
}

function callEach<H>(handlers: readonly H[], call: (handler: H) => void, onListenerError: (error: unknown) => void): void {
  for (const handler of handlers) {
    try {
      call(handler);
    } catch (error) {
      onListenerError(error);
    }
  }
}

function emitWildcards<Events extends Record<EventType, unknown>, Key extends keyof Events>(emitter: Emitter<Events>, type: Key, event: Events[Key]): void {
  const wildcards = emitter.all.get('*') as WildcardHandler<Events>[] | undefined;
  if (wildcards) callEach(wildcards.slice(), (handler) => handler(type, event), listenerErrors.get(emitter)!);
}

/**
 * `emitter.emit(type, event)` for an emitter of `createIsolatedEmitter`, `perSlice`
 * handlers at a time, letting the event loop run between slices (accept connections,
 * read sockets): ten thousand handlers that each write to a socket would hold it for a
 * few hundred milliseconds. The handler list is taken first.
 */
export async function emitInSlices<Events extends Record<EventType, unknown>, Key extends keyof Events>(
  emitter: Emitter<Events>,
  type: Key,
  event: Events[Key],
  perSlice: number,
): Promise<void> {
  const onListenerError = listenerErrors.get(emitter);
  if (!onListenerError) throw new TypeError('emitInSlices takes an emitter made by createIsolatedEmitter.');
  const handlers = ((emitter.all.get(type) ?? []) as Handler<Events[Key]>[]).slice();
  for (let start = 0; start < handlers.length; start += perSlice) {
    if (start > 0) await new Promise((resolve) => setImmediate(resolve));
    callEach(handlers.slice(start, start + perSlice), (handler) => handler(event), onListenerError);
  }
  emitWildcards(emitter, type, event);
}

/** Whether an event of `type` would reach a listener (its own, or a wildcard): its payload need not be made otherwise. */
export function isListened<Events extends Record<EventType, unknown>>(emitter: Emitter<Events>, type: keyof Events): boolean {
  return (emitter.all.get(type)?.length ?? 0) > 0 || (emitter.all.get('*')?.length ?? 0) > 0;
}

/** An Error for anything thrown. */
export function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

/**
 * The `events` of a count store: listeners isolated, and a throwing listener reported
 * as the store's `error` (once: a throwing `error` listener is not reported again, or
 * this would loop).
 */
export function createStoreEvents<Events extends { error: Error } & Record<EventType, unknown>>(): Emitter<Events> {
  let reporting = false;
  const events: Emitter<Events> = createIsolatedEmitter<Events>((error) => {
    if (reporting) return;
    reporting = true;
    events.emit('error', toError(error) as Events['error']);
    reporting = false;
  });
  return events;
}
