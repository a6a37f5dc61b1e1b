import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as api from '../../lib/index.js';
import { ERROR_CODES, WARNING_CODES } from '../../lib/types/codes.js';

// The two entries and the README agree on the package's names. lib/index.mts lists the CommonJS
// build's runtime names by hand (it re-exports them), so a name added to one must reach the other.

const root = path.join(__dirname, '..', '..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const runtimeNames = Object.keys(api).filter((name) => name !== '__esModule').sort();

/** The names lib/index.mts re-exports from the CommonJS entry. */
function moduleEntryNames(): string[] {
  const source = readFileSync(path.join(root, 'lib', 'index.mts'), 'utf8');
  const list = /export\s*\{([^}]*)\}\s*from\s*'\.\/index\.js'/.exec(source)?.[1] ?? '';
  return list.split(',').map((name) => name.trim()).filter(Boolean).sort();
}

/** The public types, as lib/types/index.ts lists them. */
function typeNames(): string[] {
  const source = readFileSync(path.join(root, 'lib', 'types', 'index.ts'), 'utf8');
  return [...source.matchAll(/export type \{([^}]*)\}/g)].flatMap((match) => match[1].split(',').map((name) => name.trim())).filter(Boolean);
}

test('the ES module entry exports the same runtime names as the CommonJS entry', () => {
  expect(runtimeNames.length).toBeGreaterThan(0);
  expect(moduleEntryNames()).toEqual(runtimeNames);
});

test('the ES module entry re-exports every type of the CommonJS entry', () => {
  expect(readFileSync(path.join(root, 'lib', 'index.mts'), 'utf8')).toMatch(/^export type \* from '\.\/index\.js';$/m);
});

test('every class, function and type the README imports or names is exported', () => {
  const imported = [...readme.matchAll(/\{([^}]*)\}\s*=\s*require\('express-user-counter'\)|import\s*\{([^}]*)\}\s*from\s*'express-user-counter'/g)].flatMap(
    // `import { x, type Y }`: the names, without `type`.
    (match) => (match[1] ?? match[2]).split(',').map((name) => name.trim().replace(/^type\s+/, '')),
  );
  // The stores, the error and its code, the factory (`TypeError` and other globals aside).
  const named = [...readme.matchAll(/`(?:new )?([A-Z]\w*(?:Store|Error|Code)|\w+Middleware)\b/g)]
    .map((match) => match[1])
    .filter((name) => !(name in globalThis));
  const documented = [...new Set([...imported, ...named])];
  expect(documented).toEqual(expect.arrayContaining(['userCounterMiddleware', 'RedisCountStore', 'MemoryCountStore', 'OptionsError', 'ErrorCode', 'WarningCode']));
  const exported = [...runtimeNames, ...typeNames()];
  expect(typeNames()).toEqual(expect.arrayContaining(['Options', 'CountStore', 'CounterStats', 'WarningCode', 'ErrorCode']));
  expect(documented.filter((name) => !exported.includes(name))).toEqual([]);
});

test('the README lists every error and warning code, and no other', () => {
  const listed = [...new Set([...readme.matchAll(/\b(?:ERR|WRN)_USER_COUNTER_[A-Z_]+/g)].map(([code]) => code))].sort();
  expect(listed).toEqual([...ERROR_CODES, ...WARNING_CODES].sort());
});
