/**
 * The dossier's life end to end, with `npm start` (scripts/start.js, the shipped flow) between
 * the two simulators over real sockets: the GAP (MLLP in, answers on its own MLLP listener) and
 * the AMC miroir (SOAP over mutual TLS, started here so that it outlives a SIGKILL of the bridge
 * and can go down and up).
 *
 *  - A01 → IDB OK → DFT^P03 → CLC → the GAP receives the engagement; A11 → DEL OK;
 *  - an amended invoice → DEL of the old engagement, then CLC of the new one;
 *  - the AMC down, then up → the re-check resolves and the GAP is told;
 *  - SIGKILL while a CLC is out, restart → the dossier intact, the CLC asked again with its
 *    request id, one engagement for the invoice at the AMC;
 *  - every seeded beneficiary gets the same IDB outcome through HL7 as through POST /roc/dossier.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRuntimeProcess, type StartedRuntime } from '../support/runtime';
import { GapAnswerListener } from '../../simulator/gap';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { ensureDevCerts, type DevCerts } from '../../simulator/make-certs';
import { loadSeed } from '../../simulator/seed';
import { MllpPeer, waitFor } from '../support/mllp-peer';
import { admissionOf, bytesOf, invoiceFor, readAnswer, variant, type ZrcAnswer } from '../support/gap-cycle';
import { expectNoPatientData, identifiersFromHl7, mergeIdentifiers, processOutput } from '../support/patient-data';

jest.setTimeout(240_000);

let dir: string;
let certs: DevCerts;
let amc: RunningSimulator;
let amcPort: number;
let gap: GapAnswerListener;
let gapPort = 0;
let rt: StartedRuntime | undefined;
let peer: MllpPeer | undefined;
let mllpPort = 0;
let seq = 0;
const sentTexts: string[] = [];

async function startAmc(port = 0): Promise<RunningSimulator> {
  return startSimulator({
    host: '127.0.0.1',
    port,
    tls: { key: certs.serverKeyPem, cert: certs.serverCertPem, ca: certs.caCertPem, requestCert: true },
    hangMs: 20_000,
  });
}

async function startBridge(): Promise<void> {
  rt = await startRuntimeProcess(
    {
      ROC_USER_DIR: dir,
      ROC_MLLP_PORT: '0',
      ROC_GAP_ANSWER_PORT: String(gapPort),
      ROC_ANNUAIRE_URL: amc.annuaireUrl,
      ROC_CLIENT_CERT: certs.clientCert,
      ROC_CLIENT_KEY: certs.clientKey,
      ROC_CA: certs.caCert,
      ROC_RECHECK_MINUTES: '0.05, 0.05, 0.1',
      ROC_DOSSIER_SCAN_SECONDS: '0.5',
      ROC_DOSSIER_INFLIGHT_SECONDS: '3',
    },
    60_000,
  );
  const m = /GAP MLLP listener \(HL7 v2 PAM-FR\) on \S+:(\d+)/.exec(rt.output());
  mllpPort = Number(m![1]);
  peer = await MllpPeer.connect(mllpPort);
}

/** Sends one message and waits for its ACK (AA expected). */
async function send(m: ReturnType<typeof variant>): Promise<string> {
  const bytes = bytesOf(m);
  sentTexts.push(bytes.toString('latin1'));
  const before = peer!.acks.length;
  peer!.send(bytes);
  const acks = await peer!.waitAcks(before + 1, 20_000);
  return acks[before].code;
}

function answersFor(venue: string): ZrcAnswer[] {
  return gap.received.map((r) => readAnswer(r.text)).filter((a): a is ZrcAnswer => !!a && a.venue === venue);
}

async function answerFor(venue: string, n: number, what: string, ms = 60_000): Promise<ZrcAnswer[]> {
  return waitFor(() => (answersFor(venue).length >= n ? answersFor(venue) : undefined), `${what} (venue ${venue})`, ms);
}

function nextVenue(): string {
  return `27${String(++seq).padStart(7, '0')}`;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-dossier-cycle-'));
  certs = await ensureDevCerts(path.join(dir, 'certs'));
  amc = await startAmc();
  amcPort = amc.port;
  gap = new GapAnswerListener();
  gapPort = (await gap.start()).port;
  await startBridge();
});

afterAll(async () => {
  peer?.socket.destroy();
  if (rt) await rt.stop();
  await gap.stop();
  await amc.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const B01 = () => admissionOf('B01');

it('A01 → IDB OK → DFT → CLC: the GAP receives the engagement; A11 → DEL OK, the engagement cancelled at the AMC', async () => {
  const venue = nextVenue();
  const adm = variant(B01(), { controlId: `CY-${venue}-1`, venue });
  expect(await send(adm)).toBe('AA');
  const [idb] = await answerFor(venue, 1, 'the IDB answer');
  expect(idb).toMatchObject({ service: 'IDB', status: 'OK', technical: false });

  expect(await send(invoiceFor(B01(), { controlId: `CY-${venue}-2`, venue, numero: `FAC-${venue}`, ghs: 3000, nights: 3 }))).toBe('AA');
  const answers = await answerFor(venue, 2, 'the engagement');
  expect(answers[1]).toMatchObject({ service: 'CLC', status: 'OK' });
  const numero = answers[1].engagement!;
  expect(numero).toMatch(/^E5365\d{6}[A-Z0-9]{2}\d{7}$/); // fits the DRE-ES engagement field (20)
  expect(amc.engagements().filter((e) => e.numeroFacture === `FAC-${venue}`)).toHaveLength(1);

  expect(await send(variant(B01(), { type: 'ADT^A11^ADT_A09', controlId: `CY-${venue}-3`, venue }))).toBe('AA');
  const all = await answerFor(venue, 3, 'the DEL answer');
  expect(all[2]).toMatchObject({ service: 'DEL', status: 'OK', engagementAnnule: numero });
  expect(amc.engagements().find((e) => e.numero === numero)?.etat).toBe('ANNULE');

  // the dossier, as ops see it
  const h = await rt!.headers('viewer');
  const res = await fetch(`${rt!.url}roc/dossiers/${encodeURIComponent(`750712192/V/${venue}`)}`, { headers: h });
  const view: any =
    res.status === 200
      ? await res.json()
      : await (async () => {
          // the FINESS part of the key is the GAP's: find the dossier by venue
          const list: any = await (await fetch(`${rt!.url}roc/dossiers?venue=${venue}`, { headers: h })).json();
          return (await fetch(`${rt!.url}roc/dossiers/${encodeURIComponent(list.items[0].key)}`, { headers: h })).json();
        })();
  expect(view.etat).toBe('ANNULE');
  expect(view.chronologie.filter((e: { kind: string }) => e.kind === 'ECHANGE').map((e: { service: string }) => e.service)).toEqual([
    'idb',
    'clc',
    'del',
  ]);
});

it('an amended invoice after CLC: DEL of the old engagement, then CLC of the new one; never two live engagements', async () => {
  const venue = nextVenue();
  expect(await send(variant(B01(), { controlId: `AM-${venue}-1`, venue }))).toBe('AA');
  await answerFor(venue, 1, 'IDB');
  expect(await send(invoiceFor(B01(), { controlId: `AM-${venue}-2`, venue, numero: `FAC-${venue}`, ghs: 3000, nights: 3 }))).toBe('AA');
  const first = (await answerFor(venue, 2, 'first engagement'))[1].engagement!;
  expect(await send(invoiceFor(B01(), { controlId: `AM-${venue}-3`, venue, numero: `FAC-${venue}`, ghs: 3400, nights: 4 }))).toBe('AA');
  const answers = await answerFor(venue, 3, 'the new engagement');
  const last = answers[answers.length - 1];
  expect(last).toMatchObject({ service: 'CLC', status: 'OK' });
  expect(last.engagement).not.toBe(first);
  const book = amc.engagements().filter((e) => e.numeroFacture === `FAC-${venue}`);
  expect(book.map((e) => e.etat).sort()).toEqual(['ACTIF', 'ANNULE']);
  expect(book.find((e) => e.etat === 'ANNULE')?.numero).toBe(first);
});

it('the AMC down, then up: the admission is answered as a technical KO at once, the re-check resolves and the GAP is told', async () => {
  const venue = nextVenue();
  await amc.close();
  try {
    expect(await send(variant(B01(), { controlId: `DN-${venue}-1`, venue }))).toBe('AA');
    const [ko] = await answerFor(venue, 1, 'the technical KO');
    expect(ko).toMatchObject({ service: 'IDB', status: 'KO', technical: true });
  } finally {
    amc = await startAmc(amcPort);
  }
  const answers = await answerFor(venue, 2, 'the re-check result', 90_000);
  expect(answers[1]).toMatchObject({ service: 'IDB', status: 'OK', technical: false });
});

it('SIGKILL while a CLC is out: after the restart the dossier is intact and the invoice gets one engagement', async () => {
  const venue = nextVenue();
  expect(await send(variant(B01(), { controlId: `KL-${venue}-1`, venue }))).toBe('AA');
  await answerFor(venue, 1, 'IDB');
  const clcBefore = amc.stats().clc;
  amc.setLatency({ mode: 'fixed', ms: 4000 });
  expect(await send(invoiceFor(B01(), { controlId: `KL-${venue}-2`, venue, numero: `FAC-${venue}`, ghs: 2500, nights: 2 }))).toBe('AA');
  await waitFor(() => amc.stats().clc > clcBefore || undefined, 'the CLC at the AMC', 20_000);
  peer!.socket.destroy();
  rt!.proc.kill('SIGKILL');
  await new Promise((r) => rt!.proc.once('exit', r));
  rt = undefined;
  amc.setLatency({ mode: 'instant' });
  await startBridge();
  const answers = await answerFor(venue, 2, 'the engagement after the restart', 90_000);
  const clc = answers.filter((a) => a.service === 'CLC');
  expect(clc.length).toBeGreaterThanOrEqual(1);
  expect(clc.every((a) => a.status === 'OK')).toBe(true);
  expect(new Set(clc.map((a) => a.engagement)).size).toBe(1);
  // one engagement for the invoice at the AMC, whatever was asked twice
  expect(amc.engagements().filter((e) => e.numeroFacture === `FAC-${venue}`)).toHaveLength(1);
});

it('every seeded beneficiary: the same IDB outcome through HL7 as through POST /roc/dossier', async () => {
  const seed = loadSeed().seed.beneficiaires;
  const results: Array<[string, string, string]> = [];
  await Promise.all(
    seed.map(async (b) => {
      let adm;
      try {
        adm = admissionOf(b.id);
      } catch {
        return; // not admitted in the simulated day (pre-admission only)
      }
      const venue = nextVenue();
      expect(await send(variant(adm, { controlId: `SD-${venue}`, venue }))).toBe('AA');
      const [hl7] = await answerFor(venue, 1, `the answer for ${b.id}`, 120_000);
      const body = {
        amc: b.amc,
        beneficiaire: {
          nir: b.nir,
          cleNir: b.cleNir,
          dateNaissance: b.dateNaissance,
          rangNaissance: b.rangNaissance,
          nom: b.nom,
          prenom: b.prenom,
          numeroAdherent: b.numeroAdherent,
        },
        venue: { type: 'HOSPITALISATION', dateEntree: '2026-03-16' },
      };
      const res = await fetch(`${rt!.url}roc/dossier`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json: any = await res.json();
      const r = json.idb ?? json.annuaire;
      const http =
        `${String(r.service).toUpperCase()} ${r.status}${r.technical ? ' T' : ''} ${r.messages?.find((x: { code: string }) => x.code && x.code !== '0000')?.code ?? ''}`.trim();
      const viaHl7 = `${hl7.service} ${hl7.status}${hl7.technical ? ' T' : ''} ${hl7.code ?? ''}`.trim();
      results.push([b.id, viaHl7, http]);
    }),
  );
  expect(results.length).toBeGreaterThan(15);
  for (const [id, viaHl7, viaHttp] of results) expect(`${id} ${viaHl7}`).toBe(`${id} ${viaHttp}`);
  expectNoPatientData(processOutput(rt!), mergeIdentifiers(...sentTexts.map(identifiersFromHl7)));
});
