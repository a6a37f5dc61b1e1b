import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Options } from '../../lib/index.js';
import { freePorts } from '../../support/free-port.js';
import { programPath } from '../../support/browsers/programs.js';
import { closeAfterEachTest } from './cleanup.js';
import { startCounterApp } from './counter-app.js';
import type { CounterApp, StartOptions } from './counter-app.js';
import { PROXY_PROGRAMS } from './proxy-programs.js';
import type { ProxyName } from './proxy-programs.js';
import { eventually, sleep } from './time.js';
import { makeSelfSignedCertificate } from './tls-certificate.js';

export type { ProxyName } from './proxy-programs.js';

/*
 * A proxy under test: a real program from Debian's packages, run with one config file in
 * front of a test app, on free loopback ports, in its own temporary directory and process
 * group. Every proxy a test started is stopped after it (helpers/cleanup.ts), before the apps.
 */

/** One config of one program: a recipe of docs/, or what a user writes first (fixtures/). */
export interface ProxyConfig {
  readonly program: ProxyName;
  /** The file, from the repository's root. */
  readonly file: string;
}

const ROOT = path.join(__dirname, '..', '..');

/** The recipes the README gives, each shipped in the package. */
export const RECIPES: readonly ProxyConfig[] = [
  { program: 'nginx', file: 'docs/nginx-location.conf' },
  { program: 'nginx', file: 'docs/nginx-http2.conf' },
  { program: 'haproxy', file: 'docs/haproxy.cfg' },
  { program: 'apache', file: 'docs/apache-site.conf' },
  { program: 'caddy', file: 'docs/Caddyfile' },
  { program: 'varnish', file: 'docs/varnish.vcl' },
];

/** The minimal reverse proxy each program's own documentation shows (README, Deploying). */
export const MINIMAL_CONFIGS: readonly ProxyConfig[] = [
  { program: 'nginx', file: '__tests__/fixtures/minimal-configs/nginx.conf' },
  { program: 'haproxy', file: '__tests__/fixtures/minimal-configs/haproxy.cfg' },
  { program: 'apache', file: '__tests__/fixtures/minimal-configs/apache.conf' },
  { program: 'caddy', file: '__tests__/fixtures/minimal-configs/Caddyfile' },
  { program: 'varnish', file: '__tests__/fixtures/minimal-configs/default.vcl' },
];

/** The side of a proxy a browser talks to. */
export type Side = 'http/1.1' | 'h2';

/** A running proxy. */
export interface Proxy {
  readonly config: ProxyConfig;
  /** `HAProxy 2.6.12 (docs/haproxy.cfg)`, for messages. */
  readonly label: string;
  /** Its plain HTTP side (`http://127.0.0.1:PORT`, or its host), where the config has one. */
  readonly http: string | undefined;
  /** Its TLS side (`https://127.0.0.1:PORT`, HTTP/2 to browsers), where the config has one. */
  readonly https: string | undefined;
  /** The URL of `side`; throws if the config has no such side. */
  url(side: Side): string;
  /** What the program printed and logged, for messages. */
  output(): string;
  stop(): Promise<void>;
}

/** The sides `config` serves: `http/1.1` on its plain port, `h2` on its TLS one. */
export function sidesOf(config: ProxyConfig): Side[] {
  const { http, https } = PROXY_PROGRAMS[config.program].sides(configText(config));
  return [...(http ? (['http/1.1'] as const) : []), ...(https ? (['h2'] as const) : [])];
}

export function configText(config: ProxyConfig): string {
  return readFileSync(path.join(ROOT, config.file), 'utf8');
}

/**
 * The app options a recipe asks for on its `# In the app:` line (`userCounterMiddleware({ keepAliveMs: 400 })`),
 * so that the test runs the app as the recipe says to.
 */
export function appOptionsOf(config: ProxyConfig): Options {
  const line = /^#\s*In the app:.*$/m.exec(configText(config))?.[0] ?? '';
  const asked = /userCounterMiddleware\(\{([^}]*)\}\)/.exec(line)?.[1] ?? '';
  return Object.fromEntries([...asked.matchAll(/(\w+):\s*(\d+)/g)].map(([, name, value]) => [name, Number(value)]));
}

const running = new Set<Proxy>();
const groups = new Set<number>();
process.once('exit', () => {
  for (const pid of groups) signalGroup(pid, 'SIGKILL');
});

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The whole group has exited.
  }
}

async function waitForPort(host: string, port: number, exited: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!exited()) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, host);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (connected) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
    await sleep(30);
  }
}

/**
 * Run `config` in front of the app on `upstreamPort`; resolves once it listens on every side.
 * `parameters` are the program's runtime parameters beyond the config (Varnish's `-p`); `host`
 * the address it listens on (a test network's server address; default 127.0.0.1).
 */
export async function startProxy(
  config: ProxyConfig,
  upstreamPort: number,
  { parameters = {}, host = '127.0.0.1' }: { parameters?: Record<string, string>; host?: string } = {},
): Promise<Proxy> {
  const program = PROXY_PROGRAMS[config.program];
  const binary = programPath(program.program);
  const label = `${program.program.name} ${program.version(binary)} (${config.file})`;
  const text = configText(config);
  const sides = program.sides(text);
  const dir = mkdtempSync(path.join(tmpdir(), `express-user-counter-${config.program}-`));
  // Readable by the user a program started as root drops to (Varnish reads its VCL as that user).
  chmodSync(dir, 0o755);
  const certificate = makeSelfSignedCertificate();
  const [httpPort, httpsPort] = await freePorts(2);
  const remove = (): void => {
    certificate.remove();
    rmSync(dir, { recursive: true, force: true });
  };
  let child: ChildProcess;
  try {
    const launch = program.launch(text, config.file, { dir, host, upstreamPort, httpPort, httpsPort, certificate, parameters });
    for (const [name, content] of Object.entries(launch.files)) writeFileSync(path.join(dir, name), content);
    // Its own process group, so that stopping it reaches every process it forks.
    child = spawn(binary, launch.args, { cwd: dir, env: launch.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  } catch (error) {
    remove();
    throw error;
  }
  groups.add(child.pid!);
  let printed = '';
  const keep = (chunk: Buffer): void => {
    printed = (printed + chunk.toString()).slice(-8192);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = false;
  child.once('exit', () => (exited = true));
  const output = (): string => {
    const logs = existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.log')) : [];
    return [printed, ...logs.map((name) => `${name}:\n${readFileSync(path.join(dir, name), 'utf8').slice(-4096)}`)].join('\n');
  };
  const stop = async (): Promise<void> => {
    running.delete(proxy);
    if (!exited) {
      signalGroup(child.pid!, 'SIGTERM');
      await eventually(() => exited, `${label} to stop`, 10_000).catch(() => signalGroup(child.pid!, 'SIGKILL'));
    }
    // Anything it forked that is still there.
    signalGroup(child.pid!, 'SIGKILL');
    groups.delete(child.pid!);
    remove();
  };
  const http = sides.http ? `http://${host}:${httpPort}` : undefined;
  const https = sides.https ? `https://${host}:${httpsPort}` : undefined;
  const proxy: Proxy = {
    config,
    label,
    http,
    https,
    url(side) {
      const url = side === 'h2' ? https : http;
      if (!url) throw new Error(`${config.file} has no ${side} side.`);
      return url;
    },
    output,
    stop,
  };
  running.add(proxy);
  try {
    for (const port of [...(http ? [httpPort] : []), ...(https ? [httpsPort] : [])]) await waitForPort(host, port, () => exited);
    if (exited) throw new Error('it exited');
  } catch (error) {
    const why = `${label} did not start: ${(error as Error).message}. It printed:\n${output()}`;
    await stop();
    throw new Error(why);
  }
  return proxy;
}

/** Stop every proxy a test left running (helpers/cleanup.ts, after each test, before the apps). */
export async function stopAllProxies(): Promise<void> {
  await Promise.all([...running].map((proxy) => proxy.stop()));
}
closeAfterEachTest(stopAllProxies);

/** A page of the site, long enough for every proxy's compression (Caddy's and Traefik's need 512 and 1024 bytes). */
export const SITE_PAGE = '/page';
const PAGE_HTML = `<!doctype html><title>A page</title>\n${'<p>The rest of the site, which the proxy may compress.</p>\n'.repeat(40)}`;

/** An app (as the recipe says to set it up: `trust proxy` 1 and the options its comment names) behind `config`. */
export async function startBehind(
  config: ProxyConfig,
  options: Options = {},
  { parameters, before, after }: { parameters?: Record<string, string> } & StartOptions = {},
): Promise<{ app: CounterApp; proxy: Proxy }> {
  const app = await startCounterApp(
    { ...appOptionsOf(config), ...options },
    {
      before: (express) => {
        express.set('trust proxy', 1);
        before?.(express);
      },
      after: (express) => {
        express.get(SITE_PAGE, (_req, res) => res.type('html').send(PAGE_HTML));
        after?.(express);
      },
    },
  );
  const proxy = await startProxy(config, (app.server.address() as AddressInfo).port, { parameters });
  return { app, proxy };
}
