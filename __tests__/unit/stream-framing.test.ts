// Which browsers get heartbeat bytes (lib/stream/stream-framing.ts): Gecko only; a client that
// cannot be placed gets the framing that never shows a broken image.
import { framingOf, isGecko } from '../../lib/stream/stream-framing.js';
import { USER_AGENTS } from '../helpers/user-agents.js';

/** The framing a stream request with this `User-Agent` gets (lib/http/stream-route.ts). */
const framingFor = (userAgent: string | undefined) => framingOf(isGecko(userAgent));

test.each([
  ['firefoxLinux', true],
  ['firefoxWindows', true],
  ['firefoxAndroid', true],
  ['chromium', false],
  ['edge', false],
  ['safariMac', false],
  ['safariIphone', false],
  ['firefoxIphone', false],
  ['chromeIphone', false],
  ['webkitGtk', false],
  ['curl', false],
] as const)('%s gets heartbeat bytes: %s', (browser, heartbeats) => {
  expect(framingFor(USER_AGENTS[browser]).heartbeats).toBe(heartbeats);
});

test('no User-Agent, an empty one, or one that only mentions Gecko gets no heartbeat bytes', () => {
  expect(framingFor(undefined).heartbeats).toBe(false);
  expect(framingFor('').heartbeats).toBe(false);
  expect(framingFor('Gecko').heartbeats).toBe(false);
  expect(framingFor('SomeBot/1.0 (like Gecko/20100101)').heartbeats).toBe(false);
});
