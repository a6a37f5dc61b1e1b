import type { Emitter } from 'mitt';
import { toError } from '../util/events.js';
import { describe } from '../config/validation.js';
import type { CountStore, CountStoreEvents } from '../types/index.js';

/** The calls the counter makes on its store. */
type StoreCall = 'init' | 'increment' | 'decrement' | 'count' | 'rooms' | 'reachable' | 'close';

/**
 * The counter's store as the counter calls it. A custom CountStore may throw, return a promise
 * that rejects (an `async` method) or return a count that is not one: each is reported (the
 * counter's logger and `error` event), never thrown into a request or an event listener, where it
 * would end the process. A failing call is reported once, and again only after it has worked, so
 * a broken store cannot fill the log at the pace of requests.
 */
export class GuardedStore {
  readonly events: Emitter<CountStoreEvents>;
  private readonly failing = new Set<StoreCall>();

  constructor(
    /** The store of the options. */
    readonly given: CountStore,
    private readonly report: (error: Error) => void,
  ) {
    this.events = given.events;
  }

  /** Resolves once the store has started, or failed to. */
  async init(): Promise<void> {
    await this.settle('init', () => this.given.init?.());
  }

  // increment, decrement and count run several times per join: no closure is made for them.

  /** Whether the store took the stream: only then does the stream count, and its end call `decrement`. */
  increment(room: string, viewer?: string): boolean {
    return this.change('increment', room, viewer);
  }

  decrement(room: string, viewer?: string): void {
    this.change('decrement', room, viewer);
  }

  /** The store's count; 0 while its `count()` fails. */
  count(room?: string): number {
    let value: unknown;
    try {
      value = this.given.count(room);
    } catch (error) {
      this.failed('count', error);
      return 0;
    }
    if (isCount(value)) {
      this.failing.delete('count');
      return value;
    }
    // Not a count (a promise, NaN...): reported as every other answer that is not one.
    return this.read('count', () => value, () => undefined) ?? 0;
  }

  /** The rooms the store knows of; undefined when it lists none (no `rooms()`, or it fails). */
  rooms(): string[] | undefined {
    const { given } = this;
    if (!given.rooms) return undefined;
    return this.read('rooms', () => given.rooms!(), (listed) => {
      // Listed here, so that an iterator that throws fails here.
      const names = [...(listed as Iterable<unknown>)];
      return names.every((name) => typeof name === 'string') ? (names as string[]) : undefined;
    });
  }

  /** False while the store says it cannot reach its server, or cannot say. */
  get reachable(): boolean {
    return this.read('reachable', () => this.given.reachable, (value) => (value === undefined ? true : typeof value === 'boolean' ? value : undefined)) ?? false;
  }

  /** Resolves once the store has closed, or failed to. */
  async close(): Promise<void> {
    await this.settle('close', () => this.given.close?.());
  }

  /** `increment` or `decrement` of the store; false when it threw (reported), else its promise is followed. */
  private change(name: 'increment' | 'decrement', room: string, viewer: string | undefined): boolean {
    let result: unknown;
    try {
      result = this.given[name](room, viewer);
    } catch (error) {
      this.failed(name, error);
      return false;
    }
    this.follow(name, result);
    return true;
  }

  /** A call whose result is not used went through: a promise it returned is followed. */
  private follow(name: StoreCall, result: unknown): void {
    if (isThenable(result)) {
      result.then(
        () => this.failing.delete(name),
        (error: unknown) => this.failed(name, error),
      );
    } else {
      this.failing.delete(name);
    }
  }

  /** Read what the store must answer at once, as `accept` takes it; undefined when it threw, or `accept` refused it. */
  private read<T>(name: StoreCall, work: () => unknown, accept: (value: unknown) => T | undefined): T | undefined {
    let value: T | undefined;
    try {
      const answer = work();
      if (isThenable(answer)) {
        // What the promise rejects with must not go unhandled either.
        answer.then(undefined, () => undefined);
        throw new Error('returned a promise; it must answer at once');
      }
      value = accept(answer);
      if (value === undefined) throw new Error(`returned ${describe(answer)}`);
    } catch (error) {
      this.failed(name, error);
      return undefined;
    }
    this.failing.delete(name);
    return value;
  }

  private async settle(name: StoreCall, work: () => unknown): Promise<void> {
    try {
      await work();
      this.failing.delete(name);
    } catch (error) {
      this.failed(name, error);
    }
  }

  private failed(name: StoreCall, thrown: unknown): void {
    if (this.failing.has(name)) return;
    this.failing.add(name);
    const error = toError(thrown);
    this.report(new Error(`the store's ${name}${name === 'reachable' ? '' : '()'} failed: ${error.message}`, { cause: error }));
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
