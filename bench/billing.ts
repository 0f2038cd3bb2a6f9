/**
 * Billing benchmark: encoding 100,000 invoices as one DRE-ES file, and reading an RSP of
 * 100,000 returns then reconciling them against the invoices (and summarising per AMC and day).
 * Writes bench/results/billing.json. Run after the build: `node dist/bench/billing.js`.
 *
 * Encode only for now: zlib compression and S/MIME encryption come with the transport (next
 * step of issue 10), and the 2 s target covers encode + compress + encrypt.
 */
import { mkdirSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeDreEs } from '../lib/billing/dre-es';
import { billedInvoices, reconcile, summarise } from '../lib/billing/reconcile';
import { readRsp, writeRsp } from '../lib/billing/rsp';
import { sampleFile, sampleInvoices, sampleReturns } from '../lib/billing/sample';
import { ROOT } from './common';

const N = 100_000;
const ROUNDS = 5;
const round = (x: number, d = 3) => Number(x.toFixed(d));
const loadavg = () => os.loadavg().map((x) => round(x, 2));

function time(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function stats(name: string, secs: number[], extra: Record<string, unknown>) {
  const sorted = [...secs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return {
    name,
    rounds: secs.map((s) => round(s)),
    bestSeconds: round(sorted[0]),
    medianSeconds: round(median),
    targetSeconds: 2,
    medianUnderTarget: median < 2,
    ...extra,
  };
}

function main(): void {
  const loadAtStart = loadavg();
  const invoices = sampleInvoices(N, { seed: 42 });
  const file = sampleFile(invoices, { lotSize: 1000, numero: 1 });
  const lines = invoices.reduce((s, i) => s + i.lines.length, 0);

  let bytes = 0;
  writeDreEs(file); // warm-up
  const enc = [];
  for (let r = 0; r < ROUNDS; r++) enc.push(time(() => void (bytes = writeDreEs(file).length)));

  const rspBuf = writeRsp(sampleReturns(file, { seed: 43 }));
  const billed = billedInvoices(file, '2026-11-16');
  let outcome = { paid: 0, partiallyPaid: 0, rejected: 0, refused: 0 };
  const cycle = () => {
    const r = readRsp(rspBuf);
    if (!r.ok) throw new Error(r.reason);
    const rec = reconcile(billed, r.value);
    summarise(rec.invoices, { at: '2026-11-28' });
    outcome = rec.counts;
  };
  cycle(); // warm-up
  const rd = [];
  for (let r = 0; r < ROUNDS; r++) rd.push(time(cycle));

  const out = {
    benchmark: 'billing',
    at: new Date().toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    note:
      'Measured on a shared 2-core machine while other jobs ran (see loadavg): read the figures as an order of magnitude, not a record. ' +
      'DRE-ES is encode only: zlib compression and S/MIME encryption come with the transport (next step of issue 10); the 2 s target of the issue covers encode + compress + encrypt.',
    loadavgAtStart: loadAtStart,
    loadavgAtEnd: loadavg(),
    results: [
      stats(`writeDreEs: ${N} invoices (${lines} lines, lots of 1000) → one DRE-ES file, encode only`, enc, { invoices: N, lines, bytes }),
      stats(`readRsp + reconcile + summarise: RSP of ${N} returns against ${N} invoices`, rd, {
        returns: N,
        rspBytes: rspBuf.length,
        outcome,
      }),
    ],
  };
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'billing.json'), JSON.stringify(out, null, 2) + '\n');
  console.log(
    JSON.stringify(
      out.results.map((r) => ({ name: r.name, median: r.medianSeconds, best: r.bestSeconds })),
      null,
      2,
    ),
  );
}

main();
