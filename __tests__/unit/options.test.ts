import { MemoryCountStore, OptionsError, userCounterMiddleware } from '../../lib/index.js';
import type { ErrorCode, Options, UserCounterRouter } from '../../lib/index.js';
import { quietLogger } from '../helpers/counter-app.js';
import { expectedFrame } from '../../support/png.js';

// A real PNG: a render that fails would make the counter re-render in a loop (see http/render-errors.test.ts).
const A_PNG = expectedFrame(0);

const routers: UserCounterRouter[] = [];

afterEach(async () => {
  await Promise.all(routers.splice(0).map((router) => router.counter.close()));
});

/** Create a counter (closed after the test); options are passed as a user would, unchecked. */
function create(options: unknown): UserCounterRouter {
  const router = userCounterMiddleware(options as Options);
  routers.push(router);
  return router;
}

const UNKNOWN = 'ERR_USER_COUNTER_UNKNOWN_OPTION';
const TYPE = 'ERR_USER_COUNTER_INVALID_OPTION_TYPE';
const VALUE = 'ERR_USER_COUNTER_INVALID_OPTION_VALUE';

/** The OptionsError thrown for `options`, with `code`; fails the test when nothing is thrown. */
function optionsError(options: unknown, code: ErrorCode): OptionsError {
  try {
    create(options);
  } catch (error) {
    expect(error).toBeInstanceOf(OptionsError);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as OptionsError).code).toBe(code);
    return error as OptionsError;
  }
  throw new Error(`userCounterMiddleware(${JSON.stringify(options)}) did not throw`);
}

describe('misspelt options', () => {
  test('`keepAlive` throws an OptionsError suggesting `keepAliveMs`', () => {
    const error = optionsError({ keepAlive: 5000 }, UNKNOWN);
    expect(error.message).toContain('`keepAlive`');
    expect(error.message).toMatch(/Did you mean `keepAliveMs`\?/);
  });

  test('`pathh` suggests `path`', () => {
    expect(optionsError({ pathh: '/online.png' }, UNKNOWN).message).toMatch(/Did you mean `path`\?/);
  });

  test.each([
    ['heartbeat', 'heartbeatMs'],
    ['allowedOrigin', 'allowedOrigins'],
    ['colour', 'color'],
    ['Width', 'width'],
    ['endFrame', 'endedFrame'],
    ['shield', 'shields'],
  ])('`%s` suggests `%s`', (given, meant) => {
    expect(optionsError({ [given]: 1 }, UNKNOWN).message).toContain(`Did you mean \`${meant}\`?`);
  });

  test('a name far from every option lists the known options instead of guessing', () => {
    const error = optionsError({ somethingElse: true }, UNKNOWN);
    expect(error.message).toContain('`somethingElse`');
    expect(error.message).not.toContain('Did you mean');
    expect(error.message).toContain('keepAliveMs');
    expect(error.message).toContain('allowedOrigins');
  });
});

describe('wrong values name the option and say what to write instead', () => {
  test.each<[string, Options | Record<string, unknown>, string, RegExp, ErrorCode]>([
    ['path without a leading /', { path: 'online.png' }, '`path`', /'\/online\.png'/, VALUE],
    ['path with a query', { path: '/online.png?x=1' }, '`path`', /no query/, VALUE],
    ['path ending in /', { path: '/counter/' }, '`path`', /'\/online\.png'/, VALUE],
    ['path not a string', { path: 42 }, '`path`', /'\/online\.png'/, TYPE],
    ['negative keepAliveMs', { keepAliveMs: -1 }, '`keepAliveMs`', /whole number, 0 or more/, VALUE],
    ['fractional keepAliveMs', { keepAliveMs: 1.5 }, '`keepAliveMs`', /whole number/, VALUE],
    ['keepAliveMs as a string', { keepAliveMs: '3000' }, '`keepAliveMs`', /whole number/, TYPE],
    ['negative heartbeatMs', { heartbeatMs: -300 }, '`heartbeatMs`', /whole number, 0 or more/, VALUE],
    ['stallTimeoutMs 0', { stallTimeoutMs: 0 }, '`stallTimeoutMs`', /whole number, 1 or more/, VALUE],
    ['fractional width', { width: 200.5 }, '`width`', /whole number, from 1 to \d+/, VALUE],
    ['width 0', { width: 0 }, '`width`', /whole number, from 1 to \d+/, VALUE],
    ['a huge height', { height: 100_000 }, '`height`', /whole number, from 1 to \d+/, VALUE],
    ['text not a function', { text: 'Users online' }, '`text`', /function of the count/, TYPE],
    ['font empty', { font: '' }, '`font`', /non-empty CSS string such as '20px Anton'/, VALUE],
    ['color not a string', { color: 0x006400 }, '`color`', /non-empty CSS string/, TYPE],
    ['background blank', { background: '   ' }, '`background`', /non-empty CSS string/, VALUE],
    ['a colour the canvas rejects', { color: 'no-such-colour' }, '`color`', /must be a CSS colour such as 'rgb\(0, 100, 0\)'/, VALUE],
    ['allowDirect as a string', { allowDirect: 'yes' }, '`allowDirect`', /true or false/, TYPE],
    ['endedFrame as a string', { endedFrame: 'no' }, '`endedFrame`', /must be true or false; got 'no'/, TYPE],
    ['shields a string', { shields: 'yes' }, '`shields`', /true, false or \{ label, color, cacheSeconds \}, for example \{ label: 'readers' \}/, TYPE],
    ['shields with a misspelt field', { shields: { colour: 'red' } }, '`shields.colour`', /did you mean `shields\.color`\? `shields` takes label, color, cacheSeconds/, UNKNOWN],
    ['shields.label not a string', { shields: { label: 5 } }, '`shields.label`', /must be a string/, TYPE],
    ['shields.color empty', { shields: { color: ' ' } }, '`shields.color`', /such as 'green', 'blue' or '#4c1'/, VALUE],
    ['negative shields.cacheSeconds', { shields: { cacheSeconds: -1 } }, '`shields.cacheSeconds`', /whole number, 0 or more/, VALUE],
    ['shields.cacheSeconds as a string', { shields: { cacheSeconds: '300' } }, '`shields.cacheSeconds`', /whole number/, TYPE],
    ['allowedOrigins with a path', { allowedOrigins: ['https://example.com/page'] }, '`allowedOrigins`', /write 'https:\/\/example\.com'/, VALUE],
    ['allowedOrigins with a default port', { allowedOrigins: ['https://example.com:443'] }, '`allowedOrigins`', /write 'https:\/\/example\.com'/, VALUE],
    ['allowedOrigins without a scheme', { allowedOrigins: ['example.com'] }, '`allowedOrigins`', /'https:\/\/example\.com'/, VALUE],
    ['allowedOrigins empty', { allowedOrigins: [] }, '`allowedOrigins`', /non-empty array of origins, for example \['https:\/\/example\.com'\]/, VALUE],
    ['allowedOrigins a string', { allowedOrigins: 'https://example.com' }, '`allowedOrigins`', /array of origins/, TYPE],
    ['store missing methods', { store: { count: () => 0 } }, '`store`', /new MemoryCountStore\(\)/, TYPE],
    ['store without events', { store: { increment() {}, decrement() {}, count: () => 0 } }, '`store`', /CountStore/, TYPE],
    ['canvas {}', { canvas: {} }, '`canvas`', /require\('canvas'\)/, TYPE],
    ['render not a function', { render: 'png' }, '`render`', /function `\(count\) => pngBuffer`/, TYPE],
    ['logger without warn', { logger: { error() {} } }, '`logger`', /warn\(message\)/, TYPE],
    ['logger without error', { logger: { warn() {} } }, '`logger`', /error\(message\)/, TYPE],
  ])('%s', (_what, options, name, instead, code) => {
    const error = optionsError(options, code);
    expect(error.message).toContain(name);
    expect(error.message).toMatch(instead);
  });

  test('options that are not an object are refused with an example', () => {
    for (const options of [null, 'path', 42, ['/online.png']]) {
      expect(optionsError(options, TYPE).message).toMatch(/must be an object, for example userCounterMiddleware\(\{/);
    }
  });
});

describe('undefined means "not given"', () => {
  test('every option set to undefined is accepted and gives the defaults', () => {
    const router = create({
      path: undefined,
      store: undefined,
      keepAliveMs: undefined,
      heartbeatMs: undefined,
      stallTimeoutMs: undefined,
      width: undefined,
      height: undefined,
      text: undefined,
      font: undefined,
      color: undefined,
      background: undefined,
      render: undefined,
      canvas: undefined,
      allowDirect: undefined,
      allowedOrigins: undefined,
      endedFrame: undefined,
      shields: { label: undefined, color: undefined, cacheSeconds: undefined },
      logger: quietLogger(),
    });
    expect(router.counter.count).toBe(0);
  });

  test('render given with color undefined logs no warning', () => {
    const logger = quietLogger();
    create({ render: () => A_PNG, color: undefined, width: undefined, logger });
    expect(logger.warn).not.toHaveBeenCalled();
  });

  test('an undefined logger falls back to a working default rather than throwing', () => {
    expect(() => create({ logger: undefined })).not.toThrow();
  });

  test('a misspelt option is reported even when its value is undefined', () => {
    expect(optionsError({ keepAlive: undefined }, UNKNOWN).message).toMatch(/Did you mean `keepAliveMs`\?/);
  });

  test('null is not "not given": a null store or logger is refused', () => {
    expect(optionsError({ store: null }, TYPE).message).toMatch(/`store` must implement CountStore/);
    expect(optionsError({ logger: null }, TYPE).message).toMatch(/`logger` must have `warn\(message\)`/);
  });

  test('a configuration that throws logs no warning first', () => {
    const logger = quietLogger();
    optionsError({ render: () => A_PNG, color: 'red', width: 0, logger }, VALUE);
    expect(logger.warn).not.toHaveBeenCalled();
  });
});

describe('render with drawing options', () => {
  test('`render` together with `color` warns through the injected logger, naming color, and does not throw', () => {
    const logger = quietLogger();
    expect(() => create({ render: () => A_PNG, color: 'red', logger })).not.toThrow();
    expect(logger.warn).toHaveBeenCalledTimes(1);
    const message = String(logger.warn.mock.calls[0][0]);
    expect(message).toMatch(/^express-user-counter \[WRN_USER_COUNTER_IGNORED_OPTIONS\]: /);
    expect(message).toContain('`render`');
    expect(message).toContain('color');
    expect(message).toMatch(/ignored/);
    expect(logger.error).not.toHaveBeenCalled();
  });

  test('`render` with several drawing options names each of them in one warning', () => {
    const logger = quietLogger();
    create({ render: () => A_PNG, width: 100, font: '12px Anton', background: 'white', logger });
    expect(logger.warn).toHaveBeenCalledTimes(1);
    const message = String(logger.warn.mock.calls[0][0]);
    for (const name of ['width', 'font', 'background']) expect(message).toContain(name);
  });

  test('drawing options without `render` log nothing', () => {
    const logger = quietLogger();
    create({ color: 'red', width: 120, logger });
    expect(logger.warn).not.toHaveBeenCalled();
  });
});

describe('what the factory returns', () => {
  test('an Express Router (a function with use and stack) carrying counter with count, events and close', async () => {
    const router = create({ logger: quietLogger() });
    expect(typeof router).toBe('function');
    expect(typeof router.use).toBe('function');
    expect(typeof router.get).toBe('function');
    expect(Array.isArray(router.stack)).toBe(true);
    expect(router.stack.length).toBeGreaterThan(0);

    const { counter } = router;
    expect(counter.count).toBe(0);
    expect(typeof counter.events.on).toBe('function');
    expect(typeof counter.events.off).toBe('function');
    expect(typeof counter.events.emit).toBe('function');
    expect(typeof counter.close).toBe('function');
    await expect(counter.close()).resolves.toBeUndefined();
  });

  test('counter.count reads the store given in the options', () => {
    const store = new MemoryCountStore();
    const router = create({ store, logger: quietLogger() });
    store.increment('');
    store.increment('');
    expect(router.counter.count).toBe(2);
    store.decrement('');
    expect(router.counter.count).toBe(1);
  });

  test('each call gives its own counter handle and its own event emitter', () => {
    const first = create({ logger: quietLogger() });
    const second = create({ logger: quietLogger() });
    expect(first.counter).not.toBe(second.counter);
    expect(first.counter.events).not.toBe(second.counter.events);
  });

  test('close() resolves, and calling it twice gives the same promise', async () => {
    const router = create({ logger: quietLogger() });
    const closing = router.counter.close();
    expect(router.counter.close()).toBe(closing);
    await closing;
  });
});
