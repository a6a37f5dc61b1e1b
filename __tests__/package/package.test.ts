import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { killAllConsumers, startConsumer } from '../helpers/consumer-project.js';
import { RECIPES } from '../helpers/proxies.js';
import { Viewer } from '../helpers/viewer.js';

// The published package, as users get it: `npm pack` once, then lint the tarball and install it
// into small consumer projects (project-setups/README.md) that mount the middleware; the test
// reads a frame and the count from each. Dependencies come from the npm cache when they are there.

const run = promisify(execFile);
const root = path.join(__dirname, '..', '..');
const setups = path.join(__dirname, 'project-setups');
let work: string;
let tarball: string;

jest.setTimeout(240_000);

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'express-user-counter-package-'));
  await run('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: root });
  tarball = path.join(work, readdirSync(work).find((name) => name.endsWith('.tgz'))!);
});

afterEach(killAllConsumers);
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function npm(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], { cwd });
  return stdout;
}

test('the tarball holds the build, the font with its licence, the proxy recipes, README and LICENSE, and nothing else', async () => {
  const { stdout } = await run('tar', ['-tzf', tarball]);
  const files = stdout.trim().split('\n').map((name) => name.replace(/^package\//, ''));
  const recipes = RECIPES.map((config) => config.file);
  expect(files).toEqual(expect.arrayContaining([
    'dist/index.js', 'dist/index.d.ts', 'dist/index.mjs', 'dist/index.d.mts',
    'fonts/Anton-Regular.ttf', 'fonts/OFL.txt', ...recipes, 'README.md', 'LICENSE', 'package.json',
  ]));
  const unexpected = files.filter((name) => !recipes.includes(name) && !/^(dist\/([\w-]+\/)?[\w.-]+\.(js|mjs|d\.ts|d\.mts)|fonts\/(Anton-Regular\.ttf|OFL\.txt)|README\.md|LICENSE|CHANGELOG\.md|package\.json)$/.test(name));
  expect(unexpected).toEqual([]);
});

test("every link of the README works where it is read: a file the tarball holds, or the repository's own file at its GitHub address", async () => {
  const { stdout } = await run('tar', ['-tzf', tarball]);
  const files = new Set(stdout.trim().split('\n').map((name) => name.replace(/^package\//, '')));
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map(([, link]) => link);
  const repository = /^https:\/\/(?:github\.com\/express-user-counter\/express-user-counter\/(?:blob|tree)\/main|raw\.githubusercontent\.com\/express-user-counter\/express-user-counter\/main)\/(.+)$/;
  const broken = links.filter((link) => {
    if (link.startsWith('#')) return false;
    const inRepository = repository.exec(link)?.[1];
    if (inRepository !== undefined) return !existsSync(path.join(root, inRepository));
    if (/^https?:\/\//.test(link)) return false;
    return !files.has(link.replace(/^\.\//, ''));
  });
  expect(links.length).toBeGreaterThan(5);
  expect(broken).toEqual([]);
});

test('publint finds nothing to fix', async () => {
  const { stdout } = await run(path.join(root, 'node_modules/.bin/publint'), ['run', '--strict', '--pack', 'npm'], { cwd: root });
  expect(stdout).not.toMatch(/Errors|Warnings|Suggestions/);
});

test('arethetypeswrong finds no problem for require, import and bundlers', async () => {
  // Exits non-zero on any problem, which fails the test with its report.
  await run(path.join(root, 'node_modules/.bin/attw'), [tarball, '--format', 'ascii']);
});

const TYPESCRIPT = ['@types/express@5', '@types/node@20', 'typescript'];

describe.each([
  { label: 'CommonJS (Express 5)', name: 'cjs', main: 'index.js', dependencies: ['express@5'] },
  { label: 'ES module (Express 4)', name: 'esm', main: 'index.mjs', dependencies: ['express@4'] },
  { label: 'TypeScript, module NodeNext (Express 5)', name: 'typescript', build: 'npx tsc -p .', main: 'out/index.js', dependencies: ['express@5', ...TYPESCRIPT] },
  {
    label: 'TypeScript compiled to CommonJS, with a CountStore of its own (Express 5)',
    name: 'typescript-commonjs',
    build: 'npx tsc -p .',
    main: 'out/index.js',
    dependencies: ['express@5', 'mitt@3', ...TYPESCRIPT],
  },
  { label: 'TypeScript, moduleResolution bundler (Express 5)', name: 'typescript-bundler', build: 'npx tsc -p .', main: 'out/index.js', dependencies: ['express@5', ...TYPESCRIPT] },
  { label: 'CommonJS app that both requires and imports the package (Express 5)', name: 'both-entries', main: 'index.js', dependencies: ['express@5'] },
])('a $label project', ({ name, build, main, dependencies }) => {
  test('installs the tarball, mounts the middleware, streams a frame, counts the viewer and exits once closed', async () => {
    const project = path.join(work, name);
    cpSync(path.join(setups, name), project, { recursive: true });
    await npm(project, ['install', tarball, ...dependencies]);
    if (build) await run('sh', ['-c', build], { cwd: project, timeout: 60_000 });
    const app = await startConsumer(project, main);
    const json = async (route: string): Promise<unknown> => (await fetch(`${app.url}${route}`)).json();
    const viewer = await Viewer.open(app.url);
    await viewer.waitForFrames(1);
    expect(viewer.frames[0].subarray(1, 4).toString()).toBe('PNG');
    expect(await json('/online.json')).toEqual({ count: 1 });
    if (name === 'typescript-commonjs') expect(await json('/store.json')).toEqual({ count: 1, calls: ['increment'] });
    if (name === 'both-entries') expect(app.output()).toMatch(/^one copy$/m);
    viewer.close();
    expect(await app.stop()).toEqual({ code: 0, signal: null });
  });
});
