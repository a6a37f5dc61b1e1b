// npm run demo:cluster — two demo processes on PORT and PORT+1 sharing one count through Redis.
// Uses REDIS_URL when set; otherwise starts its own redis-server (no persistence) on a free port.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const port = Number(process.env.PORT ?? 9192);
const host = process.env.HOST ?? '0.0.0.0';
const children: ChildProcess[] = [];
let redisServer: ChildProcess | undefined;
let redisDir: string | undefined;

async function main(): Promise<void> {
  const redisUrl = process.env.REDIS_URL ?? (await startRedis());
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  for (const [name, instancePort] of [['a', port], ['b', port + 1]] as const) {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'server.ts')], {
      env: { ...process.env, PORT: String(instancePort), HOST: host, REDIS_URL: redisUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n').filter(Boolean)) console.log(`[${name}] ${line}`);
      });
    }
    child.once('exit', (code, signal) => {
      if (stopping) return;
      console.error(`[${name}] exited (${signal ?? code}); stopping the cluster demo.`);
      void stop(1);
    });
  }
  console.log(`express-user-counter cluster demo: two processes, one count (Redis at ${redisUrl}):
  http://${shownHost}:${port}/
  http://${shownHost}:${port + 1}/
Open one in each window; both images show the viewers of both. Ctrl+C stops everything.`);
}

async function startRedis(): Promise<string> {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.error('demo:cluster needs Redis: install redis-server (apt-get install redis-server, or brew install redis) or set REDIS_URL=redis://HOST:PORT.');
    process.exit(1);
  }
  const redisPort = await freePort();
  redisDir = mkdtempSync(join(tmpdir(), 'user-counter-demo-redis-'));
  redisServer = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redisDir], {
    stdio: 'ignore',
  });
  await waitForPing(redisPort);
  console.log(`Started redis-server on 127.0.0.1:${redisPort} (no persistence; stopped with the demo).`);
  return `redis://127.0.0.1:${redisPort}`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as net.AddressInfo;
      server.close(() => resolve(free));
    });
  });
}

async function waitForPing(redisPort: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const answered = await new Promise<boolean>((resolve) => {
      const socket = net.connect(redisPort, '127.0.0.1');
      socket.setTimeout(500, () => socket.destroy());
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
      socket.on('error', () => resolve(false));
      socket.on('close', () => resolve(false));
    });
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`redis-server on port ${redisPort} did not answer PING`);
}

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  // SIGTERM: each instance closes its streams and retracts its count before exiting.
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  redisServer?.kill('SIGTERM');
  if (redisDir) rmSync(redisDir, { recursive: true, force: true });
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop(0));
main().catch((error: unknown) => {
  console.error(error);
  void stop(1);
});
