#!/usr/bin/env node
'use strict';
// `npm run mutation [-- lib/hl7 lib/store]`: StrykerJS over the given lib/ folders (default: the
// folders listed in stryker.config.json), incremental (reports/stryker-incremental.json), then
// the per-folder scores into bench/results/mutation.json. Not part of npm test or CI.
const { execFileSync } = require('child_process');
const path = require('path');
const root = path.resolve(__dirname, '..');
const folders = process.argv.slice(2);
const args = ['run'];
if (folders.length)
  args.push('--mutate', folders.map((f) => `${f.replace(/\/$/, '')}/**/*.ts,!${f.replace(/\/$/, '')}/**/index.ts`).join(','));
execFileSync(process.execPath, [path.join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js'), ...args], {
  stdio: 'inherit',
  cwd: root,
});
require('./mutation-summary.js');
