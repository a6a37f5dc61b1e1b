import express from 'express';
import IORedis from 'ioredis';
import { RedisCountStore, userCounterMiddleware } from '../lib/index.js';
import { counterMetrics } from './metrics.js';

const port = Number(process.env.PORT ?? 9192);
const host = process.env.HOST ?? '0.0.0.0';

// With REDIS_URL, every demo process sharing that Redis shows one count (npm run demo:cluster).
const redis = process.env.REDIS_URL ? connectRedisStore(process.env.REDIS_URL) : undefined;

/**
 * The demo page's one script: a hint for whoever deploys it. The image is one long response, and a
 * proxy that buffers, compresses or times it out leaves it stuck with no sign of why. Once the
 * count the server gives as JSON has held for a few seconds, the image should show it: the hint
 * appears when it shows no frame at all, or another picture than the still image of that count.
 */
const STALE_IMAGE_HINT = `(() => {
  const image = document.getElementById('counter');
  const hint = document.getElementById('stale');
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true });
  const pixels = (source) => {
    canvas.width = source.naturalWidth;
    canvas.height = source.naturalHeight;
    context.drawImage(source, 0, 0);
    return context.getImageData(0, 0, canvas.width, canvas.height).data.join();
  };
  let count;
  let since = Date.now();
  const check = async () => {
    const now = (await (await fetch('/online.json', { cache: 'no-store' })).json()).count;
    if (now !== count) [count, since] = [now, Date.now()];
    if (Date.now() - since < 4000) return;
    const still = new Image();
    still.src = '/online.png?static=1&count=' + count;
    await still.decode();
    // Firefox draws a multipart image's first frame on a canvas, not the one on screen: there only a missing frame shows.
    const gecko = /Gecko\\/\\d/.test(navigator.userAgent) && !/like Gecko/.test(navigator.userAgent);
    const stale = image.naturalWidth === 0 || (!gecko && pixels(image) !== pixels(still));
    document.getElementById('server-count').textContent = count;
    hint.hidden = !stale;
    hint.dataset.checked = String(count);
  };
  setInterval(() => check().catch(() => undefined), 2000);
})();`;

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
  ${res.locals.userCounter.img({ id: 'counter' })}
  <p id="stale" hidden><strong>This image is not showing the live count.</strong> The server counts
  <span id="server-count"></span> viewers, but the image above has not caught up. Something between this
  page and the server (a proxy, a CDN, a platform's router) is holding back, compressing or has cut the
  image's stream: see "Deploying" in the README of express-user-counter. Reloading the page brings back a
  stream that was cut.</p>
  <p>When this page was served, <code>req.app.locals.userCount</code> was <strong id="count">${count}</strong>
  (the image above stays live; this number is as of the page load).</p>
  <p>The same number as JSON: <a href="/online.json">/online.json</a>. Open this page in another window to see the image change.</p>
  <p>For a GitHub README (GitHub's image proxy cannot stream), the same image as one PNG:
  <a href="/online.png?static=1">/online.png?static=1</a>. Numbers for Prometheus: <a href="/metrics">/metrics</a>.</p>
${redis ? `  <p>Counted across every process sharing Redis; this is instance <code>${redis.store.instanceId}</code> on port ${port}.</p>\n` : ''}<script>${STALE_IMAGE_HINT}</script>
</body>
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
