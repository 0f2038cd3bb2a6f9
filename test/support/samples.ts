import path from 'node:path';

/**
 * The public sample messages (ANS, IHE France, libHprim), copied byte-for-byte into
 * test/fixtures/samples/ with their origins in SOURCES.md: the tests read them there and nowhere
 * else (no environment override: a user's clone has nothing beside the repository).
 */
export const SAMPLES = path.resolve(__dirname, '..', 'fixtures', 'samples');
