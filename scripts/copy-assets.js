#!/usr/bin/env node
'use strict';
// Copies what tsc does not: node editor/help .html files, locales, and profile/seed data
// files, next to the compiled JavaScript in dist/. Icons stay at the package root (icons/),
// where Node-RED looks for them.
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const COPY = /\.(html|json|xsd|wsdl|txt|csv)$/;

function walk(rel) {
  const src = path.join(root, rel);
  if (!fs.existsSync(src)) return;
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const r = path.join(rel, entry.name);
    if (entry.isDirectory()) walk(r);
    else if (COPY.test(entry.name) && !entry.name.endsWith('tsconfig.json')) {
      const dst = path.join(dist, r);
      fs.mkdirSync(path.dirname(dst), { recursive: true });
      fs.copyFileSync(path.join(root, r), dst);
    }
  }
}

for (const dir of ['nodes', 'lib', 'simulator']) walk(dir);
