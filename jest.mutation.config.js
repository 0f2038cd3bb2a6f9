/**
 * Jest configuration for mutation testing only (stryker.config.json, `npm run mutation`): the unit
 * and property tests of the mutated folders, nothing else. Stryker runs, for each mutant, the test
 * files related to the mutated file (jest --findRelatedTests) filtered to the tests that cover it;
 * every related file is loaded even when none of its tests runs. With the whole suite as roots,
 * the Node-RED node tests and end-to-end tests (Node-RED helper start-up, servers, compiled
 * children) were loaded for every mutant: about 9 s a mutant on lib/store. Left out here:
 * - the node, end-to-end, simulator and ops tests (they exercise lib/ through dist/ or Node-RED);
 * - the crash tests whose children run the compiled dist/ (a mutant in lib/ never reaches them):
 *   test/store/*-kill, test/store/durability;
 * - test/gap/mllp-hostile (slow peers on real sockets, its cases are covered by mllp-fuzz).
 * @type {import('jest').Config}
 */
const base = require('./jest.config.js');
// ROC_MUTATION_TESTS (set by scripts/mutation.js per mutated folder): the test folders whose tests
// may kill its mutants, e.g. "test/hl7,test/model" for lib/hl7.
const folders = (process.env.ROC_MUTATION_TESTS || 'test/hl7,test/store,test/gap,test/model,test/sel,test/datamatrix')
  .split(',')
  .map((f) => f.trim().replace(/\/$/, ''))
  .filter(Boolean);
module.exports = {
  ...base,
  // lib/ in the roots: --findRelatedTests follows imports only through files jest has mapped (a
  // file of lib/store/sqlite/ reaches the tests through lib/store/sqlite.ts).
  roots: ['<rootDir>/test', '<rootDir>/lib'],
  testMatch: folders.map((f) => `<rootDir>/${f}/**/*.test.ts`),
  // A mutant that makes a test hang (a batch never flushed, a promise never settled) fails at this
  // timeout instead of Stryker's (2 × the covering tests' time + 4 s + the start-up overhead, then
  // a restart of the worker): the slowest unit test here takes 2.4 s.
  testTimeout: 6000,
  testPathIgnorePatterns: [
    '/node_modules/',
    '/test/store/[a-z]+-kill\\.test\\.ts$',
    '/test/store/durability\\.test\\.ts$',
    '/test/gap/mllp-hostile',
  ],
  globalSetup: undefined,
};
