'use strict';
/**
 * Child process of the billing SIGKILL test (plain JS on the compiled library): for two AMCs in
 * turn, it marks an invoice ready, writes a DRE-ES-like file numbered by the journal (the number
 * is written in the bytes), prints "W amc numero id", then "sends" it (writes it to the drop
 * directory under its name, as the directory outbox does) and marks it sent, printing
 * "S amc numero id". It never stops: the test kills it with SIGKILL, between any two steps.
 * Usage: node billing-file-child.js <journal file> <drop directory> <round>
 */
const { Buffer } = require('buffer');
const fs = require('fs');
const path = require('path');
const root = path.join(__dirname, '..', '..');
const { SqliteJournal } = require(path.join(root, 'dist', 'lib', 'store', 'sqlite.js'));

const [file, drop, round] = process.argv.slice(2);
const journal = new SqliteJournal({ file, synchronous: 'FULL', retentionDays: 0 });
const EMITTER = '750100125';
const AMCS = ['0000123456', '0000654321'];
let n = Number(round || 0) * 1000000; // new invoices in each run

function send(name, bytes) {
  const tmp = path.join(drop, `.${name}.tmp`);
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, path.join(drop, name));
}

async function worker(amc) {
  for (;;) {
    const i = n++;
    const key = `${EMITTER}/V/V${String(i).padStart(7, '0')}`;
    const number = `F${String(i).padStart(9, '0')}`;
    await journal.putInvoiceBilling({ key, number, state: 'ready', amc, finess: EMITTER, amcCents: 32040 });
    const f = await journal.writeBillingFile({
      emitter: EMITTER,
      amc,
      invoices: [{ key, number, lotNumber: 1 }],
      build: (numero) => ({
        name: `DREES_${EMITTER}_${amc}_${String(numero).padStart(8, '0')}.dre`,
        bytes: Buffer.from(`000DREESP1${EMITTER}${amc}${String(numero).padStart(8, '0')}|${number}\r\n`),
        invoiceCount: 1,
        lineCount: 1,
        amcCents: 32040,
        totalCents: 32040,
      }),
    });
    process.stdout.write(`W ${amc} ${f.numero} ${f.id}\n`);
    const full = await journal.getBillingFile(f.id, { bytes: true });
    send(full.name, full.bytes);
    await journal.markBillingFileSent(f.id);
    process.stdout.write(`S ${amc} ${f.numero} ${f.id}\n`);
  }
}

Promise.all([...AMCS, ...AMCS].map(worker)).catch((e) => {
  process.stderr.write(String(e) + '\n');
  process.exit(1);
});
