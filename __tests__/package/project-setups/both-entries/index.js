// An app whose own code uses `require` while a dependency of it uses `import`: both must reach
// one copy of the package (one middleware, one OptionsError class for `instanceof`).
const express = require('express');
const required = require('express-user-counter');

import('express-user-counter').then((imported) => {
  const same = imported.userCounterMiddleware === required.userCounterMiddleware && imported.OptionsError === required.OptionsError;
  console.log(same ? 'one copy' : 'two copies');
  const counter = imported.userCounterMiddleware();
  const app = express().use(counter);
  const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
  process.once('SIGTERM', () => counter.counter.close().then(() => server.close()));
});
