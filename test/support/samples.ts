import path from 'node:path';

/**
 * The public sample messages live in shared/samples beside the repository (../shared/samples from
 * its root), as on every developer machine and in CI. ROC_SAMPLES_DIR overrides it.
 */
export const SAMPLES = process.env.ROC_SAMPLES_DIR || path.resolve(__dirname, '..', '..', '..', 'shared', 'samples');
