/**
 * Node tests (node-red-node-test-helper) of roc-datamatrix: scanner text and card images of the
 * simulator's seeded beneficiaries read onto msg.roc.attestation / msg.roc.amc (output 1), every
 * class of bad input answered on output 2 with a French reason, and a status that shows the
 * numéro AMC and nothing about the patient.
 */
import helper from 'node-red-node-test-helper';
import datamatrixNode from '../../nodes/roc-datamatrix/roc-datamatrix';
import { renderAttestationPng, sharedDecodePoolStats } from '../../lib/datamatrix';
import { gray, grayToPng } from '../../lib/datamatrix/raster';
import { cardAttestation, cardPng, cardText, findBeneficiary } from '../../simulator/cards';
import { loadSeed } from '../../simulator/seed';
import { startSimulator } from '../../simulator/server';
import { main as cardMain } from '../../simulator/card';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expectNoPatientData, identifiersOf, watchNodeRed } from '../support/patient-data';
import { useLanguage } from '../support/i18n';

helper.init(require.resolve('node-red'));
// Status and log texts in French, as the assertions below read them (Node-RED's runtime language).
useLanguage(helper, 'fr');

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js');
const NODES = [datamatrixNode, catchNode];

const GS = '\u001d';
type Msg = { roc: any; payload?: unknown; topic?: string; error?: { message: string } };

const FLOW = [
  { id: 'f1', type: 'tab', label: 'guichet' },
  { id: 'dm', x: 100, y: 100, z: 'f1', type: 'roc-datamatrix', name: 'attestation', wires: [['ok'], ['ko']] },
  { id: 'ok', x: 300, y: 80, z: 'f1', type: 'helper', wires: [] },
  { id: 'ko', x: 300, y: 120, z: 'f1', type: 'helper', wires: [] },
  { id: 'catch', x: 100, y: 200, z: 'f1', type: 'catch', scope: ['dm'], wires: [['caught']] },
  { id: 'caught', x: 300, y: 200, z: 'f1', type: 'helper', wires: [] },
];

beforeEach(async () => {
  await helper.load(NODES, FLOW);
});

afterEach(async () => {
  await helper.unload();
});

/** Sends one message; resolves with the port it left by. */
function run(msg: Record<string, unknown>): Promise<{ port: 'ok' | 'ko' | 'catch'; msg: Msg }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no output within 15 s')), 15000);
    const done = (port: 'ok' | 'ko' | 'catch') => (m: Msg) => {
      clearTimeout(timer);
      resolve({ port, msg: m });
    };
    helper.getNode('ok').on('input', done('ok'));
    helper.getNode('ko').on('input', done('ko'));
    helper.getNode('caught').on('input', done('catch'));
    helper.getNode('dm').receive(msg);
  });
}

/** Records every status the node shows, in order. */
function spyStatus() {
  const node = helper.getNode('dm') as any;
  const calls: { fill?: string; text?: string }[] = [];
  const orig = node.status.bind(node);
  node.status = (s: any) => {
    calls.push(s);
    orig(s);
  };
  return calls;
}

const SEED = loadSeed().seed;
const B01 = findBeneficiary(SEED, 'B01')!;
const seen = watchNodeRed(helper);
/** What these tests send of patients: none of it may show in a status, a log line or an error. */
const PATIENTS = identifiersOf({ nir: B01.nir + B01.cleNir, names: [B01.nom, B01.prenom], birthDates: [B01.dateNaissance] });
afterEach(() => {
  try {
    expectNoPatientData(seen, PATIENTS);
  } finally {
    seen.clear();
  }
});
const B05 = findBeneficiary(SEED, 'B05')!;

describe('roc-datamatrix: attestations read (output 1)', () => {
  it('reads the scanner text of B01 onto msg.roc.attestation and msg.roc.amc, leaving the rest of msg alone', async () => {
    const calls = spyStatus();
    const { port, msg } = await run({
      payload: `${cardText(B01)}\r\n`,
      topic: 'guichet-1',
      roc: { venue: { type: 'HOSPITALISATION', dateEntree: '2026-11-20' } },
    });
    expect(port).toBe('ok');
    expect(msg.topic).toBe('guichet-1');
    expect(msg.roc.venue.dateEntree).toBe('2026-11-20');
    expect(msg.roc.attestation).toMatchObject({
      status: 'OK',
      source: 'texte',
      numeroAmc: '0775685365',
      typesConvention: ['MU'],
      csr: '',
      numeroAdherent: '30458821',
      debutValidite: '2026-01-01',
      finValidite: '2026-12-31',
      warnings: [],
    });
    // the keyboard-wedge CR/LF was removed and said so
    expect(msg.roc.attestation.repairs.map((r: any) => r.code)).toContain('SUFFIXE_CLAVIER');
    expect(msg.roc.amc).toEqual({ numeroAmc: '0775685365', typeConvention: 'MU', csr: '' });
    expect(calls.at(-1)).toMatchObject({ fill: 'green', text: 'AMC 0775685365' });
  });

  it('keeps a msg.roc.amc the GAP already gave, and names the first convention when several are printed', async () => {
    const text = ['ATP01', '75500017', 'ISSP', 'RAIL', '00012345', 'M/33/OC/1/seine.fr', '20260101', '20261231'].join(GS);
    const { msg } = await run({ payload: text, roc: {} });
    expect(msg.roc.amc).toEqual({ numeroAmc: '0075500017', typeConvention: 'IS', csr: 'RAIL' });
    const given = { numeroAmc: '0441927302', typeConvention: 'IS', csr: '' };
    const second = await run({ payload: text, roc: { amc: given } });
    expect(second.msg.roc.amc).toEqual(given);
    expect(second.msg.roc.attestation.numeroAmc).toBe('0075500017');
  });

  it('warns (yellow status) when the attestation does not cover the admission date, without refusing it', async () => {
    const calls = spyStatus();
    const { port, msg } = await run({ payload: cardText(B05), roc: { venue: { dateEntree: '2026-11-20' } } });
    expect(port).toBe('ok');
    expect(msg.roc.attestation.warnings[0]).toMatchObject({ code: 'ATTESTATION_EXPIREE' });
    expect(msg.roc.attestation.warnings[0].message).toMatch(/expiré le 31\/12\/2025/);
    expect(calls.at(-1)).toMatchObject({ fill: 'yellow', text: 'AMC 0775685365 · avertissement' });
  });

  it('reads a photo of the card (PNG Buffer) to the same attestation as the scanner text', async () => {
    const calls = spyStatus();
    const fromText = (await run({ payload: cardText(B01) })).msg.roc.attestation;
    const { port, msg } = await run({ payload: await cardPng(B01 as any, { page: true, rotate: 90 }) });
    expect(port).toBe('ok');
    expect(msg.roc.attestation.source).toBe('image');
    for (const k of ['numeroAmc', 'typesConvention', 'csr', 'numeroAdherent', 'debutValidite', 'finValidite'])
      expect(msg.roc.attestation[k]).toEqual(fromText[k]);
    expect(Buffer.isBuffer(msg.payload)).toBe(true); // the original image stays on msg.payload
    expect(calls.at(-1)?.text).toBe('AMC 0775685365 · image');
  });

  it('decodes photos in a worker thread, and stops it when the node closes (redeploy, shutdown)', async () => {
    const { port } = await run({ payload: await cardPng(B01 as any) });
    expect(port).toBe('ok');
    expect(sharedDecodePoolStats()).toMatchObject({ workers: 1, busy: 0, queued: 0 });
    await helper.unload();
    expect(sharedDecodePoolStats()).toBeUndefined();
    await helper.load(NODES, FLOW); // afterEach unloads again
  });

  it('refuses a photo over ROC_IMAGE_MAX_MEGAPIXELS from its header, without decoding it', async () => {
    const before = process.env.ROC_IMAGE_MAX_MEGAPIXELS;
    process.env.ROC_IMAGE_MAX_MEGAPIXELS = '0.2';
    try {
      // a setting below 1 MP is invalid: the default (16 MP) applies, the card is read
      await helper.unload();
      await helper.load(NODES, FLOW);
      expect((await run({ payload: await cardPng(B01 as any) })).port).toBe('ok');
      process.env.ROC_IMAGE_MAX_MEGAPIXELS = '1';
      await helper.unload();
      await helper.load(NODES, FLOW);
      const { port, msg } = await run({ payload: grayToPng(gray(1500, 1000, 250)) });
      expect(port).toBe('ko');
      expect(msg.roc.attestation).toMatchObject({ status: 'KO', code: 'IMAGE_TROP_GRANDE', source: 'image' });
      expect(msg.roc.attestation.reason).toMatch(/au-delà de la limite de 1 mégapixels/);
      expect(sharedDecodePoolStats()?.workers ?? 0).toBe(0);
    } finally {
      if (before === undefined) delete process.env.ROC_IMAGE_MAX_MEGAPIXELS;
      else process.env.ROC_IMAGE_MAX_MEGAPIXELS = before;
    }
  });

  it('reads scanner text arriving as a Buffer (serial-port scanner) as text', async () => {
    const { port, msg } = await run({ payload: Buffer.from(`${cardText(B01)}\r`, 'latin1') });
    expect(port).toBe('ok');
    expect(msg.roc.attestation).toMatchObject({ source: 'texte', numeroAmc: '0775685365' });
  });

  it('creates msg.roc when the message has none', async () => {
    const { msg } = await run({ payload: cardText(B01) });
    expect(msg.roc.amc.numeroAmc).toBe('0775685365');
  });
});

describe('roc-datamatrix: every bad input leaves by output 2 with a French reason', () => {
  const nir = B01.nir + B01.cleNir;
  const half = cardText(B01).slice(0, 24);
  const noise = Buffer.alloc(4000);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919 + 13) % 256;
  const bigPng = Buffer.alloc(20 * 1024 * 1024);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bigPng);
  const blank = () => {
    const w = 600;
    const h = 400;
    const data = new Uint8ClampedArray(w * h).fill(245);
    for (let y = 40; y < 360; y += 12) for (let x = 40; x < 560; x++) if ((x * 31 + y) % 17 < 9) data[y * w + x] = 30;
    return grayToPng({ width: w, height: h, data });
  };

  const CASES: [string, () => unknown | Promise<unknown>, string, RegExp][] = [
    ['an empty scan', () => '', 'SCAN_VIDE', /lecture est vide/],
    ['a scan of blanks and a newline', () => '  \r\n', 'SCAN_VIDE', /Scannez à nouveau/],
    ['half a scan (scanner stopped mid-symbol)', () => half, 'SCAN_INCOMPLET', /incomplète/],
    ['a Vitale card (NIR) scanned by mistake', () => nir, 'CARTE_VITALE', /carte Vitale/],
    ['a product barcode (EAN-13)', () => '3401579654325', 'CODE_BARRES_PRODUIT', /13 chiffres/],
    ['a QR code URL', () => 'https://www.ameli.fr/assure', 'URL', /adresse internet/],
    ['binary garbage typed as text', () => noise.toString('latin1', 0, 300), 'ILLISIBLE', /illisibles/],
    ['text far too long', () => 'ATP01' + 'x'.repeat(6000), 'TEXTE_TROP_LONG', /6005 caractères/],
    ['a payload that is neither text nor an image', () => 42, 'ENTREE_INVALIDE', /Aucun texte/],
    ['no payload at all', () => undefined, 'ENTREE_INVALIDE', /Aucun texte/],
    ['an empty Buffer', () => Buffer.alloc(0), 'IMAGE_VIDE', /vide/],
    ['binary garbage as a Buffer', () => noise, 'FORMAT_IMAGE_NON_PRIS_EN_CHARGE', /PNG ou en JPEG/],
    ['a PDF instead of an image', () => Buffer.from('%PDF-1.7\n%âãÏÓ\n1 0 obj'), 'FORMAT_IMAGE_NON_PRIS_EN_CHARGE', /document PDF/],
    ['a 20 MB image', () => bigPng, 'IMAGE_TROP_LOURDE', /20 Mo, au-delà de la limite de 10 Mo/],
    [
      'a truncated PNG',
      async () => (await renderAttestationPng(cardAttestation(B01))).subarray(0, 300),
      'IMAGE_ILLISIBLE',
      /endommagé ou tronqué/,
    ],
    ['a photo without a symbol', () => blank(), 'DATAMATRIX_INTROUVABLE', /Aucun DataMatrix/],
  ];

  it.each(CASES)('%s', async (_name, payload, code, reason) => {
    const calls = spyStatus();
    const { port, msg } = await run({ payload: await payload(), roc: { beneficiaire: { nir: B01.nir, nom: B01.nom } } });
    expect(port).toBe('ko');
    expect(msg.roc.attestation.status).toBe('KO');
    expect(msg.roc.attestation.code).toBe(code);
    expect(msg.roc.attestation.reason).toMatch(reason);
    expect(msg.roc.amc).toBeUndefined();
    expect(msg.roc.beneficiaire.nom).toBe('MARTIN'); // the rest of the dossier is kept
    const last = calls.at(-1)!;
    expect(last).toMatchObject({ fill: 'yellow', shape: 'ring' });
    expect(last.text).toContain(code);
    // no patient data in the status nor in the reason
    for (const secret of [B01.nir, B01.nom, B01.numeroAdherent!]) {
      expect(last.text).not.toContain(secret);
      expect(msg.roc.attestation.reason).not.toContain(secret);
    }
  });

  it('keeps the raw text of a refused scan (a NIR masked), cut to 1000 characters', async () => {
    const vitale = await run({ payload: nir });
    expect(vitale.msg.roc.attestation.raw).toBeDefined();
    expect(vitale.msg.roc.attestation.raw).not.toContain(B01.nir);
    const long = await run({ payload: 'ATP01' + 'x'.repeat(6000) });
    expect(long.msg.roc.attestation.raw).toHaveLength(1000);
    expect(long.msg.roc.attestation.rawLength).toBe(6005);
    const img = await run({ payload: Buffer.alloc(0) });
    expect(img.msg.roc.attestation.source).toBe('image');
    expect(img.msg.roc.attestation).not.toHaveProperty('raw');
  });

  it('shows the numéro AMC of the last good read, never the adhérent number', async () => {
    const calls = spyStatus();
    await run({ payload: cardText(B01) });
    await run({ payload: half });
    await run({ payload: cardText(B05) });
    const texts = calls.map((c) => c.text ?? '');
    expect(texts).toEqual(['AMC 0775685365', 'refus SCAN_INCOMPLET', 'AMC 0775685365']);
    for (const t of texts) for (const secret of [B01.numeroAdherent!, B05.numeroAdherent!]) expect(t).not.toContain(secret);
  });

  it('reports a msg.roc that is not an object as an error a catch node receives', async () => {
    const { port, msg } = await run({ payload: cardText(B01), roc: 'dossier' });
    expect(port).toBe('catch');
    expect(msg.error!.message).toMatch(/msg\.roc doit être un objet/);
  });
});

describe('test cards of the seeded beneficiaries, read by roc-datamatrix', () => {
  it('the simulator serves GET /cards/<id>.png and .txt; the card reads back to the scan string', async () => {
    const sim = await startSimulator();
    try {
      const png = await fetch(`${sim.url}/cards/B01.png?rotate=90&page=1`);
      expect(png.status).toBe(200);
      expect(png.headers.get('content-type')).toBe('image/png');
      const fromCard = await run({ payload: Buffer.from(await png.arrayBuffer()) });
      expect(fromCard.port).toBe('ok');
      const txt = await fetch(`${sim.url}/cards/b01.txt`);
      const scan = await txt.text();
      expect(scan).toBe(cardText(B01));
      const fromText = await run({ payload: scan });
      for (const k of ['numeroAmc', 'typesConvention', 'numeroAdherent', 'debutValidite', 'finValidite'])
        expect(fromCard.msg.roc.attestation[k]).toEqual(fromText.msg.roc.attestation[k]);

      const unknown = await fetch(`${sim.url}/cards/B99.png`);
      expect(unknown.status).toBe(404);
      expect(await unknown.text()).toMatch(/Aucun bénéficiaire « B99 »/);
      expect((await fetch(`${sim.url}/cards/B01.png?rotate=45`)).status).toBe(400);
      const other = await fetch(`${sim.url}/cards/B01.pdf`);
      expect(other.status).toBe(404);
      expect(await other.text()).toMatch(/\/cards\/B01\.png/);
    } finally {
      await sim.close();
    }
  });

  it('npm run card -- B05 --out <file> --rotate 270 writes a card the node reads', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-card-'));
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const out = path.join(dir, 'b05.png');
      expect(await cardMain(['B05', '--out', out, '--rotate', '270'])).toBe(0);
      expect(log.mock.calls.flat().join('\n')).toContain('ATP01<GS>0775685365<GS>MU');
      const { port, msg } = await run({ payload: fs.readFileSync(out) });
      expect(port).toBe('ok');
      expect(msg.roc.attestation).toMatchObject({ numeroAmc: '0775685365', numeroAdherent: B05.numeroAdherent, finValidite: '2025-12-31' });
      expect(await cardMain(['B99'])).toBe(1);
      expect(await cardMain(['B01', '--rotate', '45'])).toBe(2);
      expect(err.mock.calls.flat().join('\n')).toMatch(/--rotate doit valoir 0, 90, 180 ou 270/);
    } finally {
      log.mockRestore();
      err.mockRestore();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
