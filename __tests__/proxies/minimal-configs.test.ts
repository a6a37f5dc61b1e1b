// What a user writes first: the minimal reverse proxy each program's own documentation shows
// (__tests__/fixtures/minimal-configs/), run in the real program in front of an app with the
// middleware's defaults. The README's Deploying section says what each one gets and what to add;
// this proves it, so that a change in a program or in the middleware shows.
import { getWhole, joinAndLeave } from '../helpers/proxy-clients.js';
import { MINIMAL_CONFIGS, startBehind } from '../helpers/proxies.js';
import type { ProxyName } from '../helpers/proxies.js';

/** The bounds of direct (recipes.test.ts). */
const FIRST_FRAME_MS = 1000;
const CHANGE_MS = 1000;
const LEAVE_MS = 1000;
/** The middleware's default keep-alive: a whole frame again after this long without one. */
const KEEP_ALIVE_MS = 3000;

/**
 * When a closed page's leave reaches the app, by program. nginx and Caddy watch the browser's
 * connection and close theirs to the app at once. HAProxy 2.6 without `option abortonclose` and
 * Apache take a browser's FIN as "done sending" and notice the page is gone only when a write to it
 * fails: the second write after it closed, within two keep-alives. Varnish's built-in VCL fetches
 * the stream as an uncacheable object, which it abandons a few writes after the page left.
 */
const LEAVE_WITHIN_MS: Record<ProxyName, number> = {
  nginx: LEAVE_MS,
  caddy: LEAVE_MS,
  haproxy: 2 * KEEP_ALIVE_MS + 2 * LEAVE_MS,
  apache: 2 * KEEP_ALIVE_MS + 2 * LEAVE_MS,
  varnish: 4 * KEEP_ALIVE_MS + 2 * LEAVE_MS,
};

test("every program's minimal reverse proxy carries the stream within the bounds of direct; nginx and Caddy count a closed page at once, HAProxy 2.6, Apache and Varnish's built-in VCL only at a later write", async () => {
  const results = await Promise.all(
    MINIMAL_CONFIGS.map(async (config) => {
      const { app, proxy } = await startBehind(config);
      const url = proxy.url('http/1.1');
      const timings = await joinAndLeave(url, 'http/1.1', app);
      // The counts answer too, never from a cache (Varnish's built-in VCL passes what says no-store).
      const json = await getWhole(url, 'http/1.1', '/online.json');
      return { program: config.program, label: proxy.label, timings, json: [json.status, JSON.parse(json.body.toString())] };
    }),
  );
  for (const { label, timings } of results) console.log(`[${label}] ${JSON.stringify(timings)}`);
  for (const { program, timings, json } of results) {
    expect([program, timings.firstFrameMs < FIRST_FRAME_MS, timings.joinShownMs < CHANGE_MS]).toEqual([program, true, true]);
    expect([program, json]).toEqual([program, [200, { count: 0 }]]);
    const late = LEAVE_WITHIN_MS[program] > LEAVE_MS;
    // A late leave is late for the reason given above: after the first write, before the bound.
    expect([program, timings.leaveCountedMs < LEAVE_WITHIN_MS[program], late ? timings.leaveCountedMs > LEAVE_MS : true]).toEqual([program, true, true]);
  }
}, 120_000);
