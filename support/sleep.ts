/** Wait `ms` (the harness polls a browser; the tests wait for conditions: helpers/time.ts). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
