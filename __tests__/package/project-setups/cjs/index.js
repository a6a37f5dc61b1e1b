const express = require('express');
const { userCounterMiddleware } = require('express-user-counter');

const counter = userCounterMiddleware();
const app = express().use(counter);
const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.once('SIGTERM', () => counter.counter.close().then(() => server.close()));
