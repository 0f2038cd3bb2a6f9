#!/usr/bin/env node
'use strict';
// Reads the complete Stryker report of each mutated source file (bench/mutation/lib/**.json, the
// incremental files scripts/mutation.js keeps; those of deleted sources are skipped) and writes
// the mutation score per lib/ folder to bench/results/mutation.json: killed + timeout over all
// valid mutants (Stryker's "mutation score"), with the surviving and uncovered mutants of each
// folder listed (file, line, mutator).
const fs = require('fs');
const path = require('path');
const root = path.resolve(__dirname, '..');
const files = {};
(function walk(dir) {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) walk(full);
    else if (e.name.endsWith('.json')) {
      for (const [file, result] of Object.entries(JSON.parse(fs.readFileSync(full, 'utf8')).files)) {
        if (fs.existsSync(path.resolve(root, file))) files[file] = result;
      }
    }
  }
})(path.join(root, 'bench', 'mutation', 'lib'));
const report = { files };
const folders = {};
for (const [file, result] of Object.entries(report.files)) {
  const folder = path.relative(root, path.resolve(root, file)).split(path.sep).slice(0, 2).join('/');
  const f = (folders[folder] ||= { killed: 0, timeout: 0, survived: 0, noCoverage: 0, errors: 0, survivors: [] });
  for (const m of result.mutants) {
    if (m.status === 'Killed') f.killed++;
    else if (m.status === 'Timeout') f.timeout++;
    else if (m.status === 'Survived') {
      f.survived++;
      f.survivors.push({
        file: path.relative(root, path.resolve(root, file)),
        line: m.location.start.line,
        mutator: m.mutatorName,
        replacement: (m.replacement || '').slice(0, 80),
      });
    } else if (m.status === 'NoCoverage') {
      f.noCoverage++;
      f.survivors.push({
        file: path.relative(root, path.resolve(root, file)),
        line: m.location.start.line,
        mutator: m.mutatorName,
        replacement: (m.replacement || '').slice(0, 80),
        noCoverage: true,
      });
    } else f.errors++;
  }
}
const out = {
  date: new Date().toISOString(),
  tool:
    'StrykerJS ' + JSON.parse(fs.readFileSync(path.join(root, 'node_modules', '@stryker-mutator', 'core', 'package.json'), 'utf8')).version,
  folders: {},
};
const previousFile = path.join(root, 'bench', 'results', 'mutation.json');
for (const [folder, f] of Object.entries(folders).sort()) {
  const valid = f.killed + f.timeout + f.survived + f.noCoverage;
  out.folders[folder] = {
    score: valid ? Math.round(((f.killed + f.timeout) / valid) * 1000) / 10 : null,
    killed: f.killed,
    timeout: f.timeout,
    survived: f.survived,
    noCoverage: f.noCoverage,
    survivors: f.survivors,
  };
  console.log(`${folder.padEnd(18)} ${String(out.folders[folder].score).padStart(5)} %  (${f.killed + f.timeout} killed of ${valid})`);
}
fs.mkdirSync(path.dirname(previousFile), { recursive: true });
fs.writeFileSync(previousFile, JSON.stringify(out, null, 2) + '\n');
