/**
 * The AMC miroir's billing side over real SMTP on 127.0.0.1 and by drop directory: a hospital's
 * sealed DRE-ES is opened, checked against the engagements, acknowledged (ARL), answered (RSP)
 * after the delay, sealed for the bridge; bad files get a negative ARL or are refused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readArl, type Arl } from '../../lib/billing/arl';
import { writeDreEs, type DreInvoice } from '../../lib/billing/dre-es';
import { readRsp, type RspFile } from '../../lib/billing/rsp';
import { sampleFile, sampleInvoices } from '../../lib/billing/sample';
import { openEdiConsent, sealEdiConsent } from '../../lib/billing/transport/smime';
import { DropDirectory, SmtpReceiver, SmtpSender, type ReceivedMessage } from '../../lib/billing/transport/smtp';
import { generateTestPki } from '../../lib/security/pki';
import { startBillingSide, type RunningBillingSide } from '../../simulator/billing/billing-side';
import { EngagementBook } from '../../simulator/engagements';

const AMC = '0775685365';
const FINESS = '590780193';
const amcPki = generateTestPki();
const bridgePki = generateTestPki();
const amcCert = { certPem: amcPki.serverCert, keyPem: amcPki.serverKey };
const bridgeCert = { certPem: bridgePki.serverCert, keyPem: bridgePki.serverKey };
const hospital = { certPem: bridgePki.clientCert, keyPem: bridgePki.clientKey };

const amcShare = (inv: DreInvoice) => inv.lines.reduce((s, l) => s + l.amcCents, 0);

/** A book holding an ACTIF engagement for each invoice (numbered as the invoice says), as the CLC would have. */
function bookFor(invoices: DreInvoice[]): EngagementBook {
  const book = new EngagementBook('T1');
  for (const inv of invoices) {
    book.record(
      {
        numero: inv.engagement,
        numeroAmc: AMC,
        pointAcces: 'tpso',
        finessJuridique: '590000659',
        finessGeographique: FINESS,
        numeroFacture: inv.number,
        idRequete: `REQ-${inv.number}`,
        montantAmc: amcShare(inv) / 100,
        dateCalcul: '2026-11-10',
        dateValidite: '2027-02-08',
        etat: 'ACTIF',
      },
      inv.number,
      {},
    );
  }
  return book;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-billing-side-'));
  cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** What the bridge received, opened and read. */
function readAnswer(sealed: Buffer): { arl?: Arl; rsp?: RspFile; filename?: string } {
  const opened = openEdiConsent(sealed, { ...bridgeCert, trustedSignerCaPem: amcPki.caCert, requireSignature: true });
  const head = opened.file.toString('latin1', 0, 9);
  if (head.startsWith('000ARL')) {
    const r = readArl(opened.file);
    if (!r.ok) throw new Error(r.reason);
    return { arl: r.value, filename: opened.filename };
  }
  const r = readRsp(opened.file);
  if (!r.ok) throw new Error(r.reason);
  return { rsp: r.value, filename: opened.filename };
}

async function bridgeMailbox(): Promise<{ port: number; got: ReceivedMessage[] }> {
  const r = new SmtpReceiver();
  const got: ReceivedMessage[] = [];
  r.on('message', (m: ReceivedMessage) => got.push(m));
  const { port } = await r.start({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => r.close());
  return { port, got };
}

async function side(book: EngagementBook, extra: Partial<Parameters<typeof startBillingSide>[0]> = {}): Promise<RunningBillingSide> {
  const s = await startBillingSide({
    ...amcCert,
    signer: { certPem: amcPki.clientCert, keyPem: amcPki.clientKey },
    trustedSignerCaPem: bridgePki.caCert,
    engagements: book,
    amcs: [AMC],
    dropDir: tmpdir(),
    rspDelayMs: 30,
    pollMs: 50,
    mix: { partial: 0.25, rejected: 0.25, reasons: ['R001', 'R006'], seed: 11 },
    bridge: { certPem: bridgeCert.certPem },
    ...extra,
  });
  cleanups.push(() => s.close());
  return s;
}

test('over SMTP: DRE-ES in, ARL then RSP back to the bridge mailbox; engagements invoiced; invalid invoices rejected with their reason', async () => {
  const invoices = sampleInvoices(24, { seed: 21 });
  const book = bookFor(invoices);
  // R003: no engagement; R004: engaged amount differs; R005: already invoiced
  const unknown = sampleInvoices(1, { seed: 22, firstNumber: 900 })[0];
  const e4 = book.forInvoice(FINESS, invoices[1].number)!.engagement;
  e4.montantAmc += 1;
  book.markInvoiced(invoices[2].engagement);
  const all = [...invoices, unknown];
  const bridge = await bridgeMailbox();
  const amc = await side(book, {
    bridge: {
      certPem: bridgeCert.certPem,
      smtp: {
        host: '127.0.0.1',
        port: bridge.port,
        from: 'dre-es@amc-miroir.example.fr',
        to: 'facturation.roc@ch-valenciennes.example.fr',
      },
    },
  });
  const file = writeDreEs(sampleFile(all, { numero: 7, lotSize: 10, emitter: FINESS, amc: AMC }));
  const sender = new SmtpSender({ host: '127.0.0.1', port: amc.smtpPort, from: 'facturation.roc@ch-valenciennes.example.fr' });
  cleanups.push(() => sender.close());
  await sender.send({
    to: 'dre-es@amc-miroir.example.fr',
    subject: `IR3/${FINESS}/20261116093000/00025`,
    smime: sealEdiConsent(file, { recipientCertPem: amcCert.certPem, signer: hospital }),
  });
  await amc.idle();
  expect(bridge.got).toHaveLength(2);
  const answers = bridge.got.map((m) => readAnswer(m.attachments[0].content));
  const arl = answers.find((a) => a.arl)!.arl!;
  const rsp = answers.find((a) => a.rsp)!.rsp!;
  expect(arl).toMatchObject({ emitter: AMC, recipient: FINESS, arlNumber: 1 });
  expect(arl.acks.map((a) => [a.lotNumber, a.positive, a.invoiceCount])).toEqual([
    [1, true, 10],
    [2, true, 10],
    [3, true, 5],
  ]);
  expect(arl.acks.reduce((s, a) => s + a.amountCents, 0)).toBe(all.reduce((s, i) => s + amcShare(i), 0));
  expect(rsp.returns).toHaveLength(25);
  const reasonOf = (n: string) => rsp.returns.find((r) => r.invoiceNumber === n)!;
  expect(reasonOf(unknown.number)).toMatchObject({ outcome: 'rejected', reason: { code: 'R003' } });
  expect(reasonOf(invoices[1].number)).toMatchObject({ outcome: 'rejected', reason: { code: 'R004' } });
  expect(reasonOf(invoices[2].number)).toMatchObject({ outcome: 'rejected', reason: { code: 'R005' } });
  const st = amc.stats();
  expect(st.invalid).toEqual({ R003: 1, R004: 1, R005: 1 });
  expect(st.paid + st.partiallyPaid + st.rejected).toBe(25);
  expect(st.paid).toBeGreaterThan(0);
  expect(st.partiallyPaid).toBeGreaterThan(0);
  expect(st.rejected).toBeGreaterThan(3);
  expect(rsp.totals).toMatchObject({
    invoiceCount: 25,
    paidCount: st.paid + st.partiallyPaid,
    rejectedCount: st.rejected,
    paidCents: st.paidCents,
  });
  expect({ arlSent: st.arlSent, rspSent: st.rspSent, filesAccepted: st.filesAccepted, undelivered: st.undelivered }).toEqual({
    arlSent: 1,
    rspSent: 1,
    filesAccepted: 1,
    undelivered: 0,
  });
  // valid invoices' engagements are now invoiced; the invalid ones untouched
  const states = invoices.map((i) => book.get(i.engagement)!.etat);
  // paid ones invoiced (+ the one already invoiced); the R004 one and those the mix rejected stay ACTIF (a DEL may cancel them)
  expect(states.filter((s) => s === 'FACTURE')).toHaveLength(st.paid + st.partiallyPaid + 1);
  expect(st.rejected).toBeGreaterThan(1);
  expect(book.get(invoices[1].engagement)!.etat).toBe('ACTIF');
  // the raw file is kept
  expect(fs.readdirSync(amc.archiveDir)).toHaveLength(1);
});

test('by drop directory: answers in the bridge drop directory; a duplicate file or bad totals get a negative ARL; a file not for us is refused', async () => {
  const invoices = sampleInvoices(6, { seed: 31 });
  const book = bookFor(invoices);
  const bridgeDrop = tmpdir();
  const amc = await side(book, { smtp: false, bridge: { certPem: bridgeCert.certPem, dropDir: bridgeDrop } });
  expect(amc.smtpPort).toBe(0);
  const hospitalOut = new DropDirectory(amc.dropDir);
  const file = writeDreEs(sampleFile(invoices, { numero: 8, emitter: FINESS, amc: AMC }));
  const sealed = sealEdiConsent(file, { recipientCertPem: amcCert.certPem, signer: hospital });
  await hospitalOut.write('DREES00000008.p7m', sealed);
  await hospitalOut.write('DREES00000008-bis.p7m', sealed); // the same file again
  const bad = Buffer.from(
    file.toString('latin1').replace(/^(999.{28})(\d)/m, (_m, a: string, d: string) => a + String((Number(d) + 1) % 10)),
    'latin1',
  );
  await hospitalOut.write('DREES00000009.p7m', sealEdiConsent(bad, { recipientCertPem: amcCert.certPem, signer: hospital }));
  await hospitalOut.write('DREES00000010.p7m', sealEdiConsent(file, { recipientCertPem: bridgeCert.certPem })); // sealed for someone else
  await amc.scan();
  await amc.idle();
  const out = new DropDirectory(bridgeDrop);
  const names = await out.list();
  const answers = await Promise.all(names.map(async (n) => ({ n, ...readAnswer((await out.claim(n))!.data) })));
  const arls = answers.filter((a) => a.arl).map((a) => a.arl!);
  const rsps = answers.filter((a) => a.rsp).map((a) => a.rsp!);
  expect(rsps).toHaveLength(1);
  expect(rsps[0].returns).toHaveLength(6);
  expect(arls).toHaveLength(3);
  const negatives = arls.flatMap((a) => a.acks).filter((a) => !a.positive);
  expect(negatives.map((a) => [a.lotNumber, a.reasonCode]).sort()).toEqual([
    [0, 'DFIC'],
    [0, 'TOTX'],
  ]);
  const st = amc.stats();
  expect(st.refusals.map((r) => r.code).sort()).toEqual(['DUPLICATE_FILE', 'NOT_FOR_US', 'totals']);
  expect(st.refusals.every((r) => r.kept && fs.existsSync(r.kept))).toBe(true);
  expect(JSON.stringify(st)).not.toContain(invoices[0].nir);
  expect(st.received).toBe(4);
});

test("engagement numbers of the book's own form (20 characters, the DRE-ES field) are checked; the seed's facturation block sets the mix", async () => {
  const invoices = sampleInvoices(5, { seed: 41 });
  const book = new EngagementBook('K7', () => new Date('2026-11-10T10:00:00Z'));
  for (const inv of invoices) {
    const numero = book.nextNumero(AMC);
    expect(numero).toHaveLength(20);
    book.record(
      {
        numero,
        numeroAmc: AMC,
        pointAcces: 'tpso',
        finessJuridique: '590000659',
        finessGeographique: FINESS,
        numeroFacture: inv.number,
        idRequete: 'R',
        montantAmc: amcShare(inv) / 100,
        dateCalcul: '2026-11-10',
        dateValidite: '2027-02-08',
        etat: 'ACTIF',
      },
      inv.number,
      {},
    );
    inv.engagement = numero;
  }
  const bridgeDrop = tmpdir();
  const amc = await side(book, {
    smtp: false,
    mix: undefined,
    seed: { facturation: { partiel: 0, rejet: 1, motifs: ['R007'], delaiRspMs: 10 } },
    bridge: { certPem: bridgeCert.certPem, dropDir: bridgeDrop },
  });
  await new DropDirectory(amc.dropDir).write(
    'DREES00000011.p7m',
    sealEdiConsent(writeDreEs(sampleFile(invoices, { numero: 11, emitter: FINESS, amc: AMC })), { recipientCertPem: amcCert.certPem }),
  );
  await amc.scan();
  await amc.idle();
  const st = amc.stats();
  expect(st).toMatchObject({ invoices: 5, rejected: 5, paid: 0, invalid: {}, engagementNumberTooLong: 0 });
  const out = new DropDirectory(bridgeDrop);
  const rsp = (await Promise.all((await out.list()).map(async (n) => readAnswer((await out.claim(n))!.data)))).find((a) => a.rsp)!.rsp!;
  expect(rsp.returns.map((r) => r.reason?.code)).toEqual(['R007', 'R007', 'R007', 'R007', 'R007']);
  // rejected: the engagements stay active, so that the hospital may cancel them (DEL) and bill a corrected invoice
  expect(book.list().every((e) => e.etat === 'ACTIF')).toBe(true);
  await amc.close();

  // rejectFirst: the invoice named is rejected once with its reason, paid in full when billed again
  const amc2 = await side(book, {
    smtp: false,
    mix: { partial: 0, rejected: 0 },
    rejectFirst: { [invoices[0].number]: 'R006' },
    rspDelayMs: 10,
    bridge: { certPem: bridgeCert.certPem, dropDir: bridgeDrop },
  });
  const once = sampleFile([invoices[0]], { numero: 12, emitter: FINESS, amc: AMC });
  for (const numero of [12, 13]) {
    await new DropDirectory(amc2.dropDir).write(
      `DREES000000${numero}.p7m`,
      sealEdiConsent(writeDreEs({ ...once, numero }), { recipientCertPem: amcCert.certPem }),
    );
    await amc2.scan();
    await amc2.idle();
  }
  expect(amc2.stats()).toMatchObject({ invoices: 2, rejected: 1, paid: 1 });
  expect(book.get(invoices[0].engagement)!.etat).toBe('FACTURE');
  await amc2.close();
});
