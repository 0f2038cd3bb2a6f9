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
const rel = (file) => path.relative(root, path.resolve(root, file)).split(path.sep).join('/');
for (const [file, result] of Object.entries(report.files)) {
  const folder = rel(file).split('/').slice(0, 2).join('/');
  const f = (folders[folder] ||= { killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 0, errors: 0, files: [], survivors: [] });
  f.files.push(rel(file));
  const lines = (result.source || '').split('\n');
  for (const m of result.mutants) {
    if (m.status === 'Killed') f.killed++;
    else if (m.status === 'Timeout') f.timeout++;
    else if (m.status === 'Ignored') f.ignored++;
    else if (m.status === 'Survived' || m.status === 'NoCoverage') {
      if (m.status === 'Survived') f.survived++;
      else f.noCoverage++;
      const { start, end } = m.location;
      const line = lines[start.line - 1] || '';
      const original = start.line === end.line ? line.slice(start.column - 1, end.column - 1) : line.slice(start.column - 1) + '…';
      f.survivors.push({
        file: rel(file),
        line: start.line,
        mutator: m.mutatorName,
        original: original.replace(/\s+/g, ' ').slice(0, 80),
        replacement: (m.replacement || '').replace(/\s+/g, ' ').slice(0, 80),
        ...(m.status === 'NoCoverage' ? { noCoverage: true } : {}),
      });
    } else f.errors++;
  }
}
// A source with no runtime code (type declarations only) has no mutant: Stryker writes no report
// for it, and it is not counted as missing.
const ts = require('typescript');
function declarationsOnly(file) {
  const js = ts.transpileModule(fs.readFileSync(path.join(root, file), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, removeComments: true },
  }).outputText;
  return js.replace('"use strict";', '').replace('Object.defineProperty(exports, "__esModule", { value: true });', '').trim() === '';
}
// The sources of each folder that have no report yet: its score is then partial.
function sources(dir) {
  if (!fs.existsSync(path.join(root, dir))) return [];
  return fs
    .readdirSync(path.join(root, dir), { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? sources(`${dir}/${e.name}`)
        : /\.ts$/.test(e.name) && !/\.d\.ts$/.test(e.name) && e.name !== 'index.ts'
          ? [`${dir}/${e.name}`]
          : [],
    );
}
const out = {
  date: new Date().toISOString(),
  tool:
    'StrykerJS ' + JSON.parse(fs.readFileSync(path.join(root, 'node_modules', '@stryker-mutator', 'core', 'package.json'), 'utf8')).version,
  score: 'killed + timeout over killed + timeout + survived + noCoverage (Stryker disable comments: ignored, not counted)',
  folders: {},
};
const { TESTS, TARGET } = require('./mutation-folders.js');
for (const folder of Object.keys(TESTS)) {
  folders[folder] ||= { killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 0, errors: 0, files: [], survivors: [] };
}
const resultFile = path.join(root, 'bench', 'results', 'mutation.json');
const table = ['| folder | mutants | killed | survived | no coverage | score | files measured |', '|---|---:|---:|---:|---:|---:|---|'];
for (const [folder, f] of Object.entries(folders).sort()) {
  const valid = f.killed + f.timeout + f.survived + f.noCoverage;
  const missing = sources(folder).filter((x) => !f.files.includes(x) && !declarationsOnly(x));
  out.folders[folder] = {
    score: valid ? Math.round(((f.killed + f.timeout) / valid) * 1000) / 10 : null,
    mutants: valid,
    killed: f.killed,
    timeout: f.timeout,
    survived: f.survived,
    noCoverage: f.noCoverage,
    ignored: f.ignored,
    ...(f.errors ? { errors: f.errors } : {}),
    complete: missing.length === 0,
    // The mutants marked equivalent in the source (`// Stryker disable next-line <mutators>: <reason>`).
    equivalents: sources(folder).flatMap((file) =>
      fs
        .readFileSync(path.join(root, file), 'utf8')
        .split('\n')
        .flatMap((l, i) => {
          const m = /\/\/ Stryker disable(?:-next-line|\s+next-line|-line)?\s+([\w,]+):\s*(.*)$/.exec(l);
          return m ? [{ file, line: i + 1, mutators: m[1], reason: m[2].trim() }] : [];
        }),
    ),
    ...(missing.length ? { notMeasuredYet: missing } : {}),
    survivors: f.survivors,
  };
  const o = out.folders[folder];
  table.push(
    valid
      ? `| \`${folder}\` | ${valid} | ${f.killed + f.timeout} | ${f.survived} | ${f.noCoverage} | ${o.score} % | ${missing.length ? `${f.files.length} of ${f.files.length + missing.length}` : 'all'} |`
      : `| \`${folder}\` | – | – | – | – | not measured yet | none of ${missing.length} |`,
  );
}
const below = TARGET.folders.filter((f) => !out.folders[f] || !out.folders[f].complete || !(out.folders[f].score >= TARGET.score));
out.target = { score: TARGET.score, folders: TARGET.folders, met: below.length === 0, ...(below.length ? { notMet: below } : {}) };
console.log(table.join('\n'));
console.log(
  out.target.met
    ? `target met: ${TARGET.score} % or more in ${TARGET.folders.join(', ')}, every file measured`
    : `target (${TARGET.score} % in ${TARGET.folders.join(', ')}, every file measured) not met in ${below.join(', ')}`,
);
fs.mkdirSync(path.dirname(resultFile), { recursive: true });
fs.writeFileSync(resultFile, JSON.stringify(out, null, 2) + '\n');
