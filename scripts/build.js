#!/usr/bin/env node
'use strict';
// Incremental build: tsc (with .tsbuildinfo) then the asset copy. Used by `npm start` and the
// tests so both always run what the sources say.
const { execFileSync } = require('child_process');
const path = require('path');
const root = path.resolve(__dirname, '..');
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
try {
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
} catch {
  console.error('ROC Bridge: the TypeScript build failed (see the errors above).');
  process.exit(2);
}
require('./copy-assets.js');
