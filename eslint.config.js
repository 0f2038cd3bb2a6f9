// @ts-check
const eslint = require('@eslint/js');
const tseslint = require('typescript-eslint');

// lib/ is pure TypeScript: no Node-RED, no adapter, no simulator or benchmark code. A file matched by
// two blocks takes the last block's rule whole, so the narrower blocks repeat these patterns.
const LIB_FORBIDDEN = {
  group: ['node-red', '@node-red/*', '../nodes/*', '../../nodes/*', '../simulator/*', '../../simulator/*', '../bench/*', '../../bench/*'],
  message: 'lib/ is pure TypeScript: no Node-RED, nodes/, simulator/ or bench/ import.',
};

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.node-red/**', '.roc-dev/**', 'bench/results/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', process: 'readonly', console: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [LIB_FORBIDDEN] }],
    },
  },
  {
    // HL7 and HPRIM are siblings: the admission model, dates and charsets they share live in lib/model.
    files: ['lib/hprim/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            LIB_FORBIDDEN,
            {
              group: ['../hl7', '../hl7/*'],
              message: 'lib/hprim does not import lib/hl7: shared pieces live in lib/model (admission, dates, charset).',
            },
          ],
        },
      ],
    },
  },
  {
    // lib/model is the bottom layer: the formats and services depend on it, never the reverse.
    files: ['lib/model/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            LIB_FORBIDDEN,
            {
              group: ['../*', '!../model', '!../model/*', '!../util', '!../util/*'],
              message: 'lib/model imports only lib/model and lib/util.',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests poke at JSON answers and Node-RED internals: `any` is the honest type there.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
