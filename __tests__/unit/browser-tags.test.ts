import type { Request } from 'express';
import { BrowserTags } from '../../lib/admission/browser-tags.js';

const SETTINGS = { maxStreamsPerBrowser: 4, ipv6PrefixLength: 56 };

/** A request as the counter's router sees it. */
function request(headers: Record<string, string> = {}, { secure = false, baseUrl = '', httpVersionMajor = 1 } = {}): Request {
  return { headers, secure, baseUrl, httpVersionMajor } as unknown as Request;
}

const CHROME = { 'user-agent': 'Mozilla/5.0 Chrome/156' };

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('BrowserTags', () => {
  test('requests without the cookie from one address and User-Agent are one browser for 10 s, then another', () => {
    const tags = new BrowserTags(SETTINGS);
    const first = tags.tag(request(CHROME), '203.0.113.7')!;
    jest.advanceTimersByTime(9_000);
    expect(tags.tag(request(CHROME), '203.0.113.7')!.id).toBe(first.id);
    jest.advanceTimersByTime(1_500);
    expect(tags.tag(request(CHROME), '203.0.113.7')!.id).not.toBe(first.id);
  });

  test('another address, another User-Agent, or none at all is another browser; an IPv6 /56 is one address', () => {
    const tags = new BrowserTags(SETTINGS);
    const id = tags.tag(request(CHROME), '2001:db8:1:2::1')!.id;
    expect(tags.tag(request(CHROME), '2001:db8:1:2:ffff::9')!.id).toBe(id);
    expect(tags.tag(request(CHROME), '2001:db8:1:300::1')!.id).not.toBe(id);
    expect(tags.tag(request({ 'user-agent': 'Mozilla/5.0 Firefox/153' }), '2001:db8:1:2::1')!.id).not.toBe(id);
    const [a, b] = [tags.tag(request(), '2001:db8:1:2::1')!, tags.tag(request(), '2001:db8:1:2::1')!];
    expect(a.id).not.toBe(b.id);
  });

  test('the cookie: HttpOnly, SameSite=Lax, for the stream path under the mount path, Secure on HTTPS; none when sent or not needed', () => {
    const tags = new BrowserTags(SETTINGS);
    const tag = tags.tag(request(CHROME, { secure: true, baseUrl: '/counter' }), '203.0.113.7')!;
    expect(tag.setCookie).toBe(`user_counter_browser=${tag.id}; Path=/counter; HttpOnly; SameSite=Lax; Secure`);
    expect(tags.tag(request({ ...CHROME, cookie: `a=b; user_counter_browser=${tag.id}` }), '203.0.113.7')).toEqual({ id: tag.id, setCookie: undefined });
    expect(tags.tag(request(CHROME, { httpVersionMajor: 2 }), '203.0.113.7')).toBeUndefined();
    expect(tags.tag(request({ ...CHROME, 'x-forwarded-http-version': 'HTTP/2.0' }), '203.0.113.7')).toBeUndefined();
    expect(new BrowserTags({ ...SETTINGS, maxStreamsPerBrowser: 0 }).tag(request(CHROME), '203.0.113.7')).toBeUndefined();
  });

  test('what a client sends cannot grow what is kept: 10 500 User-Agents of 8 KB keep at most 10 000 keys of 256 characters', () => {
    const tags = new BrowserTags(SETTINGS);
    const long = 'x'.repeat(8192);
    for (let i = 0; i < 10_500; i++) tags.tag(request({ 'user-agent': `${i}${long}` }), '203.0.113.7');
    const fresh = (tags as unknown as { fresh: { entries: Map<string, unknown> } }).fresh.entries;
    expect(fresh.size).toBe(10_000);
    expect(Math.max(...[...fresh.keys()].map((key) => key.length))).toBeLessThanOrEqual('203.0.113.7\n'.length + 256);
  });

  test('an address and User-Agent are kept 10 s: the next new browser after that finds only its own', () => {
    const tags = new BrowserTags(SETTINGS);
    for (let i = 0; i < 50; i++) tags.tag(request({ 'user-agent': `browser ${i}` }), '203.0.113.7');
    const fresh = (tags as unknown as { fresh: { entries: Map<string, unknown> } }).fresh.entries;
    jest.advanceTimersByTime(6000);
    // Asking again within the window neither renews an entry nor drops the others.
    tags.tag(request({ 'user-agent': 'browser 0' }), '203.0.113.7');
    tags.tag(request({ 'user-agent': 'late' }), '203.0.113.7');
    expect(fresh.size).toBe(51);
    jest.advanceTimersByTime(4000);
    tags.tag(request({ 'user-agent': 'next' }), '198.51.100.1');
    expect([...fresh.keys()]).toEqual(['203.0.113.7\nlate', '198.51.100.1\nnext']);
  });
});
