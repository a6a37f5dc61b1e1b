// The order the test files start in. CI runs on a fresh clone with no timings from an earlier
// run, so Jest's own order (largest file first) would leave a file that mostly waits for
// minutes (the proxies' 3-minute lifetime, the vanishing networks, the browsers) to the end,
// with one worker idle beside it. These start first, longest waits first; the other worker
// runs the rest meanwhile. Within a group, and for everything else, Jest's own order holds.
const Sequencer = require('@jest/test-sequencer').default;

const WAITING_FIRST = ['proxies/lifetime', 'browsers/churn', 'network/', 'browsers/', 'proxies/', 'hostile/churn', 'hostile/slow', 'package/'];

function rank(test) {
  const at = WAITING_FIRST.findIndex((prefix) => test.path.includes(`/__tests__/${prefix}`));
  return at < 0 ? WAITING_FIRST.length : at;
}

class WaitingFirst extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    // Array.prototype.sort is stable: Jest's order stays within each rank.
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = WaitingFirst;
