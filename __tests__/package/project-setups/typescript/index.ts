import type { AddressInfo } from 'node:net';
import express from 'express';
import { userCounterMiddleware } from 'express-user-counter';
import type { CountStore, Options, UserCounterRouter } from 'express-user-counter';

const options: Options = { text: (count) => `${count} here`, keepAliveMs: 5000 };
const counter: UserCounterRouter = userCounterMiddleware(options);
const store: CountStore | undefined = undefined;
void store;
counter.counter.events.on('change', ({ count }) => void count.toFixed());

const app = express().use(counter);
app.get('/', (req, res) => {
  const count: number = req.app.locals.userCount;
  res.send(String(count));
});
const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as AddressInfo).port}`));
process.once('SIGTERM', () => void counter.counter.close().then(() => server.close()));
