import { randomId } from '../../lib/util/random-ids.js';

// Ids come from a pool of random bytes refilled 4 KB at a time: each is fresh, across refills too.

test('ids have the length of their bytes in base64url and never repeat, over many refills of the pool', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    const id16 = randomId(16);
    const id9 = randomId(9);
    expect(id16).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(id9).toMatch(/^[A-Za-z0-9_-]{12}$/);
    seen.add(id16).add(id9);
  }
  expect(seen.size).toBe(6000);
});
