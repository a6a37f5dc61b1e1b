import type { AddressInfo } from 'node:net';
import express from 'express';
import { userCounterMiddleware } from 'express-user-counter';
import { TallyCountStore } from './tally-count-store.js';

const store = new TallyCountStore();
const counter = userCounterMiddleware({ store });
const app = express().use(counter);
app.get('/store.json', (_req, res) => void res.json({ count: store.count(''), calls: store.calls }));
const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as AddressInfo).port}`));
process.once('SIGTERM', () => void counter.counter.close().then(() => server.close()));
