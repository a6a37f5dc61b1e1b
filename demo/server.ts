import express from 'express';
import { userCounterMiddleware } from '../lib/index.js';

const port = Number(process.env.PORT ?? 9192);
const host = process.env.HOST ?? '0.0.0.0';

const app = express();
const counter = userCounterMiddleware();
app.use(counter);

app.get(['/', '/index.html'], (req, res) => {
  const count = Number(req.app.locals.userCount);
  res.type('html').send(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>express-user-counter demo</title></head>
<body>
  <h1>Users viewing this page:</h1>
  <img src="/online.png" width="200" height="30" alt="Users online">
  <p>When this page was served, <code>req.app.locals.userCount</code> was <strong id="count">${count}</strong>
  (the image above stays live; this number is as of the page load).</p>
  <p>The same number as JSON: <a href="/online.json">/online.json</a>. Open this page in another window to see the image change.</p>
</body>
</html>`);
});

const server = app.listen(port, host, () => {
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  console.log(`express-user-counter demo: http://${shown}:${port}/`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void counter.counter.close().then(() => server.close(() => process.exit(0)));
  });
}
