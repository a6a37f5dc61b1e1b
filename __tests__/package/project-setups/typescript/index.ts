import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { userCounterMiddleware } from 'express-user-counter';
import type { CountStore, Options, UserCounterRouter } from 'express-user-counter';

const options: Options = { text: (count) => `${count} here`, keepAliveMs: 5000 };
const counter: UserCounterRouter = userCounterMiddleware(options);
const store: CountStore | undefined = undefined;
void store;

const app = express();
app.use(counter);
app.get('/', (req, res) => {
  const count: number = req.app.locals.userCount;
  res.send(String(count));
});
counter.counter.events.on('change', ({ count }) => void count.toFixed());

const server = app.listen(0, '127.0.0.1', () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/online.png`;
  http.get(url, { headers: { Referer: url } }, (res) => {
    const boundary = /boundary=(\S+)/.exec(String(res.headers['content-type']))![1];
    let body = Buffer.alloc(0);
    res.on('data', (chunk: Buffer) => {
      body = Buffer.concat([body, chunk]);
      const start = body.indexOf('\r\n\r\n') + 4;
      const end = body.indexOf(`\r\n--${boundary}`, start);
      if (start < 4 || end < 0) return;
      const png = body.subarray(start, end);
      if (png.subarray(1, 4).toString() !== 'PNG') throw new Error('the first part is not a PNG');
      console.log(`OK ${png.length} count=${counter.counter.count}`);
      res.destroy();
      void counter.counter.close().then(() => server.close());
    });
  });
});
