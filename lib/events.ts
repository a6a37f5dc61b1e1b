import mittModule from 'mitt';
import type { Emitter, EventType, Handler, WildcardHandler } from 'mitt';

// mitt ships CommonJS with an ESM-style `export default` in its types (mitt#191):
// depending on how it is loaded, the function is the module or its `default`.
const mitt = ((mittModule as unknown as { default?: unknown }).default ?? mittModule) as typeof mittModule;

/**
 * A mitt emitter whose `emit` calls every listener even when one throws: a failing
 * listener (a user's handler, one broken stream) must not stop the others or throw
 * into the code that emitted. Each error goes to `onListenerError`.
 */
export function createIsolatedEmitter<Events extends Record<EventType, unknown>>(
  onListenerError: (error: unknown) => void,
): Emitter<Events> {
  const emitter = mitt<Events>();
  emitter.emit = (<Key extends keyof Events>(type: Key, event?: Events[Key]) => {
    const handlers = emitter.all.get(type) as Handler<Events[Key]>[] | undefined;
    if (handlers) {
      // A copy, as mitt does: a handler may unsubscribe while being called.
      for (const handler of handlers.slice()) {
        try {
          handler(event as Events[Key]);
        } catch (error) {
          onListenerError(error);
        }
      }
    }
    const wildcards = emitter.all.get('*') as WildcardHandler<Events>[] | undefined;
    if (wildcards) {
      for (const handler of wildcards.slice()) {
        try {
          handler(type, event as Events[Key]);
        } catch (error) {
          onListenerError(error);
        }
      }
    }
  }) as Emitter<Events>['emit'];
  return emitter;
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
