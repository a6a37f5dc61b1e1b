import express from 'express';
import IORedis from 'ioredis';
import { RedisCountStore, userCounterMiddleware } from '../lib/index.js';
import { counterMetrics } from './metrics.js';

const port = Number(process.env.PORT ?? 9192);
const host = process.env.HOST ?? '0.0.0.0';

// With REDIS_URL, every demo process sharing that Redis shows one count (npm run demo:cluster).
const redis = process.env.REDIS_URL ? connectRedisStore(process.env.REDIS_URL) : undefined;

const app = express();
const counter = userCounterMiddleware(redis ? { store: redis.store } : {});
app.use(counter);
// The counter's stats() for Prometheus. A real deployment keeps this off the public internet.
app.get('/metrics', counterMetrics(counter.counter).handler);

app.get(['/', '/index.html'], (req, res) => {
  const count = Number(req.app.locals.userCount);
  res.type('html').send(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>express-user-counter demo</title></head>
<body>
  <h1>Users viewing this page:</h1>
  ${res.locals.userCounter.img()}
  <p>When this page was served, <code>req.app.locals.userCount</code> was <strong id="count">${count}</strong>
  (the image above stays live; this number is as of the page load).</p>
  <p>The same number as JSON: <a href="/online.json">/online.json</a>. Open this page in another window to see the image change.</p>
  <p>For a GitHub README (GitHub's image proxy cannot stream), the same image as one PNG:
  <a href="/online.png?static=1">/online.png?static=1</a>. Numbers for Prometheus: <a href="/metrics">/metrics</a>.</p>
${redis ? `  <p>Counted across every process sharing Redis; this is instance <code>${redis.store.instanceId}</code> on port ${port}.</p>\n` : ''}</body>
</html>`);
});

const server = app.listen(port, host, () => {
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  console.log(`express-user-counter demo: http://${shown}:${port}/`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void counter.counter.close().then(() => {
      redis?.disconnect();
      server.close(() => process.exit(0));
    });
  });
}

/** A RedisCountStore on ioredis, as the README shows: one connection for commands, one for the hint. */
function connectRedisStore(url: string): { store: RedisCountStore; disconnect(): void } {
  const client = new IORedis(url);
  const subscriber = client.duplicate();
  // The store warns once when Redis is unreachable; ioredis would log every failed reconnect.
  for (const connection of [client, subscriber]) connection.on('error', () => undefined);
  const store = new RedisCountStore({
    sendCommand: (...args) => client.call(...(args as [string, ...string[]])),
    subscribe: async (channel, onMessage) => {
      subscriber.on('message', (from: string, message: string) => from === channel && onMessage(message));
      await subscriber.subscribe(channel);
    },
  });
  // A hint published while the subscriber was away is lost: re-read when it is back.
  subscriber.on('ready', () => store.refresh());
  const shown = new URL(url);
  if (shown.password) shown.password = '***';
  console.log(`express-user-counter demo: counting through Redis at ${shown} as instance ${store.instanceId}`);
  return {
    store,
    disconnect() {
      client.disconnect();
      subscriber.disconnect();
    },
  };
}
