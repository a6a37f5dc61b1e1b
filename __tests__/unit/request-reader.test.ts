import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { resolveOptions } from '../../lib/options.js';
import { RequestReader } from '../../lib/http/request-reader.js';
import type { Options } from '../../lib/types/index.js';
import { USER_AGENTS } from '../helpers/user-agents.js';

// Everything the counter reads from a request, without a server: room, pixel ratio, viewer,
// address, and whether it gets a still image.

interface FakeRequest {
  url?: string;
  headers?: Record<string, string>;
  /** `req.ip` as Express works it out ('trust proxy' decides). */
  ip?: string;
  remoteAddress?: string;
}

/** A request as the reader sees it: the URL (with `req.query` parsed from it), headers and addresses. */
function request({ url = '/online.png', headers = {}, ip, remoteAddress = '192.0.2.1' }: FakeRequest = {}): Request {
  const query = Object.fromEntries(new URL(url, 'http://localhost').searchParams);
  return { url, query, headers, ip: ip ?? remoteAddress, socket: { remoteAddress } } as unknown as Request;
}

function readerWith(options: Options = {}): RequestReader {
  return new RequestReader(resolveOptions({ logger: { warn: jest.fn(), error: jest.fn() }, ...options }));
}

const digestOf = (identity: string) => createHash('sha256').update(`express-user-counter viewer\0${identity}`).digest('base64url');

describe('room', () => {
  test('without the room option every request is in the default room', () => {
    expect(readerWith().roomOf(request({ url: '/online.png?page=a' }))).toEqual({ room: '' });
  });

  test('the room option names the room; undefined and null mean the default room', () => {
    const reader = readerWith({ room: (req) => req.query.page as string | undefined });
    expect(reader.roomOf(request({ url: '/online.png?page=/blog/hello' }))).toEqual({ room: '/blog/hello' });
    expect(reader.roomOf(request())).toEqual({ room: '' });
    expect(readerWith({ room: () => null as unknown as undefined }).roomOf(request())).toEqual({ room: '' });
  });

  test('a name that is not one string, too long or unprintable is a problem, not a room', () => {
    const reader = readerWith({ room: (req) => req.query.page as string | undefined });
    expect(readerWith({ room: () => ['a', 'b'] as unknown as string }).roomOf(request())).toEqual({ problem: 'The room name must be one piece of text.' });
    expect(reader.roomOf(request({ url: `/online.png?page=${'x'.repeat(129)}` }))).toEqual({ problem: expect.stringMatching(/too long/) });
    expect(reader.roomOf(request({ url: '/online.png?page=a%E2%80%AEb' }))).toEqual({ problem: expect.stringMatching(/printable/) });
  });

  test('what the room option throws is thrown', () => {
    const reader = readerWith({ room: () => { throw new Error('no room here'); } });
    expect(() => reader.roomOf(request())).toThrow('no room here');
  });
});

describe('pixel ratio', () => {
  test('?dpr= is rounded and clamped into 1 to the highest ratio', () => {
    const reader = readerWith();
    const ratioOf = (dpr: string) => reader.pixelRatioOf(request({ url: `/online.png?dpr=${dpr}` }));
    expect(ratioOf('2')).toBe(2);
    expect(ratioOf('1.4')).toBe(1);
    expect(ratioOf('2.5')).toBe(3);
    expect(ratioOf('0.2')).toBe(1);
    expect(ratioOf('-4')).toBe(1);
    expect(ratioOf('99')).toBe(3);
  });

  test('no ratio, an empty one or a non-number gives the pixelRatio option', () => {
    const reader = readerWith({ pixelRatio: 2 });
    expect(reader.pixelRatioOf(request())).toBe(2);
    for (const dpr of ['', 'abc', 'Infinity', 'NaN']) expect(reader.pixelRatioOf(request({ url: `/online.png?dpr=${dpr}` }))).toBe(2);
  });

  test('a large image lowers the highest ratio a request may ask for', () => {
    expect(readerWith({ width: 2000 }).pixelRatioOf(request({ url: '/online.png?dpr=3' }))).toBe(2);
  });
});

describe('viewer', () => {
  test('without identify a stream has no viewer', () => {
    expect(readerWith().viewerOf(request())).toBeUndefined();
  });

  test("identify's string is kept as its SHA-256 digest, never as itself", () => {
    const reader = readerWith({ identify: (req) => req.headers['x-session'] as string | undefined });
    expect(reader.viewerOf(request({ headers: { 'x-session': 'erin@example.com' } }))).toBe(digestOf('erin@example.com'));
    expect(reader.viewerOf(request())).toBeUndefined();
  });

  test('an identify that returns something other than a string counts the stream on its own and warns once, with its code', () => {
    const warn = jest.fn();
    const reader = new RequestReader(resolveOptions({ identify: () => 42 as unknown as string, logger: { warn, error: jest.fn() } }));
    expect(reader.viewerOf(request())).toBeUndefined();
    expect(reader.viewerOf(request())).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/^express-user-counter \[WRN_USER_COUNTER_IDENTIFY_NOT_STRING\]: `identify` returned number/);
  });
});

describe('address', () => {
  test('without X-Forwarded-For it is the socket address, whatever req.ip says', () => {
    expect(readerWith().addressOf(request({ remoteAddress: '192.0.2.7', ip: '203.0.113.9' }))).toBe('192.0.2.7');
  });

  test('with X-Forwarded-For it is req.ip (what trust proxy makes of the header)', () => {
    const forwarded = { 'x-forwarded-for': '203.0.113.9' };
    expect(readerWith().addressOf(request({ headers: forwarded, remoteAddress: '192.0.2.7', ip: '203.0.113.9' }))).toBe('203.0.113.9');
    expect(readerWith().addressOf(request({ headers: forwarded, remoteAddress: '192.0.2.7' }))).toBe('192.0.2.7');
  });
});

describe('static image', () => {
  const staticAgents = ['github-camo (876de43e)', 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'facebookexternalhit/1.1', 'Slackbot-LinkExpanding 1.0', 'Mozilla/5.0 (compatible; Discordbot/2.0)'];
  const withAgent = (userAgent: string, url?: string) => request({ url, headers: { 'user-agent': userAgent } });

  test('by default the static user agents get the still image, browsers and curl the stream', () => {
    const reader = readerWith();
    for (const agent of staticAgents) expect([agent, reader.wantsStaticImage(withAgent(agent))]).toEqual([agent, true]);
    for (const agent of Object.values(USER_AGENTS)) expect([agent, reader.wantsStaticImage(withAgent(agent))]).toEqual([agent, false]);
    expect(reader.wantsStaticImage(request())).toBe(false);
  });

  test('?static=1 and ?static=true ask for the still image from any client; other values do not', () => {
    const reader = readerWith();
    for (const url of ['/online.png?static=1', '/online.png?static=true']) {
      expect(reader.asksForStaticImage(request({ url }))).toBe(true);
      expect(reader.wantsStaticImage(withAgent(USER_AGENTS.chromium, url))).toBe(true);
    }
    for (const url of ['/online.png?static=0', '/online.png?static=yes', '/online.png']) expect(reader.asksForStaticImage(request({ url }))).toBe(false);
  });

  test('staticFallback: false streams to everyone, even for ?static=1', () => {
    const reader = readerWith({ staticFallback: false });
    expect(reader.wantsStaticImage(withAgent(staticAgents[0]))).toBe(false);
    expect(reader.wantsStaticImage(request({ url: '/online.png?static=1' }))).toBe(false);
  });

  test('a function decides instead of the user agents (only `true` counts); ?static=1 still asks', () => {
    const decide = jest.fn((req: Request) => (req.headers['x-still'] === 'yes' ? true : ('yes' as unknown as boolean)));
    const reader = readerWith({ staticFallback: decide });
    expect(reader.wantsStaticImage(request({ headers: { 'x-still': 'yes' } }))).toBe(true);
    expect(reader.wantsStaticImage(withAgent(staticAgents[0]))).toBe(false);
    expect(reader.wantsStaticImage(request({ url: '/online.png?static=1' }))).toBe(true);
    expect(decide).toHaveBeenCalledTimes(2);
  });
});
