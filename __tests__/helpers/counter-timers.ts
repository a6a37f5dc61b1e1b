import { createHook } from 'node:async_hooks';

/** Live Timeout objects (set and not yet cleared or fired) whose setTimeout/setInterval call is in lib/. */
export function trackCounterTimers() {
  const live = new Map<number, string>();
  const hook = createHook({
    init(asyncId, type) {
      if (type !== 'Timeout') return;
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 50;
      const stack = new Error().stack ?? '';
      Error.stackTraceLimit = limit;
      // The caller of setTimeout/setInterval: the first frame past this hook and the timer internals.
      const frames = stack.split('\n').slice(2);
      const caller = frames.find((line) => !/\((node:internal\/async_hooks|node:internal\/timers|node:timers)[:)]/.test(line));
      if (caller && /[/\\]lib[/\\](?:[\w-]+[/\\])?[\w-]+\.ts:/.test(caller)) live.set(asyncId, caller.trim());
    },
    destroy(asyncId) {
      live.delete(asyncId);
    },
  });
  hook.enable();
  return { live, stop: () => hook.disable() };
}
