/**
 * Billing benchmark (issue 10, target < 2 s each on the 2-core machine):
 * - writing DRE-ES for 100,000 invoices: encode (writeDreEs) + zlib compress + S/MIME encrypt
 *   (sealEdiConsent: AES-256-CBC EnvelopedData for the AMC's certificate, signed with the
 *   establishment's certificate), measured together and, for the record, each step alone;
 * - reading an RSP of 100,000 returns then reconciling them against the invoices (and summarising
 *   per AMC and day).
 * Writes bench/results/billing.json. `npm run bench -- billing` (builds, then dist/bench/billing.js).
 * BENCH_BILLING_LEVEL=1..9 sets the zlib level of the sealed run (default: sealEdiConsent's, 6).
 */
import { mkdirSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeDreEs } from '../lib/billing/dre-es';
import { billedInvoices, reconcile, summarise } from '../lib/billing/reconcile';
import { readRsp, writeRsp } from '../lib/billing/rsp';
import { sampleFile, sampleInvoices, sampleReturns } from '../lib/billing/sample';
import { sealEdiConsent } from '../lib/billing/transport/smime';
import { generateTestPki } from '../lib/security/pki';
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

  // The AMC's encryption certificate and the establishment's signing certificate (test PKI).
  const amcPki = generateTestPki();
  const hospitalPki = generateTestPki();
  const envLevel = process.env.BENCH_BILLING_LEVEL;
  const compressionLevel = envLevel ? Number(envLevel) : undefined;
  /** The fast alternative measured alongside (A B A B, same rounds): zlib level 1. */
  const FAST_LEVEL = 1;
  const seal = (dre: Buffer, level = compressionLevel): Buffer =>
    sealEdiConsent(dre, {
      recipientCertPem: amcPki.serverCert,
      signer: { certPem: hospitalPki.clientCert, keyPem: hospitalPki.clientKey },
      filename: 'DREES00000001.Z',
      ...(level !== undefined ? { compressionLevel: level } : {}),
    });

  let bytes = 0;
  let sealedBytes = 0;
  let fastSealedBytes = 0;
  seal(writeDreEs(file)); // warm-up
  seal(writeDreEs(file), FAST_LEVEL);
  const full = [];
  const fast = [];
  // A B A B: the shipped level (sealEdiConsent's default, 6) then level 1, round after round.
  for (let r = 0; r < ROUNDS; r++) {
    full.push(
      time(() => {
        const dre = writeDreEs(file);
        bytes = dre.length;
        sealedBytes = seal(dre).length;
      }),
    );
    fast.push(time(() => void (fastSealedBytes = seal(writeDreEs(file), FAST_LEVEL).length)));
  }
  // The steps alone (same rounds): where the time goes.
  const enc = [];
  for (let r = 0; r < ROUNDS; r++) enc.push(time(() => void writeDreEs(file)));
  const dre = writeDreEs(file);
  const sealOnly = [];
  for (let r = 0; r < ROUNDS; r++) sealOnly.push(time(() => void seal(dre)));

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
      "The first result is the issue's target: DRE-ES encode + zlib compress + S/MIME encrypt (AES-256-CBC, signed SHA-256/RSA) in one timed block per round; the second is the same at zlib level 1, alternated round by round (A B A B); the next two split the first into its steps.",
    compressionLevel: compressionLevel ?? 6,
    loadavgAtStart: loadAtStart,
    loadavgAtEnd: loadavg(),
    results: [
      stats(
        `writeDreEs + sealEdiConsent: ${N} invoices (${lines} lines, lots of 1000) → one DRE-ES file, encoded, compressed, signed, encrypted`,
        full,
        {
          invoices: N,
          lines,
          bytes,
          sealedBytes,
        },
      ),
      stats(`the same at zlib level ${FAST_LEVEL} (alternated with the above, round by round)`, fast, {
        invoices: N,
        bytes,
        sealedBytes: fastSealedBytes,
      }),
      stats(`writeDreEs alone: ${N} invoices → ${bytes} bytes`, enc, { invoices: N, lines, bytes }),
      stats(`sealEdiConsent alone: zlib level ${compressionLevel ?? 6} + sign + AES-256 encrypt of ${bytes} bytes`, sealOnly, {
        bytes,
        sealedBytes,
      }),
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
