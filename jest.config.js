/** @type {import('jest').Config} */
const base = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'] },
  // The multipart parser used by the tests ships ES modules only.
  transformIgnorePatterns: ['/node_modules/(?!(@remix-run)/)'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  // One afterEach closes whatever a test left open (viewers, raw connections, browsers, apps).
  setupFilesAfterEnv: ['<rootDir>/__tests__/helpers/cleanup.ts'],
};

// Tests live in folders by kind (__tests__/README.md). Behaviour over HTTP (`http/`) runs again
// against Express 4 (an npm alias), so both majors stay supported.

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30000,
  // Two files at a time: the suite mostly waits (browsers, proxies, the 3-minute proxy lifetime,
  // timers), so a second worker halves the wall time on CI's two cores. Jest's default is one
  // worker fewer than the cores, one here.
  maxWorkers: 2,
  // Files that mostly wait start first (__tests__/sequencer.js).
  testSequencer: '<rootDir>/__tests__/sequencer.js',
  projects: [
    { ...base, displayName: 'express 5', testMatch: ['**/*.test.ts'] },
    {
      ...base,
      displayName: 'express 4',
      testMatch: ['<rootDir>/__tests__/http/**/*.test.ts'],
      moduleNameMapper: { ...base.moduleNameMapper, '^express$': 'express4' },
    },
  ],
};
