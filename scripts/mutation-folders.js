'use strict';
// The lib/ folders under mutation testing, each with the test folders whose unit and property tests
// run against its mutants (jest.mutation.config.js, ROC_MUTATION_TESTS), and the folders held to the
// target score (issue 12: 85 % in lib/hl7, lib/store and lib/gap). Read by scripts/mutation.js and
// scripts/mutation-summary.js.
module.exports = {
  TESTS: {
    'lib/store': 'test/store',
    'lib/gap': 'test/gap',
    'lib/hl7': 'test/hl7,test/model',
    'lib/sel': 'test/sel',
    'lib/datamatrix': 'test/datamatrix',
    'lib/dossier': 'test/dossier',
    'lib/billing': 'test/billing',
  },
  TARGET: { score: 85, folders: ['lib/hl7', 'lib/store', 'lib/gap'] },
};
