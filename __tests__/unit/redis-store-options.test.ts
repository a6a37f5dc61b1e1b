// The options of `new RedisCountStore(...)`: each mistake an OptionsError with its code and a
// message that says what to write; the documented defaults. No Redis needed: nothing connects.
import { OptionsError, RedisCountStore } from '../../lib/index.js';
import type { ErrorCode, RedisCountStoreOptions } from '../../lib/index.js';

describe('options', () => {
  const send = async () => [1, 0];
  const build = (options: unknown) => () => new RedisCountStore(options as RedisCountStoreOptions);

  test.each<[string, unknown, RegExp, ErrorCode]>([
    ['no options', undefined, /needs an object with at least `sendCommand`/, 'ERR_USER_COUNTER_INVALID_OPTION_TYPE'],
    ['no sendCommand', {}, /`sendCommand` must be a function .*client\.call\(\.\.\.args\).*client\.sendCommand\(args\)/, 'ERR_USER_COUNTER_MISSING_OPTION'],
    ['a sendCommand that is not a function', { sendCommand: 'EVAL' }, /`sendCommand` must be a function/, 'ERR_USER_COUNTER_INVALID_OPTION_TYPE'],
    [
      'a misspelt option',
      { sendCommand: send, heartbeat: 100 },
      /Unknown option `heartbeat`\. Did you mean `heartbeatMs`\? Known options: sendCommand, subscribe, prefix, heartbeatMs/,
      'ERR_USER_COUNTER_UNKNOWN_OPTION',
    ],
    ['a name far from every option', { sendCommand: send, somethingElse: 1 }, /Unknown option `somethingElse`\. Known options: sendCommand/, 'ERR_USER_COUNTER_UNKNOWN_OPTION'],
    ['braces in the prefix', { sendCommand: send, prefix: '{app}' }, /`prefix` must be a non-empty string without braces/, 'ERR_USER_COUNTER_INVALID_OPTION_VALUE'],
    ['an empty prefix', { sendCommand: send, prefix: '' }, /`prefix` must be a non-empty string/, 'ERR_USER_COUNTER_INVALID_OPTION_VALUE'],
    ['a fractional heartbeat', { sendCommand: send, heartbeatMs: 1.5 }, /`heartbeatMs` must be a whole number of milliseconds, 1 or more; got 1\.5/, 'ERR_USER_COUNTER_INVALID_OPTION_VALUE'],
    ['a zero TTL', { sendCommand: send, ttlMs: 0 }, /`ttlMs` must be a whole number/, 'ERR_USER_COUNTER_INVALID_OPTION_VALUE'],
    ['a TTL as a string', { sendCommand: send, ttlMs: '15000' }, /`ttlMs` must be a whole number/, 'ERR_USER_COUNTER_INVALID_OPTION_TYPE'],
    [
      'a TTL not above the heartbeat',
      { sendCommand: send, heartbeatMs: 5000, ttlMs: 5000 },
      /`ttlMs` \(5000\) must be more than `heartbeatMs` \(5000\).*\(15000\)/,
      'ERR_USER_COUNTER_CONFLICTING_OPTIONS',
    ],
    ['an empty instance id', { sendCommand: send, instanceId: '' }, /`instanceId` must be a non-empty string/, 'ERR_USER_COUNTER_INVALID_OPTION_VALUE'],
    ['subscribe that is not a function', { sendCommand: send, subscribe: 'channel' }, /`subscribe` must be a function/, 'ERR_USER_COUNTER_INVALID_OPTION_TYPE'],
    ['a logger without warn', { sendCommand: send, logger: { error() {} } }, /`logger` must have `warn\(message\)`/, 'ERR_USER_COUNTER_INVALID_OPTION_TYPE'],
    [
      'a misspelt warning code',
      { sendCommand: send, disableWarnings: ['WRN_USER_COUNTER_REDIS_UNREACHABL'] },
      /`disableWarnings` has 'WRN_USER_COUNTER_REDIS_UNREACHABL', not a warning code\. Did you mean 'WRN_USER_COUNTER_REDIS_UNREACHABLE'\?/,
      'ERR_USER_COUNTER_INVALID_OPTION_VALUE',
    ],
  ])('rejects %s with an OptionsError that says what to write', (_, options, message, code) => {
    expect(build(options)).toThrow(OptionsError);
    expect(build(options)).toThrow(TypeError);
    expect(build(options)).toThrow(message);
    let thrown: unknown;
    try {
      build(options)();
    } catch (error) {
      thrown = error;
    }
    expect((thrown as OptionsError).code).toBe(code);
  });

  test('fills in the documented defaults and a distinct random instance id', () => {
    const a = new RedisCountStore({ sendCommand: send });
    const b = new RedisCountStore({ sendCommand: send, prefix: undefined });
    expect([a.prefix, a.heartbeatMs, a.ttlMs]).toEqual(['user-counter', 5000, 15_000]);
    expect(a.instanceId).not.toBe(b.instanceId);
    expect(a.instanceId.length).toBeGreaterThan(8);
  });
});
