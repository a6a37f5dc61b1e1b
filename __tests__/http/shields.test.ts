// The count as a shields.io endpoint badge (README, Badges): beside the JSON count, per room,
// not counted, readable from any origin. shields.io rejects a badge with a field it does not know.
import { startCounterApp } from '../helpers/counter-app.js';
import { MockStore } from '../helpers/mock-store.js';
import { eventually } from '../helpers/time.js';
import { openViewers } from '../helpers/viewer.js';

test('GET /online.shields.json: the endpoint schema with the count, no-store, readable from any origin, without a Referer, not counted', async () => {
  const { url, counter } = await startCounterApp();
  await openViewers(url, 3);
  await eventually(() => counter.count === 3, 'count 3');

  // fetch() sends no Referer, as shields.io's servers do not.
  const response = await fetch(`${url}/online.shields.json`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.headers.get('access-control-allow-origin')).toBe('*');
  // Exactly these fields, the message a string.
  expect(await response.json()).toStrictEqual({ schemaVersion: 1, label: 'online', message: '3', color: 'green', cacheSeconds: 300 });
  expect(counter.count).toBe(3);
  expect(counter.stats().connections).toBe(3);
});

test('label, color and cacheSeconds come from the shields option; the count is formatted with locale', async () => {
  const { url } = await startCounterApp({
    store: new MockStore({ counts: { '': 12345 } }),
    locale: 'en-US',
    shields: { label: 'readers', color: '#4c1', cacheSeconds: 600 },
  });
  const badge = await (await fetch(`${url}/online.shields.json`)).json();
  expect(badge).toStrictEqual({ schemaVersion: 1, label: 'readers', message: '12,345', color: '#4c1', cacheSeconds: 600 });
  // An empty label is allowed: shields.io then draws the message alone.
  const bare = await startCounterApp({ store: new MockStore({ counts: { '': 7 } }), shields: { label: '' } });
  expect(await (await fetch(`${bare.url}/online.shields.json`)).json()).toMatchObject({ label: '', message: '7' });
});

test('per room with the room function, as the JSON count; a refused room name gets 400', async () => {
  const { url } = await startCounterApp({
    store: new MockStore({ counts: { '': 1, '/blog/hello': 5 } }),
    room: (req) => req.query.page as string | undefined,
  });
  const message = async (query: string) => ((await (await fetch(`${url}/online.shields.json${query}`)).json()) as { message: string }).message;
  expect(await message('?page=/blog/hello')).toBe('5');
  expect(await message('')).toBe('1');
  expect(await message('?page=/nobody')).toBe('0');
  for (const bad of ['?page=a&page=b', `?page=${'x'.repeat(129)}`, '?page=%E2%80%AEevil']) {
    const response = await fetch(`${url}/online.shields.json${bad}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  }
});

test('HEAD answers the headers without a body', async () => {
  const { url } = await startCounterApp();
  const response = await fetch(`${url}/online.shields.json`, { method: 'HEAD' });
  expect(response.status).toBe(200);
  expect(response.headers.get('access-control-allow-origin')).toBe('*');
  expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect((await response.arrayBuffer()).byteLength).toBe(0);
});

test('the badge follows the path option; shields: false serves none', async () => {
  const moved = await startCounterApp({ path: '/stats/readers.png' });
  expect((await fetch(`${moved.url}/stats/readers.shields.json`)).status).toBe(200);
  expect((await fetch(`${moved.url}/online.shields.json`)).status).toBe(404);
  const bare = await startCounterApp({ path: '/counter' });
  expect(await (await fetch(`${bare.url}/counter.shields.json`)).json()).toMatchObject({ schemaVersion: 1, message: '0' });
  const off = await startCounterApp({ shields: false });
  expect((await fetch(`${off.url}/online.shields.json`)).status).toBe(404);
  expect((await fetch(`${off.url}/online.json`)).status).toBe(200);
});
