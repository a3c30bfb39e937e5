/**
 * Three projects. `unit` (the pure core, activities against local servers, replay of recorded
 * histories) needs no Temporal server: its setup only bundles the workflow code. `integration`
 * (a real dev server, workers, the CLI end to end) starts one server for the whole suite.
 * `cluster` (npm run test:cluster, run in band; not part of npm test) starts the production-shaped
 * topology as processes: PostgreSQL, the Temporal server, two worker and two compute node processes.
 */
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };

module.exports = {
  transform,
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
  // fails the run when a test leaves a temporary directory behind (test/support/tempDirCheck.js)
  reporters: ['default', '<rootDir>/test/support/tempDirCheck.js'],
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
      setupFilesAfterEnv: ['<rootDir>/test/support/integrationTimeout.ts'],
    },
    {
      displayName: 'cluster',
      testEnvironment: 'node',
      transform,
      globalSetup: '<rootDir>/test/cluster/support/clusterSetup.ts',
      globalTeardown: '<rootDir>/test/cluster/support/clusterTeardown.ts',
      testMatch: ['<rootDir>/test/cluster/**/*.test.ts'],
      setupFiles: ['<rootDir>/test/support/setupRuntime.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/cluster/support/timeout.ts'],
    },
  ],
};
