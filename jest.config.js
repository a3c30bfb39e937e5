/** One server for the whole suite: test/support/globalSetup.ts starts it, globalTeardown stops it. */
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };

module.exports = {
  transform,
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/{unit,activities,replay}/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/{integration,e2e}/**/*.test.ts'],
      setupFiles: ['<rootDir>/test/support/setupRuntime.ts'],
      testTimeout: 120000,
    },
  ],
};
