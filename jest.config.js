/** @type {import('jest').Config} */
const base = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'] },
  // The multipart parser used by the tests ships ES modules only.
  transformIgnorePatterns: ['/node_modules/(?!(@remix-run)/)'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

// The suite's core, run again against Express 4 (an npm alias) so both majors stay supported.
const CORE = ['smoke', 'framing', 'frames', 'counts', 'routing', 'hotlink', 'compression', 'events', 'hostile-caps'];

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30000,
  projects: [
    { ...base, displayName: 'express 5', testMatch: ['**/*.test.ts'] },
    {
      ...base,
      displayName: 'express 4',
      testMatch: CORE.map((name) => `**/__tests__/${name}.test.ts`),
      moduleNameMapper: { ...base.moduleNameMapper, '^express$': 'express4' },
    },
  ],
};
