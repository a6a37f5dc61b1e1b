import http from 'node:http';
import express from 'express';
import { userCounterMiddleware, MemoryCountStore } from 'express-user-counter';

const app = express();
const counter = userCounterMiddleware({ store: new MemoryCountStore() });
app.use(counter);

const server = app.listen(0, '127.0.0.1', () => {
  const url = `http://127.0.0.1:${server.address().port}/online.png`;
  http.get(url, { headers: { Referer: url } }, (res) => {
    const boundary = /boundary=(\S+)/.exec(res.headers['content-type'])[1];
    let body = Buffer.alloc(0);
    res.on('data', (chunk) => {
      body = Buffer.concat([body, chunk]);
      const start = body.indexOf('\r\n\r\n') + 4;
      const end = body.indexOf(`\r\n--${boundary}`, start);
      if (start < 4 || end < 0) return;
      const png = body.subarray(start, end);
      if (png.subarray(1, 4).toString() !== 'PNG') throw new Error('the first part is not a PNG');
      console.log(`OK ${png.length} count=${counter.counter.count}`);
      res.destroy();
      counter.counter.close().then(() => server.close());
    });
  });
});
