import { spawn, spawnSync, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../support/free-port.js';
import { eventually, sleep } from './time.js';

/** A real nginx on a free loopback port, configured with one of the docs' recipes. */
export interface Nginx {
  /** `http://127.0.0.1:PORT`, or `https://…` for the HTTP/2 recipe. */
  readonly url: string;
  /** `nginx -v`'s version, such as `1.22.1`. */
  readonly version: string;
  stop(): Promise<void>;
}

const DOCS = path.join(__dirname, '..', '..', 'docs');

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

/** `nginx -v` prints to stderr: "nginx version: nginx/1.22.1". */
function nginxVersion(binary: string): string {
  const { stdout, stderr } = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  return /nginx\/(\S+)/.exec(`${stdout}${stderr}`)?.[1] ?? 'unknown';
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
    await sleep(50);
  }
}

/**
 * Run nginx with `server` (given the free port) as the only server of its `http { }`;
 * everything nginx writes stays in a temporary prefix, removed by `stop()`.
 */
async function runNginx(scheme: 'http' | 'https', server: (port: number) => string): Promise<Nginx> {
  const binary = findNginx();
  const version = nginxVersion(binary);
  const prefix = mkdtempSync(path.join(tmpdir(), 'express-user-counter-nginx-'));
  const port = await freePort();
  let block: string;
  try {
    block = server(port);
  } catch (error) {
    rmSync(prefix, { recursive: true, force: true });
    throw error;
  }
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
${block}
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
  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      await eventually(() => exited, 'nginx to stop', 10_000);
    }
    rmSync(prefix, { recursive: true, force: true });
  };
  try {
    await eventually(() => exited || existsSync(path.join(prefix, 'nginx.pid')), 'nginx to start', 10_000);
    if (exited) throw new Error(`nginx ${version} did not start: ${stderr}`);
    await waitForPort(port);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `${scheme}://127.0.0.1:${port}`, version, stop };
}

/** Start nginx proxying the documented location (docs/nginx-location.conf) to `upstreamPort`. */
export async function startNginx(upstreamPort: number): Promise<Nginx> {
  const location = readFileSync(path.join(DOCS, 'nginx-location.conf'), 'utf8')
    .replace('http://127.0.0.1:3000', `http://127.0.0.1:${upstreamPort}`);
  return runNginx('http', (port) => `  server {\n    listen 127.0.0.1:${port};\n    ${location}\n  }`);
}

/** Replace `pattern` in the recipe, or say that the recipe no longer has what the test replaces. */
function substitute(recipe: string, pattern: RegExp, replacement: (match: string, lead: string) => string, what: string): string {
  if (recipe.search(pattern) < 0) {
    throw new Error(`docs/nginx-http2.conf no longer has ${what} (${pattern}); update __tests__/helpers/nginx.ts to match the recipe.`);
  }
  return recipe.replace(pattern, replacement);
}

/**
 * Start nginx with the HTTP/2 recipe (docs/nginx-http2.conf), as written but for its
 * port (a free one on 127.0.0.1 instead of 443), its certificate and its app's address.
 */
export async function startNginxHttp2(upstreamPort: number, certificate: { certPath: string; keyPath: string }): Promise<Nginx> {
  const recipe = readFileSync(path.join(DOCS, 'nginx-http2.conf'), 'utf8');
  const listens = recipe.match(/^\s*listen\s/gm) ?? [];
  if (listens.length !== 1) {
    throw new Error(`docs/nginx-http2.conf has ${listens.length} \`listen\` lines; the test runs it with exactly one (443 → a free loopback port).`);
  }
  return runNginx('https', (port) => {
    let block = substitute(recipe, /^(\s*listen\s+)443\b/m, (_, lead) => `${lead}127.0.0.1:${port}`, 'a `listen 443 …;` line');
    block = substitute(block, /^(\s*ssl_certificate\s+)\S+;/m, (_, lead) => `${lead}${certificate.certPath};`, 'an `ssl_certificate` line');
    block = substitute(block, /^(\s*ssl_certificate_key\s+)\S+;/m, (_, lead) => `${lead}${certificate.keyPath};`, 'an `ssl_certificate_key` line');
    return substitute(block, /http:\/\/127\.0\.0\.1:3000\b/g, () => `http://127.0.0.1:${upstreamPort}`, 'the app at http://127.0.0.1:3000');
  });
}
