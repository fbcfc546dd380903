// Native ESM (got is ESM-only): jest runs in its ESM mode and @swc/jest strips the types.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'es6' } },
    ],
  },
  // Source imports use the `.js` extensions that NodeNext requires; jest resolves them to the `.ts` files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/global-setup.mjs',
  globalTeardown: '<rootDir>/test/global-teardown.mjs',
  testSequencer: '<rootDir>/test/sequencer.mjs',
  reporters: ['default', '<rootDir>/test/log-reporter.mjs'],
  testTimeout: 120_000,
  // Four files at a time on two cores: most of a test is waiting on timers, the vendor's delays and child processes,
  // so two workers left the cores idle for most of the run (README, "Tests").
  maxWorkers: 4,
};
