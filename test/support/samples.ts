import path from 'node:path';

/**
 * The public sample messages (ANS, IHE France, libHprim), copied byte-for-byte into
 * test/fixtures/samples/ with their origins in SOURCES.md, so the tests need nothing outside the
 * repository. ROC_SAMPLES_DIR overrides it (e.g. to run the tests against a newer set).
 */
export const SAMPLES = process.env.ROC_SAMPLES_DIR || path.resolve(__dirname, '..', 'fixtures', 'samples');
