/*
 * Time in tests: wait for a condition, never for a fixed time. `sleep` is for the few tests
 * that assert that nothing happens within a window (a frame not sent, a count not changed).
 */

/** Resolve once `check()` is true (or resolves true), polling; reject after `timeoutMs` saying `what` was awaited. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(10);
  }
}

/** Wait `ms`: only to show that something does NOT happen within that window. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
