#!/usr/bin/env node
'use strict';
// `npm run mutation [-- lib/hl7 lib/store/journal.ts …]`: StrykerJS over the given lib/ folders or
// files (default: every folder in TESTS), one Stryker run per source file, then the per-folder
// scores into bench/results/mutation.json (scripts/mutation-summary.js). Not part of npm test or CI.
//
// Each source file keeps its own incremental file, bench/mutation/<source path>.json (tracked in
// git): Stryker re-tests only the mutants whose code or covering tests changed, copies the other
// results, and writes the complete report of the file back, from which the summary is computed.
// One run per file, not per folder, so that a run stopped halfway (Ctrl-C, end of a session) keeps
// the files already done: Stryker writes its incremental file only when a run ends.
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const root = path.resolve(__dirname, '..');
const { TESTS } = require('./mutation-folders.js');

function sources(dir) {
  return fs
    .readdirSync(path.join(root, dir), { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) =>
      e.isDirectory()
        ? sources(`${dir}/${e.name}`)
        : /\.ts$/.test(e.name) && !/\.d\.ts$/.test(e.name) && e.name !== 'index.ts'
          ? [`${dir}/${e.name}`]
          : [],
    );
}

/**
 * The tracked incremental file without what the next run does not need: the killing test's
 * failure text (stack traces with this machine's paths: half the bytes). Status, killers and
 * coverage stay, so the next run reuses every result.
 */
function compact(file) {
  if (!fs.existsSync(file)) return;
  const report = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const f of Object.values(report.files || {})) for (const m of f.mutants) delete m.statusReason;
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
}

const args = process.argv.slice(2).map((f) => f.replace(/\/$/, ''));
const targets = (args.length ? args : Object.keys(TESTS)).flatMap((t) => (/\.ts$/.test(t) ? [t] : sources(t)));
const failed = [];
for (const file of targets) {
  const folder = file.split('/').slice(0, 2).join('/');
  if (!TESTS[folder]) throw new Error(`${file}: no test folders listed for ${folder} in scripts/mutation.js`);
  const started = Date.now();
  try {
    execFileSync(
      process.execPath,
      [
        path.join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js'),
        'run',
        '--mutate',
        file,
        '--incrementalFile',
        `bench/mutation/${file.replace(/\.ts$/, '.json')}`,
        // ROC_MUTATION_CONCURRENCY=1 when another run shares the two cores.
        ...(process.env.ROC_MUTATION_CONCURRENCY ? ['--concurrency', process.env.ROC_MUTATION_CONCURRENCY] : []),
      ],
      { stdio: 'inherit', cwd: root, env: { ...process.env, ROC_MUTATION_TESTS: TESTS[folder] } },
    );
  } catch (e) {
    if (e.signal === 'SIGINT' || e.signal === 'SIGTERM') process.exit(1);
    failed.push(file);
  }
  compact(path.join(root, 'bench', 'mutation', file.replace(/\.ts$/, '.json')));
  console.log(`mutation: ${file} done in ${Math.round((Date.now() - started) / 1000)} s`);
}
require('./mutation-summary.js');
if (failed.length) {
  console.error(`mutation: Stryker failed on ${failed.join(', ')} (see above)`);
  process.exitCode = 1;
}
