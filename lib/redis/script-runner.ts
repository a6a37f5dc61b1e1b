import type { RedisSendCommand } from '../types/index.js';
import type { RedisScript } from './scripts.js';
import { toError } from '../util/events.js';

/**
 * Runs the store's script on the user's client, one call at a time. A call that is not
 * answered (a hung connection, a client holding it in its offline queue) keeps the runner
 * `busy` until it is answered or fails, however long that takes: the store sends nothing
 * more meanwhile, so nothing piles up behind it.
 */
export class RedisScriptRunner {
  private unanswered: Promise<unknown> | undefined;

  constructor(
    private readonly sendCommand: RedisSendCommand,
    private readonly script: RedisScript,
  ) {}

  /** A call was sent and has not been answered yet. */
  get busy(): boolean {
    return this.unanswered !== undefined;
  }

  /** Send the script with these keys and arguments; resolves with Redis's reply. */
  run(keys: string[], args: string[]): Promise<unknown> {
    const call = this.evalScript(keys, args);
    const tracked: Promise<unknown> = call.finally(() => {
      if (this.unanswered === tracked) this.unanswered = undefined;
    });
    tracked.catch(() => undefined);
    this.unanswered = tracked;
    return call;
  }

  private async evalScript(keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.sendCommand('EVALSHA', this.script.sha1, String(keys.length), ...keys, ...args);
    } catch (error) {
      // Redis forgets scripts on restart and SCRIPT FLUSH; EVAL loads it again.
      if (!/NOSCRIPT/i.test(toError(error).message)) throw error;
      return this.sendCommand('EVAL', this.script.source, String(keys.length), ...keys, ...args);
    }
  }
}

/** Reject after `ms` if `promise` has not settled by then (it may still settle later). */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
