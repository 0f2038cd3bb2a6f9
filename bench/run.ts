/**
 * `npm run bench [-- name…]`: runs the benchmarks (all by default) one after the other, each in
 * its own process so they do not disturb each other, and prints where the JSON results went.
 * Benchmarks are measurements, never tests: run them on a quiet machine.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const BENCHES: Record<string, string> = {
  'online-chain': 'online-chain.js',
  'hl7-parse': 'hl7-parse.js',
  desk: 'desk.js',
  journal: 'journal.js',
  'mllp-ingest': 'mllp-ingest.js',
  billing: 'billing.js',
  dossiers: 'dossiers.js',
  ops: 'ops.js',
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : Object.keys(BENCHES);
let failed = 0;
for (const name of names) {
  const file = BENCHES[name];
  if (!file) {
    console.error(`unknown benchmark ${name} (known: ${Object.keys(BENCHES).join(', ')})`);
    failed++;
    continue;
  }
  console.log(`== ${name}`);
  const r = spawnSync(process.execPath, [path.join(__dirname, file)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
  console.log(`   → bench/results/${name}.json`);
}
process.exit(failed ? 1 : 0);
