import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually } from './counter-app.js';

/** A real nginx on a free loopback port, configured with the README's location block. */
export interface Nginx {
  readonly url: string;
  stop(): Promise<void>;
}

function findNginx(): string {
  for (const candidate of [process.env.NGINX_PATH, '/usr/sbin/nginx', '/usr/bin/nginx']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('nginx not found: apt-get install -y nginx (or set NGINX_PATH). The nginx recipe test needs it.');
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (connected) return;
    if (Date.now() > deadline) throw new Error(`nginx is not listening on ${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Start nginx proxying the documented location to `upstreamPort`. */
export async function startNginx(upstreamPort: number): Promise<Nginx> {
  const binary = findNginx();
  const prefix = mkdtempSync(path.join(tmpdir(), 'express-user-counter-nginx-'));
  const port = await freePort();
  const location = readFileSync(path.join(__dirname, '..', '..', 'docs', 'nginx-location.conf'), 'utf8')
    .replace('http://127.0.0.1:3000', `http://127.0.0.1:${upstreamPort}`);
  writeFileSync(
    path.join(prefix, 'nginx.conf'),
    `worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port};
    ${location}
  }
}
`,
  );
  const child: ChildProcess = spawn(binary, ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  await eventually(() => exited || existsSync(path.join(prefix, 'nginx.pid')), 'nginx to start', 10_000);
  if (exited) throw new Error(`nginx did not start: ${stderr}`);
  await waitForPort(port);
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        await eventually(() => exited, 'nginx to stop', 10_000);
      }
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
