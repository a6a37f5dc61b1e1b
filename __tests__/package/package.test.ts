import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

// The published package, as users get it: `npm pack`, then lint the tarball and install it into
// small consumer projects (CommonJS, ES module, TypeScript with module NodeNext) that mount the
// middleware and read one frame. Dependencies come from the npm cache when they are there.

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

afterAll(() => rmSync(work, { recursive: true, force: true }));

async function npm(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], { cwd });
  return stdout;
}

test('the tarball holds the build, the font with its licence, README and LICENSE, and nothing else', async () => {
  const { stdout } = await run('tar', ['-tzf', tarball]);
  const files = stdout.trim().split('\n').map((name) => name.replace(/^package\//, ''));
  expect(files).toEqual(expect.arrayContaining([
    'dist/index.js', 'dist/index.d.ts', 'dist/index.mjs', 'dist/index.d.mts',
    'fonts/Anton-Regular.ttf', 'fonts/OFL.txt', 'README.md', 'LICENSE', 'package.json',
  ]));
  const unexpected = files.filter((name) => !/^(dist\/[\w.-]+\.(js|mjs|d\.ts|d\.mts)|fonts\/(Anton-Regular\.ttf|OFL\.txt)|README\.md|LICENSE|CHANGELOG\.md|package\.json)$/.test(name));
  expect(unexpected).toEqual([]);
});

test('publint finds nothing to fix', async () => {
  const { stdout } = await run(path.join(root, 'node_modules/.bin/publint'), ['run', '--strict', '--pack', 'npm'], { cwd: root });
  expect(stdout).not.toMatch(/Errors|Warnings|Suggestions/);
});

test('arethetypeswrong finds no problem for require, import and bundlers', async () => {
  // Exits non-zero on any problem, which fails the test with its report.
  await run(path.join(root, 'node_modules/.bin/attw'), [tarball, '--format', 'ascii']);
});

describe.each([
  ['CommonJS (Express 5)', 'cjs', 'node index.js', ['express@5']],
  ['ES module (Express 4)', 'esm', 'node index.mjs', ['express@4']],
  ['TypeScript, module NodeNext (Express 5)', 'typescript', 'npx tsc -p . && node out/index.js', ['express@5', '@types/express@5', '@types/node@20', 'typescript']],
])('a %s project', (_label, name, command, dependencies) => {
  test('installs the tarball, mounts the middleware and reads one frame', async () => {
    const project = path.join(work, name);
    cpSync(path.join(setups, name), project, { recursive: true });
    await npm(project, ['install', tarball, ...dependencies]);
    const { stdout } = await run('sh', ['-c', command], { cwd: project, timeout: 60_000 });
    expect(stdout).toMatch(/^OK \d+ count=1$/m);
  });
});
