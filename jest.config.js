/**
 * Two projects. `unit` (the pure core, activities against local servers, replay of recorded
 * histories) needs no Temporal server: its setup only bundles the workflow code. `integration`
 * (a real dev server, workers, the CLI end to end) starts one server for the whole suite.
 */
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };

module.exports = {
  transform,
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      globalSetup: '<rootDir>/test/support/bundleSetup.ts',
      testMatch: ['<rootDir>/test/{unit,activities,replay}/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      globalSetup: '<rootDir>/test/support/globalSetup.ts',
      testMatch: ['<rootDir>/test/{integration,e2e}/**/*.test.ts'],
      setupFiles: ['<rootDir>/test/support/setupRuntime.ts'],
      testTimeout: 120000,
    },
  ],
};
