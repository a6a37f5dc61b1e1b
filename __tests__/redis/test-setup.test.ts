import IORedis from 'ioredis';
import { startTestRedis, waitForPing } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { sleep } from '../helpers/time.js';

// The Redis tests never skip silently: without a Redis they fail and say what to install.

const saved = { PATH: process.env.PATH, REDIS_URL: process.env.REDIS_URL };
const started: TestRedis[] = [];
afterEach(async () => {
  process.env.PATH = saved.PATH;
  if (saved.REDIS_URL === undefined) delete process.env.REDIS_URL;
  else process.env.REDIS_URL = saved.REDIS_URL;
  await Promise.all(started.splice(0).map((redis) => redis.close()));
});

test('with no redis-server on PATH and no REDIS_URL, the setup fails naming what to install', async () => {
  process.env.PATH = '/nonexistent';
  delete process.env.REDIS_URL;
  await expect(startTestRedis()).rejects.toThrow(/redis-server is not on PATH and REDIS_URL is not set.*apt-get install redis-server/);
});

test('with no redis-server on PATH and a REDIS_URL that does not answer, the setup fails naming both', async () => {
  process.env.PATH = '/nonexistent';
  process.env.REDIS_URL = 'redis://127.0.0.1:1';
  await expect(startTestRedis()).rejects.toThrow(/REDIS_URL=redis:\/\/127\.0\.0\.1:1 does not answer PING.*apt-get install redis-server/);
});

test('its own redis-server answers, and stop() and start() take it away and bring it back empty on the same port', async () => {
  const redis = await startTestRedis();
  started.push(redis);
  const client = new IORedis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  client.on('error', () => undefined);
  try {
    await client.set('key', 'value');
    await redis.stop();
    await expect(client.get('key')).rejects.toThrow();
    await redis.start();
    await waitForPing(redis.host, redis.port, 5000);
    await sleep(200);
    expect(await client.get('key')).toBeNull();
  } finally {
    client.disconnect();
  }
});

test('with only REDIS_URL, the tests reach that Redis through a proxy that stop() cuts and start() restores', async () => {
  const real = await startTestRedis();
  started.push(real);
  process.env.PATH = '/nonexistent';
  process.env.REDIS_URL = real.url;
  const proxied = await startTestRedis();
  started.push(proxied);
  process.env.PATH = saved.PATH;
  expect(proxied.port).not.toBe(real.port);
  const client = new IORedis(proxied.url, { maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  client.on('error', () => undefined);
  try {
    await client.set('through-the-proxy', '1');
    await proxied.stop();
    await expect(client.get('through-the-proxy')).rejects.toThrow();
    await proxied.start();
    await waitForPing(proxied.host, proxied.port, 5000);
    await sleep(200);
    expect(await client.get('through-the-proxy')).toBe('1');
  } finally {
    client.disconnect();
  }
});
