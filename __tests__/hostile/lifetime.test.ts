// How streams and counters end on their own: maxStreamMs, and a process that closes its counter
// and its server exits with nothing left running. (counter.close() itself: http/close.test.ts.)
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startCounterApp } from '../helpers/counter-app.js';
import { eventually, sleep } from '../helpers/time.js';
import { Viewer, closeDelimiterOf } from '../helpers/viewer.js';
import { decodePng, expectedEndedFrame, samePixels } from '../../support/png.js';

describe('maxStreamMs', () => {
  test('a stream ends by itself after maxStreamMs with the close-delimiter, its last part the ended frame of its count, and leaves the count', async () => {
    const { url, counter } = await startCounterApp({ maxStreamMs: 500 });
    const opened = Date.now();
    const viewer = await Viewer.open(url);
    await viewer.waitForFrames(1);
    expect(counter.count).toBe(1);

    await viewer.waitForEnd(5000);
    const lasted = Date.now() - opened;
    expect(lasted).toBeGreaterThanOrEqual(450);
    // Ends by itself: well before the limit below, whatever the machine's load.
    expect(lasted).toBeLessThan(10_000);

    expect(viewer.body.toString('latin1').endsWith(closeDelimiterOf(viewer))).toBe(true);
    // The part that ends the stream is whole (heartbeat bytes sent ahead were completed) and dimmed.
    const last = viewer.lastFrame!;
    expect(decodePng(last).width).toBe(200);
    expect(samePixels(last, expectedEndedFrame(1))).toBe(true);
    await eventually(() => counter.count === 0, 'count 0 after the stream ended');
  });

  test('each stream has its own clock: one opened later ends later', async () => {
    // Far apart (1.5 s), so that a busy machine's pauses do not blur which ends first.
    const { url, counter } = await startCounterApp({ maxStreamMs: 2000 });
    const early = await Viewer.open(url);
    const earlyOpened = Date.now();
    await sleep(1500);
    const late = await Viewer.open(url);
    const lateOpened = Date.now();
    await early.waitForEnd(10_000);
    const earlyLasted = Date.now() - earlyOpened;
    expect(late.ended).toBe(false);
    await eventually(() => counter.count === 1, 'the late stream still counted');
    await late.waitForEnd(10_000);
    expect(earlyLasted).toBeGreaterThanOrEqual(1950);
    expect(Date.now() - lateOpened).toBeGreaterThanOrEqual(1950);
    await eventually(() => counter.count === 0, 'count 0');
  });
});

test('a process that closes its counter and its server exits on its own: no timer, socket or listener keeps it alive', async () => {
  const fixture = path.join(__dirname, '..', 'fixtures', 'hostile-close-exit.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    cwd: path.join(__dirname, '..', '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exitCode = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  const events = Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { event: string; at: number } & Record<string, unknown>)
      .map((entry) => [entry.event, entry]),
  );
  expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: '' });
  expect(events.streaming.count).toBe(5);
  expect(events['counter-closed']).toMatchObject({ count: 0, storeTotal: 0, storeRoom: 0 });
  const closed = events['server-closed'] as unknown as {
    at: number;
    viewers: { kind: string; status: number; chunked: boolean; endsWithCloseDelimiter: boolean; lastPartIsPng: boolean }[];
    resources: string[];
    logged: string[];
  };
  expect(closed.viewers).toHaveLength(5);
  for (const viewer of closed.viewers) {
    expect(viewer).toMatchObject({ status: 200, endsWithCloseDelimiter: true, lastPartIsPng: true });
    // HTTP/1.0 has no chunked encoding: the stream is the raw multipart body.
    expect(viewer.chunked).toBe(viewer.kind !== 'http/1.0');
  }
  expect(closed.resources).not.toContain('Timeout');
  expect(closed.logged).toEqual([]);
  // Exits as soon as the server has closed: no timer left to run out first.
  expect(events.exit.at - closed.at).toBeLessThan(1000);
}, 30_000);
