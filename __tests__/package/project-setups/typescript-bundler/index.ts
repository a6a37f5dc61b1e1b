import type { AddressInfo } from 'node:net';
import express from 'express';
import { OptionsError, userCounterMiddleware } from 'express-user-counter';
import type { Options, UserCounterRouter } from 'express-user-counter';

const options: Options = { keepAliveMs: 5000 };
const counter: UserCounterRouter = userCounterMiddleware(options);
const error: OptionsError | undefined = undefined;
void error;

const app = express().use(counter);
const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as AddressInfo).port}`));
process.once('SIGTERM', () => void counter.counter.close().then(() => server.close()));
