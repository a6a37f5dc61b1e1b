import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Program } from '../../support/browsers/programs.js';

/*
 * The five proxies the tests run, each from Debian's package: how one config file (a recipe
 * of docs/ or a minimal config of fixtures/) becomes a running instance on free loopback
 * ports, with everything it writes inside one temporary directory. The config is used as
 * written but for the places a test must own: its listening ports, its certificate, the app's
 * address (127.0.0.1:3000 in every config) and the program's own files (pid, logs, state).
 */

/** Where an instance listens and what it reaches. */
export interface Placement {
  /** A temporary directory for everything the program writes. */
  readonly dir: string;
  /** The address it listens on (127.0.0.1, or a test network's server address). */
  readonly host: string;
  /** The app behind it, for `127.0.0.1:3000` in the config. */
  readonly upstreamPort: number;
  /** The plain HTTP side (port 80 in the config). */
  readonly httpPort: number;
  /** The TLS side (port 443 in the config), when the config has one: HTTP/2 to browsers. */
  readonly httpsPort: number;
  readonly certificate: { readonly certPath: string; readonly keyPath: string };
  /** Runtime parameters beyond the config (Varnish's `-p name=value`), for the few tests that shorten a limit. */
  readonly parameters: Record<string, string>;
}

export interface Sides {
  readonly http: boolean;
  readonly https: boolean;
}

/** How to start the program: its arguments, environment and the files to write into `dir` first. */
export interface Launch {
  readonly args: string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly files: Record<string, string>;
}

export interface ProxyProgram {
  readonly program: Program;
  /** The version the program reports (`2.6.12`), for the messages. */
  version(binary: string): string;
  /** Which sides the config serves: plain HTTP (HTTP/1.1), TLS (HTTP/2 to browsers). */
  sides(config: string): Sides;
  /** The files and arguments that run `config` (named `file` in messages) at `placement`. */
  launch(config: string, file: string, placement: Placement): Launch;
}

/** Replace `pattern` in the config, or say that it no longer has what the test replaces. */
function substitute(file: string, config: string, pattern: RegExp, replacement: string | ((match: string, ...groups: string[]) => string), what: string): string {
  if (config.search(pattern) < 0) {
    throw new Error(`${file} no longer has ${what} (${pattern}); update __tests__/helpers/proxy-programs.ts to match it.`);
  }
  return config.replace(pattern, replacement as (match: string, ...groups: string[]) => string);
}

/** The app's address in every config. */
function upstream(file: string, config: string, port: number): string {
  return substitute(file, config, /127\.0\.0\.1:3000\b/g, `127.0.0.1:${port}`, 'the app at 127.0.0.1:3000');
}

/** What `binary args` prints (on either stream) matched by `pattern`. */
function reported(binary: string, args: string[], pattern: RegExp): string {
  const { stdout, stderr } = spawnSync(binary, args, { encoding: 'utf8' });
  return pattern.exec(`${stdout}${stderr}`)?.[1] ?? 'unknown';
}

const nginx: ProxyProgram = {
  program: { name: 'nginx', defaultPath: '/usr/sbin/nginx', debianPackage: 'nginx', envVar: 'NGINX_PATH' },
  version: (binary) => reported(binary, ['-v'], /nginx\/(\S+)/),
  // A location serves plain HTTP; docs/nginx-http2.conf is a whole TLS server.
  sides: (config) => ({ http: !/^\s*server\s*\{/m.test(config), https: /^\s*listen\s+443\b/m.test(config) }),
  launch(config, file, { dir, host, upstreamPort, httpPort, httpsPort, certificate }) {
    let site = upstream(file, config, upstreamPort);
    if (/^\s*server\s*\{/m.test(site)) {
      // A whole server (docs/nginx-http2.conf): its own listen line and certificate.
      site = substitute(file, site, /^(\s*listen\s+)443\b/m, (_, lead) => `${lead}${host}:${httpsPort}`, 'a `listen 443 …;` line');
      site = substitute(file, site, /^(\s*ssl_certificate\s+)\S+;/m, (_, lead) => `${lead}${certificate.certPath};`, 'an `ssl_certificate` line');
      site = substitute(file, site, /^(\s*ssl_certificate_key\s+)\S+;/m, (_, lead) => `${lead}${certificate.keyPath};`, 'an `ssl_certificate_key` line');
    } else {
      // Locations to put in a server (docs/nginx-location.conf).
      site = `server {\n    listen ${host}:${httpPort};\n${site}\n}`;
    }
    const conf = `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${site}
}
`;
    return { files: { 'nginx.conf': conf }, args: ['-p', `${dir}/`, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'] };
  },
};

const haproxy: ProxyProgram = {
  program: { name: 'HAProxy', defaultPath: '/usr/sbin/haproxy', debianPackage: 'haproxy', envVar: 'HAPROXY_PATH' },
  version: (binary) => reported(binary, ['-v'], /HAProxy version (\S+)/),
  sides: (config) => ({ http: /^\s*bind\s+:80\b/m.test(config), https: /^\s*bind\s+:443\b/m.test(config) }),
  launch(config, file, { dir, host, upstreamPort, httpPort, httpsPort, certificate }) {
    let conf = upstream(file, config, upstreamPort);
    conf = substitute(file, conf, /^(\s*bind\s+):80\b/m, (_, lead) => `${lead}${host}:${httpPort}`, 'a `bind :80` line');
    const pem = path.join(dir, 'site.pem');
    if (haproxy.sides(conf).https) {
      conf = substitute(file, conf, /^(\s*bind\s+):443(\s+ssl\s+crt\s+)\S+/m, (_, lead, crt) => `${lead}${host}:${httpsPort}${crt}${pem}`, 'a `bind :443 ssl crt …` line');
    }
    // HAProxy reads the certificate and its key from one file.
    const both = `${readFileSync(certificate.certPath, 'utf8')}${readFileSync(certificate.keyPath, 'utf8')}`;
    return { files: { 'haproxy.cfg': `global\n    pidfile ${dir}/haproxy.pid\n\n${conf}`, 'site.pem': both }, args: ['-db', '-f', path.join(dir, 'haproxy.cfg')] };
  },
};

/** Modules the test's httpd loads: Debian's defaults that matter here, and what the recipe's `a2enmod` line adds. */
const APACHE_MODULES = ['mpm_event', 'authz_core', 'setenvif', 'filter', 'deflate', 'reqtimeout', 'headers', 'proxy', 'proxy_http', 'ssl', 'http2'];

const apache: ProxyProgram = {
  program: { name: 'Apache httpd', defaultPath: '/usr/sbin/apache2', debianPackage: 'apache2', envVar: 'APACHE_PATH' },
  version: (binary) => reported(binary, ['-v'], /Apache\/(\S+)/),
  // Without a <VirtualHost>, the config is for the main server, on plain HTTP.
  sides: (config) => ({ http: /<VirtualHost\s+\*:80>/.test(config) || !/<VirtualHost\s/.test(config), https: /<VirtualHost\s+\*:443>/.test(config) }),
  launch(config, file, { dir, host, upstreamPort, httpPort, httpsPort, certificate }) {
    let site = upstream(file, config, upstreamPort);
    const hosts = /<VirtualHost\s/.test(site);
    if (hosts) site = substitute(file, site, /<VirtualHost\s+\*:80>/, `<VirtualHost *:${httpPort}>`, 'a `<VirtualHost *:80>`');
    const { https } = apache.sides(site);
    if (https) {
      site = substitute(file, site, /<VirtualHost\s+\*:443>/, `<VirtualHost *:${httpsPort}>`, 'a `<VirtualHost *:443>`');
      site = substitute(file, site, /^(\s*SSLCertificateFile\s+)\S+/m, (_, lead) => `${lead}${certificate.certPath}`, 'an `SSLCertificateFile` line');
      site = substitute(file, site, /^(\s*SSLCertificateKeyFile\s+)\S+/m, (_, lead) => `${lead}${certificate.keyPath}`, 'an `SSLCertificateKeyFile` line');
    }
    const listens = [httpPort, ...(https ? [httpsPort] : [])].map((port) => `Listen ${host}:${port}`);
    // Started as root, httpd runs its children as User; it refuses root itself.
    const user = process.getuid?.() === 0 ? 'User nobody\nGroup nogroup\n' : '';
    const conf = `ServerRoot ${dir}
ServerName localhost
PidFile ${dir}/httpd.pid
DefaultRuntimeDir ${dir}
ErrorLog ${dir}/error.log
LogLevel warn
${user}${APACHE_MODULES.map((name) => `LoadModule ${name}_module /usr/lib/apache2/modules/mod_${name}.so`).join('\n')}
${listens.join('\n')}
${hosts ? '' : '# The config is for the main server.\n'}Include ${dir}/site.conf
`;
    return { files: { 'httpd.conf': conf, 'site.conf': site }, args: ['-d', dir, '-f', path.join(dir, 'httpd.conf'), '-DFOREGROUND'] };
  },
};

const caddy: ProxyProgram = {
  program: { name: 'Caddy', defaultPath: '/usr/bin/caddy', debianPackage: 'caddy', envVar: 'CADDY_PATH' },
  version: (binary) => reported(binary, ['version'], /v?(\d+\.\d+\.\d+\S*)/),
  // A site address with no scheme gets automatic HTTPS (HTTP/2); the braced recipe runs on both.
  sides: (config) => ({ http: true, https: /^example\.com\s*\{/m.test(config) }),
  launch(config, file, { dir, host, upstreamPort, httpPort, httpsPort, certificate }) {
    const conf = upstream(file, config, upstreamPort);
    // One site (`example.com { … }`, or `example.com` and the rest of the file): its directives.
    const braced = /^example\.com\s*\{\n([\s\S]*)\n\}\s*$/m.exec(conf);
    const bare = /^example\.com[ \t]*\n([\s\S]*)$/m.exec(conf);
    const body = braced?.[1] ?? bare?.[1];
    if (body === undefined) throw new Error(`${file} has no site \`example.com\`; update __tests__/helpers/proxy-programs.ts to match it.`);
    const sites = [`http://${host}:${httpPort} {\n${body}\n}`];
    if (braced) sites.push(`https://${host}:${httpsPort} {\n\ttls ${certificate.certPath} ${certificate.keyPath}\n${body}\n}`);
    // The test's own: no admin endpoint (instances run side by side), state and logs in `dir`,
    // no redirect server on port 80, its own certificate instead of one from an ACME CA.
    const global = `{
\tadmin off
\tauto_https disable_redirects
\tskip_install_trust
\tstorage file_system ${dir}/data
\tlog {
\t\toutput file ${dir}/caddy.log
\t}
}`;
    return {
      files: { Caddyfile: `${global}\n\n${sites.join('\n\n')}\n` },
      args: ['run', '--config', path.join(dir, 'Caddyfile'), '--adapter', 'caddyfile'],
      env: { ...process.env, HOME: dir, XDG_DATA_HOME: `${dir}/data`, XDG_CONFIG_HOME: `${dir}/config` },
    };
  },
};

const varnish: ProxyProgram = {
  program: { name: 'Varnish', defaultPath: '/usr/sbin/varnishd', debianPackage: 'varnish', envVar: 'VARNISHD_PATH' },
  version: (binary) => reported(binary, ['-V'], /varnish-(\S+)/),
  // Varnish speaks no TLS: HTTP/2 to browsers needs a TLS proxy in front of it.
  sides: () => ({ http: true, https: false }),
  launch(config, file, { dir, host, upstreamPort, httpPort, parameters }) {
    const vcl = substitute(file, config, /(\.port\s*=\s*")3000(")/, (_, open, close) => `${open}${upstreamPort}${close}`, 'the app\'s `.port = "3000"`');
    const extra = Object.entries(parameters).flatMap(([name, value]) => ['-p', `${name}=${value}`]);
    return {
      files: { 'default.vcl': vcl },
      // -F: in the foreground; -T none: no management port; -n: its state in `dir`.
      args: ['-F', '-f', path.join(dir, 'default.vcl'), '-a', `${host}:${httpPort}`, '-n', path.join(dir, 'state'), '-s', 'malloc,32m', '-T', 'none', ...extra],
    };
  },
};

/** Every program, by the name the tests use. */
export const PROXY_PROGRAMS = { nginx, haproxy, apache, caddy, varnish } as const;
export type ProxyName = keyof typeof PROXY_PROGRAMS;
