import path from 'node:path';

/** The repository root: benchmarks run compiled from dist/bench/. */
export const ROOT = path.resolve(__dirname, '..', '..');
