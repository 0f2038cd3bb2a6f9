/**
 * The billing cycle end to end with `npm start` (scripts/start.js, the shipped flow's Facturation
 * tab) and its embedded AMC simulator (online side + billing side), over real sockets:
 * A01 → IDB → DFT^P03 → CLC (MLLP) → POST /roc/amo-payment → the DRE-ES goes out sealed over real
 * SMTP to the simulator's mailbox → ARL → RSP back to the bridge's mailbox → the invoice paid (or
 * rejected) → GET /roc/billing/reconciliation counts it; the files are kept on both sides.
 *
 * Each test asks for the runtime it needs (`ensureBridge(env)`): the one running is kept when its
 * environment is the same, otherwise restarted with it (same user dir: the journal and its
 * numbering go on). Run in order, the runtime starts three times; any test runs alone with -t.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import os from 'node:os';
import path from 'node:path';
import { startRuntimeProcess, type StartedRuntime } from '../support/runtime';
import { GapAnswerListener } from '../../simulator/gap';
import { MllpPeer, waitFor } from '../support/mllp-peer';
import { expectNoPatientData, identifiersFromHl7, mergeIdentifiers, processOutput } from '../support/patient-data';
import { admissionOf, bytesOf, invoiceFor, readAnswer, variant, type ZrcAnswer } from '../support/gap-cycle';
import { generateTestPki } from '../../lib/security/pki';

jest.setTimeout(180_000);

let dir: string;
let gap: GapAnswerListener;
let rt: StartedRuntime | undefined;
/** The environment the running runtime was started with (beyond the common one). */
let rtEnv: string | undefined;
let peer: MllpPeer | undefined;
const sentTexts: string[] = [];

/** The simulated AMC rejects two invoices of the rejection test once: R004 to correct, R006 to send again. */
const REJECTING: Record<string, string> = {
  ROC_BILLING_WAIT_AMO: 'false',
  ROC_SIMULATOR_REJECT: 'F280000003:R004,F280000004:R006',
};

async function stopBridge(): Promise<void> {
  peer?.socket.destroy();
  peer = undefined;
  if (rt) await rt.stop();
  rt = undefined;
  rtEnv = undefined;
}

async function startBridge(extra: Record<string, string> = {}): Promise<void> {
  await stopBridge();
  rtEnv = JSON.stringify(extra);
  rt = await startRuntimeProcess(
    {
      ROC_USER_DIR: dir,
      ROC_DEV_CERT_DIR: path.join(dir, 'certs'),
      ROC_MLLP_PORT: '0',
      ROC_GAP_ANSWER_PORT: String(gapPort),
      ROC_SIMULATOR_RSP_DELAY_S: '1',
      ROC_BILLING_BATCH_SECONDS: '1',
      ROC_DOSSIER_SCAN_SECONDS: '0.5',
      ...extra,
    },
    60_000,
  );
  const m = /GAP MLLP listener \(HL7 v2 PAM-FR\) on \S+:(\d+)/.exec(rt.output());
  peer = await MllpPeer.connect(Number(m![1]));
}

/** The runtime this test needs: the running one when started with the same environment, else (re)started. */
async function ensureBridge(extra: Record<string, string> = {}): Promise<void> {
  if (rt && rtEnv === JSON.stringify(extra)) return;
  await startBridge(extra);
}

let gapPort = 0;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-billing-cycle-'));
  gap = new GapAnswerListener();
  gapPort = (await gap.start()).port;
});

afterAll(async () => {
  await stopBridge();
  await gap?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function send(msg: ReturnType<typeof variant>): Promise<string> {
  const before = peer!.acks.length;
  sentTexts.push(bytesOf(msg).toString('latin1'));
  peer!.send(bytesOf(msg));
  return (await peer!.waitAcks(before + 1, 20_000))[before].code;
}

function answersFor(venue: string): ZrcAnswer[] {
  return gap.received.map((r) => readAnswer(r.text)).filter((a): a is ZrcAnswer => !!a && a.venue === venue);
}

async function poll<T>(f: () => Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timeout: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The venue's discharge (A03): PV1-45 the discharge date, here the admission's own (PV1-44). */
function discharge(adm: ReturnType<typeof variant>, controlId: string, venue: string): ReturnType<typeof variant> {
  const m = variant(adm, { type: 'ADT^A03^ADT_A03', controlId, venue });
  const segments = m.segments.map((s) => {
    if (!s.startsWith('PV1|')) return s;
    const f = s.split('|');
    while (f.length <= 45) f.push('');
    f[45] = f[44];
    return f.join('|');
  });
  return { ...m, segments };
}

/** A01 → IDB → A03 → DFT^P03 → CLC OK; the dossier key. */
async function engage(venue: string, numero: string): Promise<string> {
  const B01 = admissionOf('B01');
  expect(await send(variant(B01, { controlId: `BC-${venue}-1`, venue }))).toBe('AA');
  await waitFor(() => (answersFor(venue).length >= 1 ? true : undefined), 'the IDB answer', 60_000);
  expect(await send(discharge(B01, `BC-${venue}-2`, venue))).toBe('AA');
  expect(await send(invoiceFor(B01, { controlId: `BC-${venue}-3`, venue, numero, ghs: 3000, nights: 3 }))).toBe('AA');
  const clc = await waitFor(() => answersFor(venue).find((a) => a.service === 'CLC'), 'the engagement', 60_000);
  expect(clc).toMatchObject({ status: 'OK' });
  const list: any = await (await fetch(`${rt!.url}roc/dossiers?venue=${venue}`, { headers: await rt!.headers('viewer') })).json();
  return list.items[0].key;
}

function journalRows<T>(sql: string, ...args: unknown[]): T[] {
  const db = new Database(path.join(dir, 'roc-journal.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}

interface AuditLine {
  event: string;
  outcome: string;
  user: string;
  target?: Record<string, unknown>;
}

/**
 * The audit trail's entries that match, once there are `count` of them: the runtime writes an
 * entry when the response has finished, which the client may have read a moment before.
 */
async function auditTrail(match: (e: AuditLine) => boolean, count: number): Promise<AuditLine[]> {
  const read = () =>
    (fs.existsSync(path.join(dir, 'roc-audit.log')) ? fs.readFileSync(path.join(dir, 'roc-audit.log'), 'utf8') : '')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditLine)
      .filter(match);
  await waitFor(() => (read().length >= count ? true : undefined), `${count} audit entries`, 10_000).catch(() => undefined);
  return read();
}

const files = (d: string): string[] => (fs.existsSync(d) ? fs.readdirSync(d).filter((n) => !n.startsWith('.')) : []);

it('engagement → AMO paid → DRE-ES over SMTP → ARL → RSP → the invoice settled and counted; the files kept on both sides', async () => {
  await ensureBridge();
  const out = rt!.output();
  expect(out).toMatch(/AMC simulator billing side \(S\/MIME over SMTP\): 127\.0\.0\.1:\d+/);
  expect(out).toMatch(/Billing mailbox \(ARL and RSP in, S\/MIME over SMTP\): 127\.0\.0\.1:\d+/);

  const venue = '280000001';
  const numero = `F${venue}`; // the DRE-ES invoice number field: 12 characters
  const cle = await engage(venue, numero);
  const h = await rt!.headers('viewer');
  // the engaged dossier reached roc-dre-es through the Facturation tab: its invoice waits for the
  // AMO payment (site policy), as the journal says
  const waiting = await poll(
    async () => {
      const db = new Database(path.join(dir, 'roc-journal.sqlite'), { readonly: true, fileMustExist: true });
      try {
        return db.prepare('SELECT state, reason FROM billing_invoices WHERE numero = ?').get(numero) as
          { state: string; reason: string } | undefined;
      } finally {
        db.close();
      }
    },
    'the invoice known to roc-dre-es',
    30_000,
  );
  expect(waiting.state).toBe('pending');
  expect(waiting.reason).toMatch(/AMO/);
  const pay = await fetch(`${rt!.url}roc/amo-payment`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ cle, factureNumero: numero, montantAmo: 2400, datePaiement: new Date().toISOString().slice(0, 10) }),
  });
  const paid: any = await pay.json();
  expect([pay.status, paid.statut]).toEqual([200, 'AMO_PAYE']);
  expect(paid.billing).toMatchObject({ factureNumero: numero, state: 'ready' });

  // the reconciliation: sent, acknowledged (ARL), then settled (RSP)
  const at = new Date().toISOString().slice(0, 10);
  const settled = await poll(
    async () => {
      const r = await fetch(`${rt!.url}roc/billing/reconciliation?at=${at}`, { headers: h });
      if (r.status !== 200) return undefined;
      const body: any = await r.json();
      const t = body.total;
      return t && t.sent === 1 && t.paid + t.partiallyPaid + t.rejected === 1 ? body : undefined;
    },
    'the invoice settled in the reconciliation',
    90_000,
  );
  expect(settled.total).toMatchObject({ sent: 1, outstanding: 0 });
  const csv = await fetch(`${rt!.url}roc/billing/reconciliation?at=${at}&format=csv`, { headers: h });
  expect(csv.status).toBe(200);
  expect((await csv.text()).split('\n').length).toBeGreaterThan(1);

  // the dossier moved on: paid, partially paid or rejected
  const etat = await poll(
    async () => {
      const view: any = await (await fetch(`${rt!.url}roc/dossiers/${encodeURIComponent(cle)}`, { headers: h })).json();
      return ['PAYE', 'PAYE_PARTIEL', 'REJETE'].includes(view.etat) ? view.etat : undefined;
    },
    'the dossier paid or rejected',
    20_000,
  );
  const t = settled.total;
  expect(etat).toBe(t.paid ? 'PAYE' : t.partiallyPaid ? 'PAYE_PARTIEL' : 'REJETE');

  // the GAP is told (roc-rsp → the GAP tab's answer node): one billing answer for the invoice settled
  const told = await waitFor(() => answersFor(venue).find((a) => a.service === 'RSP'), 'the billing answer at the GAP', 30_000);
  expect(told).toMatchObject({ invoice: numero, invoiceState: etat, status: etat === 'REJETE' ? 'KO' : 'OK' });
  expect(told.engagement).toBe(answersFor(venue).find((a) => a.service === 'CLC')!.engagement);

  // the files on both sides: the AMC's archive holds the sealed DRE-ES (and our ARL for its RSP),
  // the bridge keeps what its mailbox received, sealed and opened (the ARL and the RSP)
  const amcArchive = path.join(dir, 'billing', 'amc-simulateur', 'archive');
  await waitFor(() => (files(amcArchive).length >= 2 ? true : undefined), 'our ARL for the RSP at the AMC', 30_000);
  const received = files(path.join(dir, 'billing', 'received'));
  expect(received.filter((n) => /ARL/.test(n)).length).toBeGreaterThanOrEqual(2); // sealed + opened
  expect(received.filter((n) => /RSP/.test(n)).length).toBeGreaterThanOrEqual(2);
  // nothing readable on the AMC side's archive: sealed (S/MIME), not the DRE-ES in clear
  for (const n of files(amcArchive)) expect(fs.readFileSync(path.join(amcArchive, n)).subarray(0, 3).toString('latin1')).not.toBe('000');
  // the runtime's output (the simulator's billing log, the mailbox's) quotes no patient data
  expectNoPatientData(processOutput(rt!), mergeIdentifiers(...sentTexts.map(identifiersFromHl7)));
});

it('after a restart, with the site policy "do not wait for the AMO": the engaged invoice goes out by itself, the next file number', async () => {
  await ensureBridge();
  const before = journalRows<{ n: number }>('SELECT count(*) AS n FROM billing_files')[0]?.n ?? 0;
  const sentBefore = journalRows<{ n: number }>('SELECT count(*) AS n FROM billing_invoices WHERE sent_at IS NOT NULL')[0].n;
  // (the same environment as the rejection test's, which then keeps this runtime)
  await startBridge(REJECTING);
  const venue = '280000002';
  const numero = `F${venue}`;
  const cle = await engage(venue, numero);
  const h = await rt!.headers('viewer');
  const at = new Date().toISOString().slice(0, 10);
  // no AMO notice: the CLC engagement alone releases the invoice
  const settled = await poll(
    async () => {
      const r = await fetch(`${rt!.url}roc/billing/reconciliation?at=${at}`, { headers: h });
      const t = r.status === 200 ? ((await r.json()) as any).total : undefined;
      return t && t.sent === sentBefore + 1 && t.paid + t.partiallyPaid + t.rejected === sentBefore + 1 ? t : undefined;
    },
    'the second invoice settled',
    90_000,
  );
  expect(settled.outstanding).toBe(0);
  const rows = journalRows<{ numero: number; state: string }>('SELECT numero, state FROM billing_files ORDER BY numero');
  expect(rows.map((r) => r.numero)).toEqual(Array.from({ length: before + 1 }, (_, i) => i + 1)); // without gap across the restart
  expect(rows.every((r) => r.state === 'ARL_RECEIVED')).toBe(true);
  const inv = journalRows<{ okey: string; state: string }>('SELECT okey, state FROM billing_invoices WHERE numero = ?', numero);
  expect(inv).toHaveLength(1);
  expect(['paid', 'partially-paid', 'rejected']).toContain(inv[0].state);
  expect(inv[0].okey).toBe(cle);
  // one billing answer per invoice settled, each once (the GAP's listener across both runs)
  await waitFor(() => (answersFor(venue).some((a) => a.service === 'RSP') ? true : undefined), 'the second billing answer', 30_000);
  await new Promise((r) => setTimeout(r, 1500));
  const billingAnswers = gap.received.map((r) => readAnswer(r.text)).filter((a) => a?.service === 'RSP');
  const settledNumbers = journalRows<{ numero: string }>(
    "SELECT numero FROM billing_invoices WHERE state IN ('paid', 'partially-paid', 'rejected') ORDER BY numero",
  ).map((r) => r.numero);
  expect(settledNumbers).toContain(numero);
  expect(billingAnswers.map((a) => a!.invoice).sort()).toEqual(settledNumbers);
});

it('rejected invoices: in the work queue; CORRIGER → the amended DFT^P03 → DEL + CLC → new DRE-ES → paid; RENVOYER → an operator resends → paid', async () => {
  await ensureBridge(REJECTING);
  const viewer = await rt!.headers('viewer');
  const operator = await rt!.headers('operator');
  const B01 = admissionOf('B01');
  const [v3, v4] = ['280000003', '280000004'];
  const [cle3, cle4] = [await engage(v3, `F${v3}`), await engage(v4, `F${v4}`)];
  const firstClc = answersFor(v3).find((a) => a.service === 'CLC')!.engagement;
  // both billed by themselves, both rejected by the AMC: the GAP is told (RSP KO), they wait in the queue
  const queue = await poll(
    async () => {
      const r = await fetch(`${rt!.url}roc/billing/rejected`, { headers: viewer });
      const body: any = r.status === 200 ? await r.json() : undefined;
      const mine = body?.items.filter((i: any) => [cle3, cle4].includes(i.cle));
      return mine?.length === 2 ? { ...body, items: mine } : undefined;
    },
    'both invoices rejected, in the work queue',
    90_000,
  );
  expect(queue.items.map((i: any) => [i.cle, i.factureNumero, i.motif.code, i.motif.action, i.suite]).sort()).toEqual([
    [cle3, `F${v3}`, 'R004', 'CORRIGER', 'CORRECTION_ATTENDUE'],
    [cle4, `F${v4}`, 'R006', 'RENVOYER', 'RENVOI_POSSIBLE'],
  ]);
  await waitFor(() => answersFor(v3).find((a) => a.service === 'RSP'), 'the rejection told to the GAP', 30_000);
  expect(answersFor(v3).find((a) => a.service === 'RSP')).toMatchObject({ status: 'KO', code: 'R004', invoiceState: 'REJETE' });

  // CORRIGER: the GAP sends the amended invoice (same venue, same number, other amounts)
  expect(await send(invoiceFor(B01, { controlId: `BC-${v3}-4`, venue: v3, numero: `F${v3}`, ghs: 3200, nights: 4 }))).toBe('AA');
  // RENVOYER: a viewer may not resend, an operator may
  const path4 = `${rt!.url}roc/billing/rejected/${encodeURIComponent(cle4)}/resend`;
  expect((await fetch(path4, { method: 'POST', headers: viewer })).status).toBe(403);
  const resent = await fetch(path4, { method: 'POST', headers: operator });
  expect(resent.status).toBe(200);
  expect(await resent.json()).toMatchObject({ statut: 'RENVOYEE', factureNumero: `F${v4}` });
  // both attempts in the audit trail: who, what, the outcome
  const audit = await auditTrail((e) => e.event === 'billing.resend' && e.target?.venue === cle4, 2);
  expect(audit.map((e) => [e.outcome, e.target?.venue])).toEqual([
    ['denied', cle4],
    ['ok', cle4],
  ]);

  // both paid in the end
  const etats = await poll(
    async () => {
      const e = [];
      for (const cle of [cle3, cle4])
        e.push(((await (await fetch(`${rt!.url}roc/dossiers/${encodeURIComponent(cle)}`, { headers: viewer })).json()) as any).etat);
      return e.every((x) => x === 'PAYE') ? e : undefined;
    },
    'both invoices paid after the correction and the resend',
    120_000,
  );
  expect(etats).toEqual(['PAYE', 'PAYE']);
  // the corrected one: DEL of the rejected engagement at the AMC, a new CLC engagement, billed again
  const view3: any = await (await fetch(`${rt!.url}roc/dossiers/${encodeURIComponent(cle3)}`, { headers: viewer })).json();
  const events3 = JSON.stringify(view3);
  for (const ev of ['RSP_REJET', 'DEL_OK_REMPLACEMENT', 'CLC_OK', 'DRE_ENVOYEE', 'RSP_PAYE']) expect(events3).toContain(ev);
  const clcs = answersFor(v3)
    .filter((a) => a.service === 'CLC')
    .map((a) => a.engagement);
  expect(new Set(clcs).size).toBe(2);
  const billedEng = journalRows<{ engagement: string; state: string; file_numero: number }>(
    'SELECT engagement, state, file_numero FROM billing_invoices WHERE numero = ?',
    `F${v3}`,
  )[0];
  expect(billedEng.state).toBe('paid');
  expect(billedEng.engagement).not.toBe(firstClc);
  expect(billedEng.engagement).toBe(clcs[clcs.length - 1]);
  // the resent one: the same engagement, the timeline shows the resend
  expect(JSON.stringify(await (await fetch(`${rt!.url}roc/dossiers/${encodeURIComponent(cle4)}`, { headers: viewer })).json())).toContain(
    'RENVOI_FACTURE',
  );
  // the queue is empty; the GAP was told each return once: rejected, then paid, per invoice
  const after: any = await (await fetch(`${rt!.url}roc/billing/rejected`, { headers: viewer })).json();
  expect(after.items.filter((i: any) => [cle3, cle4].includes(i.cle))).toEqual([]);
  await waitFor(
    () =>
      answersFor(v3).filter((a) => a.service === 'RSP').length >= 2 && answersFor(v4).filter((a) => a.service === 'RSP').length >= 2
        ? true
        : undefined,
    'the payments told to the GAP',
    30_000,
  );
  for (const v of [v3, v4])
    expect(
      answersFor(v)
        .filter((a) => a.service === 'RSP')
        .map((a) => a.invoiceState),
    ).toEqual(['REJETE', 'PAYE']);
  // new DRE-ES files, numbered on without gap
  const numbers = journalRows<{ numero: number }>('SELECT numero FROM billing_files ORDER BY numero').map((r) => r.numero);
  expect(numbers).toEqual(numbers.map((_, i) => i + 1));
});

it("a file refused for the AMC's expired certificate: in the work queue; the certificate replaced in the configuration; an operator resends the file → a new file number, the AMC receives it → paid", async () => {
  // the AMC's billing certificate of the configuration: an expired one (ROC_BILLING_AMC_CERT)
  const certFile = path.join(dir, 'amc-facturation.crt');
  fs.writeFileSync(certFile, generateTestPki({ clientNotAfter: new Date(Date.now() - 2 * 86_400_000) }).clientCert);
  await ensureBridge({ ROC_BILLING_WAIT_AMO: 'false', ROC_BILLING_AMC_CERT: certFile });
  const viewer = await rt!.headers('viewer');
  const operator = await rt!.headers('operator');
  const venue = '280000005';
  const numero = `F${venue}`;
  const cle = await engage(venue, numero);

  // the file cannot be sealed: refused, kept; its invoice waits in the queue, to be sent again
  const item = await poll(
    async () => {
      const r = await fetch(`${rt!.url}roc/billing/rejected`, { headers: viewer });
      const body: any = r.status === 200 ? await r.json() : undefined;
      return body?.items.find((i: any) => i.cle === cle);
    },
    'the invoice of the refused file in the work queue',
    60_000,
  );
  expect(item).toMatchObject({
    factureNumero: numero,
    origine: 'FICHIER_REFUSE',
    motif: { code: 'CERT_EXPIRED', action: 'TRAITEMENT_MANUEL' },
    suite: 'RENVOI_POSSIBLE',
  });
  const refusedNo: number = item.fileNumber;
  const refusedFile = () =>
    journalRows<{ state: string; reason: string }>(
      'SELECT state, reason FROM billing_files WHERE numero = ? AND amc = ?',
      refusedNo,
      item.amc,
    )[0];
  expect(refusedFile().state).toBe('REFUSED');
  expect(refusedFile().reason).toMatch(/^CERT_EXPIRED: recipient certificate .*expired on/);
  const dossierOf = async () =>
    (await (await fetch(`${rt!.url}roc/dossiers/${encodeURIComponent(cle)}`, { headers: viewer })).json()) as any;
  expect((await dossierOf()).etat).toBe('ENGAGE'); // never sent
  await new Promise((r) => setTimeout(r, 1500)); // a batch or two: refused, not retried, no new number
  expect(journalRows<{ n: number }>('SELECT max(numero) AS n FROM billing_files WHERE amc = ?', item.amc)[0].n).toBe(refusedNo);

  // the certificate renewed in the configuration (the same file; no restart), then the resend
  fs.copyFileSync(path.join(dir, 'certs', 'server.crt'), certFile);
  const url = `${rt!.url}roc/billing/files/${item.amc}/${refusedNo}/resend`;
  expect((await fetch(url, { method: 'POST', headers: viewer })).status).toBe(403);
  const resent = await fetch(url, { method: 'POST', headers: operator });
  const body: any = await resent.json();
  expect([resent.status, body.statut, body.renvoyees.map((r: any) => r.factureNumero), body.refusees]).toEqual([
    200,
    'RENVOYE',
    [numero],
    [],
  ]);

  // received by the AMC (its ARL), paid (its RSP), the GAP told once
  const etat = await poll(
    async () => {
      const e = (await dossierOf()).etat;
      return e === 'PAYE' ? e : undefined;
    },
    'the resent invoice paid',
    90_000,
  );
  expect(etat).toBe('PAYE');
  const inv = journalRows<{ state: string; file_numero: number; engagement: string }>(
    'SELECT state, file_numero, engagement FROM billing_invoices WHERE numero = ?',
    numero,
  );
  expect(inv).toHaveLength(1);
  expect(inv[0].state).toBe('paid');
  expect(inv[0].file_numero).toBe(refusedNo + 1); // the next number
  expect(inv[0].engagement).toBe(answersFor(venue).find((a) => a.service === 'CLC')!.engagement); // the same engagement
  expect(
    journalRows<{ state: string }>('SELECT state FROM billing_files WHERE numero = ? AND amc = ?', refusedNo + 1, item.amc)[0].state,
  ).toBe('ARL_RECEIVED');
  expect(refusedFile().state).toBe('REFUSED'); // the refused file as it was, never renumbered
  const numbers = journalRows<{ numero: number }>('SELECT numero FROM billing_files WHERE amc = ? ORDER BY numero', item.amc).map(
    (r) => r.numero,
  );
  expect(numbers).toEqual(numbers.map((_, i) => i + 1));
  await waitFor(() => answersFor(venue).find((a) => a.service === 'RSP'), 'the payment told to the GAP', 30_000);
  expect(
    answersFor(venue)
      .filter((a) => a.service === 'RSP')
      .map((a) => a.invoiceState),
  ).toEqual(['PAYE']);
  const after: any = await (await fetch(`${rt!.url}roc/billing/rejected`, { headers: viewer })).json();
  expect(after.items.filter((i: any) => i.cle === cle)).toEqual([]);
  // both attempts in the audit trail, the file as target
  const audit = await auditTrail((e) => e.event === 'billing.resend-file', 2);
  expect(audit.map((e) => [e.outcome, e.target?.id])).toEqual([
    ['denied', `${item.amc}/${refusedNo}`],
    ['ok', `${item.amc}/${refusedNo}`],
  ]);
});
