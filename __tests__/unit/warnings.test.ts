import { OptionsError, RedisCountStore, userCounterMiddleware } from '../../lib/index.js';
import type { Options, RedisCountStoreOptions, UserCounterRouter, WarningCode } from '../../lib/index.js';
import { Warnings } from '../../lib/config/warnings.js';
import { quietLogger } from '../helpers/counter-app.js';
import { expectedFrame } from '../../support/png.js';
import { eventually } from '../helpers/time.js';

// A real PNG: a render that fails would make the counter re-render in a loop (see http/render-errors.test.ts).
const A_PNG = expectedFrame(0);
/** Options that warn once at creation: `render` ignores `color`. */
const IGNORED_COLOR = { render: () => A_PNG, color: 'red' } as const;

const routers: UserCounterRouter[] = [];
const stores: RedisCountStore[] = [];

afterEach(async () => {
  await Promise.all([...routers.splice(0).map((router) => router.counter.close()), ...stores.splice(0).map((store) => store.close())]);
});

function create(options: unknown): UserCounterRouter {
  const router = userCounterMiddleware(options as Options);
  routers.push(router);
  return router;
}

/** A store whose Redis never answers a command: it warns that Redis is unreachable. */
function unreachableStore(options: Partial<RedisCountStoreOptions>): RedisCountStore {
  const store = new RedisCountStore({ sendCommand: async () => Promise.reject(new Error('connect ECONNREFUSED')), heartbeatMs: 50, ttlMs: 150, ...options });
  store.events.on('error', () => undefined);
  stores.push(store);
  return store;
}

const lines = (logger: { warn: jest.Mock }) => logger.warn.mock.calls.map(([message]) => String(message));

describe('Warnings', () => {
  test('writes `express-user-counter [CODE]: message`, each code once', () => {
    const logger = quietLogger();
    const warnings = new Warnings(logger);
    warnings.warn('WRN_USER_COUNTER_TRUST_PROXY', 'first');
    warnings.warn('WRN_USER_COUNTER_TRUST_PROXY', 'second');
    warnings.warn('WRN_USER_COUNTER_IDENTIFY_NOT_STRING', 'other');
    expect(lines(logger)).toEqual([
      'express-user-counter [WRN_USER_COUNTER_TRUST_PROXY]: first',
      'express-user-counter [WRN_USER_COUNTER_IDENTIFY_NOT_STRING]: other',
    ]);
  });

  test('a warning that marks an episode (`repeat`) is written every time', () => {
    const logger = quietLogger();
    const warnings = new Warnings(logger);
    for (let outage = 0; outage < 3; outage++) warnings.warn('WRN_USER_COUNTER_REDIS_UNREACHABLE', 'down', { repeat: true });
    expect(logger.warn).toHaveBeenCalledTimes(3);
  });

  test('a code switched off is not written; `true` switches every code off', () => {
    const byCode = quietLogger();
    new Warnings(byCode, ['WRN_USER_COUNTER_TRUST_PROXY']).warn('WRN_USER_COUNTER_TRUST_PROXY', 'off');
    expect(byCode.warn).not.toHaveBeenCalled();
    const all = quietLogger();
    const warnings = new Warnings(all, true);
    warnings.warn('WRN_USER_COUNTER_TRUST_PROXY', 'off');
    warnings.warn('WRN_USER_COUNTER_REDIS_BACK', 'off', { repeat: true });
    expect(all.warn).not.toHaveBeenCalled();
  });
});

describe('disableWarnings on the middleware', () => {
  test('each counter writes its warnings once, with the code', () => {
    const [first, second] = [quietLogger(), quietLogger()];
    create({ ...IGNORED_COLOR, logger: first });
    create({ ...IGNORED_COLOR, logger: second });
    for (const logger of [first, second]) {
      expect(lines(logger)).toEqual([expect.stringMatching(/^express-user-counter \[WRN_USER_COUNTER_IGNORED_OPTIONS\]: `render` replaces/)]);
    }
  });

  test.each<[string, Options['disableWarnings']]>([
    ['by its code', ['WRN_USER_COUNTER_IGNORED_OPTIONS']],
    ['by `true`', true],
  ])('a warning switched off %s is not written', (_, disableWarnings) => {
    const logger = quietLogger();
    create({ ...IGNORED_COLOR, logger, disableWarnings });
    expect(logger.warn).not.toHaveBeenCalled();
  });

  test('switching off another code leaves this one on; `false` and `[]` switch nothing off', () => {
    for (const disableWarnings of [['WRN_USER_COUNTER_TRUST_PROXY'], false, []]) {
      const logger = quietLogger();
      create({ ...IGNORED_COLOR, logger, disableWarnings });
      expect(logger.warn).toHaveBeenCalledTimes(1);
    }
  });

  test('a misspelt code throws an OptionsError suggesting the code meant', () => {
    const build = () => create({ disableWarnings: ['WRN_USER_COUNTER_TRUST_PROXI'] });
    expect(build).toThrow(OptionsError);
    expect(build).toThrow(/`disableWarnings` has 'WRN_USER_COUNTER_TRUST_PROXI', not a warning code\. Did you mean 'WRN_USER_COUNTER_TRUST_PROXY'\?/);
    expect(build).toThrow(expect.objectContaining({ code: 'ERR_USER_COUNTER_INVALID_OPTION_VALUE' }));
  });

  test.each([['a string', 'WRN_USER_COUNTER_TRUST_PROXY'], ['null', null], ['a number in the list', [1]]])(
    '%s is refused as the wrong type, naming the known codes or the forms taken',
    (_, disableWarnings) => {
      const build = () => create({ disableWarnings });
      expect(build).toThrow(/`disableWarnings` (must be true, false or an array of warning codes|has 1, not a warning code\. Known codes: WRN_USER_COUNTER_)/);
      expect(build).toThrow(expect.objectContaining({ code: 'ERR_USER_COUNTER_INVALID_OPTION_TYPE' }));
    },
  );
});

describe('disableWarnings on RedisCountStore', () => {
  const unreachable = /^express-user-counter \[WRN_USER_COUNTER_REDIS_UNREACHABLE\]: RedisCountStore cannot reach Redis \(connect ECONNREFUSED\)/;

  test('Redis unreachable is written once per outage, however many calls fail, and the store says unreachable', async () => {
    const logger = quietLogger();
    const errors: Error[] = [];
    const store = unreachableStore({ logger });
    store.events.on('error', (error) => errors.push(error));
    expect(store.reachable).toBe(true);
    await store.init();
    await eventually(() => errors.length === 1, 'the error event');
    expect(lines(logger)).toEqual([expect.stringMatching(unreachable)]);
    expect(store.reachable).toBe(false);
  });

  test.each<[string, boolean | WarningCode[]]>([
    ['by its code', ['WRN_USER_COUNTER_REDIS_UNREACHABLE']],
    ['by `true`', true],
  ])('switched off %s, it is not written (the error event still is)', async (_, disableWarnings) => {
    const logger = quietLogger();
    const errors: Error[] = [];
    const store = unreachableStore({ logger, disableWarnings });
    store.events.on('error', (error) => errors.push(error));
    await store.init();
    await eventually(() => errors.length === 1, 'the error event');
    expect(logger.warn).not.toHaveBeenCalled();
  });

  test('a misspelt code throws an OptionsError suggesting the code meant', () => {
    expect(() => unreachableStore({ disableWarnings: ['WRN_USER_COUNTER_DUPLICATE_INSTANCES' as WarningCode] })).toThrow(
      /Did you mean 'WRN_USER_COUNTER_DUPLICATE_INSTANCE'\?/,
    );
  });
});
