// Two projects: fast unit tests beside the code (fakes only), and end-to-end tests
// against the real Synapse (tests/e2e), which share one homeserver started in globalSetup.
const tsJest = ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }];
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  // Our sources import siblings as './x.js' (NodeNext); map them back to the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': tsJest },
};
export default {
  // Global: jest ignores testTimeout inside a projects entry (the e2e setup sets its own, 60 s).
  // Unit tests wait for nothing real, but a loaded 2-core machine can stretch a test that runs
  // a few hundred SQLite writes or local HTTP round trips past jest's 5 s default.
  testTimeout: 30_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{src,bench,tools}/**/*.test.ts', '<rootDir>/tests/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/tests/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/tests/e2e/globalSetup.ts',
      globalTeardown: '<rootDir>/tests/e2e/globalTeardown.ts',
      setupFilesAfterEnv: ['<rootDir>/tests/e2e/setup.ts'],
    },
  ],
};
