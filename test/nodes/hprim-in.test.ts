/**
 * Node tests (node-red-node-test-helper) of roc-hprim-in in temp directories: HPRIM Santé and
 * HPRIM XML files dropped → one message per admission + the acknowledgement file; a half-written
 * file taken only once complete; a file never emitted twice (dropped again after a restart, or
 * left in place by a crash between acknowledging and moving); a file ending mid-record answered
 * with an ERR file naming the place and moved to error/ while the node keeps running; a file that
 * is not HPRIM; the `.ok` marker convention. Polls are followed through the watcher's `poll`
 * event, never by sleeping a guessed time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import * as iconv from 'iconv-lite';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import hprimNode from '../../nodes/roc-hprim-in/roc-hprim-in';
import { STATE_FILE, type HprimDropWatcher } from '../../lib/gap/hprim-watcher';
import { parseHprimRecords, fieldValue } from '../../lib/hprim';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jsonata = require('jsonata') as (expr: string) => { evaluate(input: unknown): Promise<unknown> };
import { readHprimFile } from '../../lib/hprim';
import { expectNoPatientData, identifiersFromAdmissions, watchNodeRed } from '../support/patient-data';
import { useLanguage } from '../support/i18n';

helper.init(require.resolve('node-red'));
// Status and log texts in French, as the assertions below read them (Node-RED's runtime language).
useLanguage(helper, 'fr');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js');

const FIX = path.join(__dirname, '..', 'fixtures', 'hprim');
const ADM = fs.readFileSync(path.join(FIX, 'hprim-own-adm-2-patients-utf8-cr.hpr'));
const SORTIE = fs.readFileSync(path.join(FIX, 'hprim-own-adm-sortie-8859-15-crlf.hpr'));
const VENUE_XML = fs.readFileSync(path.join(FIX, 'hprimxml-own-venue-debiteurs.xml'));
const seen = watchNodeRed(helper);
/** What these tests send of patients: none of it may show in a status, a log line or an error. */
const PATIENTS = identifiersFromAdmissions(
  [ADM, SORTIE, VENUE_XML].flatMap((f) => readHprimFile('patients.hpr', f).result?.admissions ?? []),
);
afterEach(() => {
  try {
    expectNoPatientData(seen, PATIENTS);
  } finally {
    seen.clear();
  }
});
const PATIENT_DATA = ['DUPRÉ', 'Hélène', 'LEFÈVRE', '19780314', '1978-03-14', '2780345123456', 'CŒUR', 'Zoé', '2850213005042', 'MARTIN'];

type Msg = { roc: any; hprim: any; error?: { message: string } };

let dir: string;
let outs: Msg[];
let caught: Msg[];

function flow(extra: Record<string, unknown> = {}) {
  return [
    { id: 'f1', type: 'tab', label: 'hprim' },
    {
      id: 'in',
      x: 100,
      y: 100,
      z: 'f1',
      type: 'roc-hprim-in',
      name: 'GAP',
      inputDir: path.join(dir, 'in'),
      processedDir: path.join(dir, 'processed'),
      errorDir: path.join(dir, 'error'),
      ackDir: path.join(dir, 'ack'),
      interval: 0.05,
      quiet: 0.2,
      pattern: '*.hpr, *.xml',
      ...extra,
      wires: [['out']],
    },
    { id: 'out', x: 300, y: 100, z: 'f1', type: 'helper', wires: [] },
    { id: 'catch', x: 100, y: 200, z: 'f1', type: 'catch', scope: ['in'], wires: [['caught']] },
    { id: 'caught', x: 300, y: 200, z: 'f1', type: 'helper', wires: [] },
  ];
}

async function load(extra: Record<string, unknown> = {}): Promise<HprimDropWatcher> {
  await helper.load([hprimNode, catchNode], flow(extra));
  helper.getNode('out').on('input', (m: Msg) => outs.push(m));
  helper.getNode('caught').on('input', (m: Msg) => caught.push(m));
  return (helper.getNode('in') as unknown as { watcher: HprimDropWatcher }).watcher;
}

/** Resolves after `n` more polls of the watcher. */
function polls(w: HprimDropWatcher, n: number): Promise<void> {
  return new Promise((resolve) => {
    let k = 0;
    const on = () => {
      if (++k >= n) {
        w.off('poll', on);
        resolve();
      }
    };
    w.on('poll', on);
  });
}

/** Polls until `cond` holds (at most 200 polls). */
async function until(w: HprimDropWatcher, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await polls(w, 1);
  expect(cond()).toBe(true);
}

const ls = (sub: string) =>
  fs.existsSync(path.join(dir, sub))
    ? fs
        .readdirSync(path.join(dir, sub))
        .filter((f) => !f.startsWith('.'))
        .sort()
    : [];
const drop = (name: string, data: Buffer | string) => fs.writeFileSync(path.join(dir, 'in', name), data);

/** An HPRIM Santé acknowledgement read back with lib/hprim's record parser. */
function readSanteAck(file: string) {
  const text = iconv.decode(fs.readFileSync(path.join(dir, 'ack', file)), 'iso-8859-15');
  const recs = parseHprimRecords(text);
  const d = recs.delimiters;
  const h = recs.records[0];
  const errs = recs.records.filter((r) => r.type === 'ERR');
  return {
    text,
    type: fieldValue(h, { field: 7 }, d),
    errs: errs.map((r) => ({
      acked: fieldValue(r, { field: 3 }, d),
      status: fieldValue(r, { field: 4 }, d),
      code: fieldValue(r, { field: 5 }, d),
      label: fieldValue(r, { field: 6 }, d),
      line: fieldValue(r, { field: 7, component: 1 }, d),
      record: fieldValue(r, { field: 7, component: 2 }, d),
      field: fieldValue(r, { field: 7, component: 3 }, d),
    })),
  };
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-hprim-in-'));
  fs.mkdirSync(path.join(dir, 'in'));
  outs = [];
  caught = [];
});

afterEach(async () => {
  await helper.unload();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('roc-hprim-in: files read and acknowledged', () => {
  it('HPRIM Santé ADM (UTF-8, A| continuations): one message per admission with the dossier parts, an ACK file, the file moved to processed/', async () => {
    const w = await load();
    drop('ADM20260312A.HPR', ADM);
    await until(w, () => ls('processed').length === 1);
    expect(outs).toHaveLength(2);
    const [m1, m2] = outs;
    expect(m1.hprim).toEqual({
      file: 'ADM20260312A.HPR',
      format: 'hprim-sante',
      messageId: 'ADM20260312A.HPR',
      sender: 'GAP01',
      index: 1,
      count: 2,
    });
    expect(m2.hprim.index).toBe(2);
    expect(m1.roc.action).toBe('IDB');
    expect(m1.roc.admission).toMatchObject({
      event: 'A',
      meaning: 'IDB',
      patient: { nom: 'DUPRÉ', prenom: 'Hélène' },
      venue: { numeroVenue: { value: 'VEN2600056789' } },
    });
    expect(m1.roc.amc).toEqual({ numeroAmc: '0012345678', typeConvention: 'CS' });
    expect(m1.roc.beneficiaire).toMatchObject({
      nir: '2780345123456',
      cleNir: '77',
      dateNaissance: '1978-03-14',
      nom: 'DUPRÉ',
      prenom: 'Hélène',
      numeroAdherent: '0000456789',
    });
    expect(m1.roc.venue).toEqual({
      type: 'HOSPITALISATION',
      dateEntree: '2026-03-12',
      numeroDossier: 'NDA26001234',
      numeroVenue: 'VEN2600056789',
    });
    expect(m2.roc.admission.patient.prenom).toBe('François');
    expect(ls('processed')).toEqual(['ADM20260312A.HPR']);
    expect(ls('in')).toEqual([]);
    expect(ls('error')).toEqual([]);
    expect(ls('ack')).toEqual(['ADM20260312A.HPR.ACK']);
    const ack = readSanteAck('ADM20260312A.HPR.ACK');
    expect(ack.type).toBe('ACK');
    expect(ack.errs).toEqual([expect.objectContaining({ acked: 'ADM20260312A.HPR', status: 'OK' })]);
    expect(caught).toEqual([]);
  });

  it('HPRIM Santé discharge in ISO 8859-15 with CRLF: CLC action, accepted with the NDA warning in the ACK', async () => {
    const w = await load();
    drop('ADM20260315B.hpr', SORTIE);
    await until(w, () => ls('processed').length === 1);
    expect(outs).toHaveLength(1);
    expect(outs[0].roc.action).toBe('CLC');
    expect(outs[0].roc.admission.patient.nom).toBe('CŒUR');
    expect(outs[0].roc.venue).toMatchObject({ dateEntree: '2026-03-10', dateSortie: '2026-03-15', numeroDossier: 'NDA26000777' });
    const ack = readSanteAck('ADM20260315B.hpr.ACK');
    expect(ack.type).toBe('ACK');
    expect(ack.errs).toEqual([expect.objectContaining({ status: 'AVERTISSEMENT', code: 'VENUE_FROM_NDA', line: '2', record: 'P' })]);
  });

  it('HPRIM XML evenementsPatients: venue + debiteurs as two messages, acquittementsPatients OK in the ack directory', async () => {
    const w = await load();
    drop('EVT-20260312-000123.xml', VENUE_XML);
    await until(w, () => ls('processed').length === 1);
    expect(outs.map((m) => [m.hprim.index, m.roc.action, m.roc.admission.event])).toEqual([
      [1, 'IDB', 'venuePatient'],
      [2, 'UPDATE', 'debiteursVenue'],
    ]);
    expect(outs[0].hprim).toMatchObject({
      file: 'EVT-20260312-000123.xml',
      format: 'hprim-xml',
      messageId: 'EVT-20260312-000123',
      sender: 'GAP01',
      count: 2,
    });
    expect(outs[0].roc.venue).toMatchObject({ type: 'HOSPITALISATION', dateEntree: '2026-03-12', numeroVenue: 'VEN2600056789' });
    expect(outs[1].roc.amc).toMatchObject({ numeroAmc: '0012345678', typeConvention: 'CS' });
    expect(ls('ack')).toEqual(['EVT-20260312-000123.acq.xml']);
    const xml = fs.readFileSync(path.join(dir, 'ack', 'EVT-20260312-000123.acq.xml'), 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const ack = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' }).parse(xml).acquittementsPatients;
    expect(ack['@_xmlns']).toBe('http://www.hprim.org/hprimXML');
    expect(ack.enteteMessageAcquittement['@_statut']).toBe('OK');
    expect(ack.enteteMessageAcquittement.identifiantMessageAcquitte).toBe('EVT-20260312-000123');
  });

  it('ignores files that do not match the pattern and a .tmp being written', async () => {
    const w = await load();
    drop('notes.txt', 'rien');
    drop('ADM20260312A.HPR.tmp', ADM);
    await polls(w, 4);
    expect(outs).toEqual([]);
    expect(ls('in')).toEqual(['ADM20260312A.HPR.tmp', 'notes.txt']);
    expect(ls('ack')).toEqual([]);
  });
});

describe('roc-hprim-in: files appear half-written', () => {
  it('a file written in two steps across polls is taken only once complete', async () => {
    const w = await load();
    const cut = ADM.indexOf('AC|1|77777777');
    const full = path.join(dir, 'in', 'ADM20260312A.HPR');
    fs.writeFileSync(full, ADM.subarray(0, cut));
    await polls(w, 1); // seen once, half-written
    fs.appendFileSync(full, ADM.subarray(cut, cut + 20)); // the writer goes on before the next poll
    await polls(w, 1); // changed: still not taken
    expect(ls('in')).toEqual(['ADM20260312A.HPR']);
    fs.appendFileSync(full, ADM.subarray(cut + 20));
    await until(w, () => ls('processed').length === 1);
    expect(outs).toHaveLength(2);
    expect(ls('error')).toEqual([]);
    expect(ls('ack')).toEqual(['ADM20260312A.HPR.ACK']);
  });

  it('a paused writer (the finding): half a file, a pause of many polls shorter than the quiet period, the rest → one file processed complete, nothing refused or caught', async () => {
    const w = await load({ quiet: 2 });
    const full = path.join(dir, 'in', 'ADM20260312A.HPR');
    const text = ADM.toString('utf8');
    const cut = Buffer.byteLength(text.slice(0, text.indexOf('|OP|UF1010')));
    fs.writeFileSync(full, ADM.subarray(0, cut));
    await polls(w, 10); // 10 polls of 50 ms: the old rule (two equal polls) took and refused it here
    expect(ls('in')).toEqual(['ADM20260312A.HPR']);
    fs.appendFileSync(full, ADM.subarray(cut));
    await until(w, () => ls('processed').length === 1);
    await polls(w, 3);
    expect(outs).toHaveLength(2);
    expect(outs.map((m) => m.hprim.index)).toEqual([1, 2]);
    expect(ls('error')).toEqual([]);
    expect(ls('ack')).toEqual(['ADM20260312A.HPR.ACK']);
    expect(caught).toEqual([]);
  });

  it('marker convention: waits for <name>.ok, then takes the file and removes the marker', async () => {
    const w = await load({ completion: 'marker', pattern: '*' }); // the marker itself is never taken as a file
    drop('ADM20260312A.HPR', ADM.subarray(0, 100));
    await polls(w, 3);
    expect(outs).toEqual([]);
    expect(ls('in')).toEqual(['ADM20260312A.HPR']);
    drop('ADM20260312A.HPR', ADM);
    drop('ADM20260312A.HPR.ok', '');
    await until(w, () => ls('processed').length === 1);
    expect(outs).toHaveLength(2);
    expect(ls('in')).toEqual([]);
    expect(ls('error')).toEqual([]);
  });
});

describe('roc-hprim-in: a file is never processed twice', () => {
  it('the same file dropped again after a restart of the node is moved aside (timestamp prefix), not re-emitted, not re-acknowledged', async () => {
    let w = await load();
    drop('ADM20260312A.HPR', ADM);
    await until(w, () => ls('processed').length === 1);
    expect(outs).toHaveLength(2);
    expect(fs.existsSync(path.join(dir, 'processed', STATE_FILE))).toBe(true);
    await helper.unload();
    outs = [];
    w = await load();
    drop('ADM20260312A.HPR', ADM);
    drop('ADM-renvoi.hpr', ADM); // same content under another name
    await until(w, () => ls('processed').length === 3);
    expect(outs).toEqual([]);
    const moved = ls('processed');
    expect(moved).toContain('ADM20260312A.HPR');
    expect(moved).toContain('ADM-renvoi.hpr');
    expect(moved.find((f) => /^\d{8}T\d{9}Z-ADM20260312A\.HPR$/.test(f))).toBeDefined();
    expect(ls('ack')).toEqual(['ADM20260312A.HPR.ACK']);
    expect(ls('in')).toEqual([]);
  });

  it('a crash between acknowledging and moving: on restart the file still in the drop directory is moved without being emitted again', async () => {
    let w = await load();
    drop('ADM20260312A.HPR', ADM);
    await until(w, () => ls('processed').length === 1);
    expect(outs).toHaveLength(2);
    await helper.unload();
    // the disk as a crash after the state was written and before the move leaves it
    fs.renameSync(path.join(dir, 'processed', 'ADM20260312A.HPR'), path.join(dir, 'in', 'ADM20260312A.HPR'));
    outs = [];
    w = await load();
    await until(w, () => ls('in').length === 0);
    await polls(w, 2);
    expect(outs).toEqual([]);
    expect(ls('processed')).toEqual(['ADM20260312A.HPR']);
    expect(ls('ack')).toEqual(['ADM20260312A.HPR.ACK']);
  });

  it('a changed file under the same name is new: read and acknowledged again', async () => {
    let w = await load();
    drop('ADM20260312A.HPR', ADM);
    await until(w, () => ls('processed').length === 1);
    await helper.unload();
    outs = [];
    w = await load();
    drop('ADM20260312A.HPR', SORTIE);
    await until(w, () => ls('processed').length === 2);
    expect(outs).toHaveLength(1);
    expect(outs[0].roc.action).toBe('CLC');
    expect(ls('ack')).toHaveLength(2);
  });
});

describe('roc-hprim-in: bad input', () => {
  it('a file ending mid-record: ERR file naming line, record and field; moved to error/; caught without patient data; the node goes on', async () => {
    const w = await load();
    const text = ADM.toString('utf8');
    const cut = text.indexOf('|OP|UF1010'); // inside the second P record
    drop('ADM20260312C.hpr', Buffer.from(text.slice(0, cut), 'utf8'));
    await until(w, () => ls('error').length === 1);
    expect(outs).toEqual([]);
    expect(ls('error')).toEqual(['ADM20260312C.hpr']);
    expect(ls('ack')).toEqual(['ADM20260312C.hpr.ERR']);
    const ack = readSanteAck('ADM20260312C.hpr.ERR');
    expect(ack.type).toBe('ERR');
    expect(ack.errs[0]).toMatchObject({ acked: 'ADM20260312A.HPR', status: 'ERREUR', code: 'TRUNCATED', record: 'P' });
    const pLine = text.slice(0, text.lastIndexOf('\rP|2|')).split('\r').length + 1;
    expect(Number(ack.errs[0].line)).toBe(pLine);
    expect(Number(ack.errs[0].field)).toBeGreaterThan(20);

    await until(w, () => caught.length === 1);
    const c = caught[0];
    expect(c.error!.message).toContain('ADM20260312C.hpr');
    expect(c.error!.message).toContain('tronqué');
    expect(c.hprim.errors[0]).toMatchObject({ code: 'TRUNCATED', line: pLine, record: 'P' });
    expect(c.roc).toBeUndefined();
    const seen = JSON.stringify(c) + ack.text;
    for (const p of PATIENT_DATA) expect(seen).not.toContain(p);

    // still running: the next file is read
    drop('ADM20260312A.HPR', ADM);
    await until(w, () => ls('processed').length === 1);
    expect(outs).toHaveLength(2);
  });

  it('a file that is not HPRIM (random bytes): ERR file NOT_HPRIM at line 1, error/, caught', async () => {
    const w = await load();
    drop('scan.hpr', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 2, 3, 255, 254]));
    drop('facture.xml.hpr', 'Bonjour, ceci est un courrier.\n');
    await until(w, () => ls('error').length === 2);
    expect(outs).toEqual([]);
    expect(ls('ack')).toEqual(['facture.xml.hpr.ERR', 'scan.hpr.ERR']);
    const ack = readSanteAck('scan.hpr.ERR');
    expect(ack.type).toBe('ERR');
    expect(ack.errs).toEqual([expect.objectContaining({ acked: 'scan.hpr', status: 'ERREUR', code: 'NOT_HPRIM', line: '1' })]);
    await until(w, () => caught.length === 2);
    expect(caught.map((c) => c.hprim.errors[0].code)).toEqual(['NOT_HPRIM', 'NOT_HPRIM']);
  });

  it('an XML file that is not evenementsPatients: acquittementsPatients erreur, error/', async () => {
    const w = await load();
    drop('autre.xml', '<?xml version="1.0"?>\n<facture xmlns="urn:x"><n>1</n></facture>\n');
    await until(w, () => ls('error').length === 1);
    const xml = fs.readFileSync(path.join(dir, 'ack', 'autre.acq.xml'), 'utf8');
    const ack = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' }).parse(xml).acquittementsPatients;
    expect(ack.enteteMessageAcquittement['@_statut']).toBe('erreur');
    expect(ack.enteteMessageAcquittement.identifiantMessageAcquitte).toBe('autre.xml');
    expect(ack.observations.observation.code).toBe('XML_NOT_EVENEMENTS');
    await until(w, () => caught.length === 1);
    expect(caught[0].hprim).toMatchObject({
      file: 'autre.xml',
      format: 'hprim-xml',
      errors: [expect.objectContaining({ code: 'XML_NOT_EVENEMENTS' })],
    });
  });

  it('a refused file dropped again is not answered twice', async () => {
    const w = await load();
    drop('scan.hpr', 'pas du HPRIM');
    await until(w, () => ls('error').length === 1);
    drop('scan.hpr', 'pas du HPRIM');
    await until(w, () => ls('error').length === 2);
    await polls(w, 2);
    expect(ls('ack')).toEqual(['scan.hpr.ERR']);
    expect(caught).toHaveLength(1);
  });

  it('a configuration with the ack directory equal to the drop directory is refused with a clear error', async () => {
    await helper.load([hprimNode, catchNode], flow({ ackDir: path.join(dir, 'in') }));
    const n = helper.getNode('in') as unknown as { watcher?: HprimDropWatcher };
    expect(n.watcher).toBeUndefined();
  });
});

describe('examples/roc-hprim-in.json', () => {
  it('runs: a dropped ADM file reaches the IDB debug node, a truncated one the catch debug node', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const switchNode = require('@node-red/nodes/core/function/10-switch.js');
    const example = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'roc-hprim-in.json'), 'utf8')) as any[];
    const nodes = example.map((n) => {
      if (n.type === 'debug') return { id: n.id, z: 'tab', type: 'helper', x: n.x, y: n.y, wires: [] };
      if (n.type === 'roc-hprim-in') return { ...n, z: 'tab', inputDir: path.join(dir, 'in'), interval: 0.05, quiet: 0.2 };
      return { ...n, z: 'tab' };
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const commentNode = require('@node-red/nodes/core/common/90-comment.js');
    await helper.load([hprimNode, catchNode, switchNode, commentNode], [{ id: 'tab', type: 'tab', label: 'ex' }, ...nodes]);
    const got: Record<string, Msg[]> = { 'ex-hprim-d1': [], 'ex-hprim-d2': [], 'ex-hprim-d3': [] };
    for (const id of Object.keys(got)) helper.getNode(id).on('input', (m: Msg) => got[id].push(m));
    const w = (helper.getNode('ex-hprim-in') as unknown as { watcher: HprimDropWatcher }).watcher;
    drop('ADM20260312A.HPR', ADM);
    drop('ADM20260315B.hpr', SORTIE);
    drop('ADM-coupe.hpr', ADM.subarray(0, 200));
    await until(w, () => got['ex-hprim-d1'].length === 2 && got['ex-hprim-d2'].length === 1 && got['ex-hprim-d3'].length === 1);
    expect(got['ex-hprim-d1'].map((m) => m.roc.action)).toEqual(['IDB', 'IDB']);
    expect(got['ex-hprim-d2'][0].roc.action).toBe('CLC');
    expect(got['ex-hprim-d3'][0].hprim.errors[0].code).toBe('TRUNCATED');
    expect(ls('in/ack').sort()).toEqual(['ADM-coupe.hpr.ERR', 'ADM20260312A.HPR.ACK', 'ADM20260315B.hpr.ACK']);

    // what the example's debug nodes print to the sidebar: outcome fields, never the patient
    const debugs = example.filter((n) => n.type === 'debug');
    expect(debugs).toHaveLength(3);
    const printed: unknown[] = [];
    for (const d of debugs) {
      expect(d.targetType).toBe('jsonata'); // not the whole msg, msg.roc or msg.payload
      const expr = jsonata(d.complete);
      for (const m of got[d.id]) printed.push(await expr.evaluate(m));
    }
    expect(printed).toEqual([
      { action: 'IDB', fichier: 'ADM20260312A.HPR', admission: '1/2', message: 'ADM20260312A.HPR' },
      { action: 'IDB', fichier: 'ADM20260312A.HPR', admission: '2/2', message: 'ADM20260312A.HPR' },
      { action: 'CLC', fichier: 'ADM20260315B.hpr', admission: '1/1', message: expect.any(String) },
      { fichier: 'ADM-coupe.hpr', acquittement: 'ADM-coupe.hpr.ERR', erreurs: [expect.stringMatching(/^TRUNCATED ligne \d+ /)] },
    ]);
    const shown = JSON.stringify(printed);
    for (const p of PATIENT_DATA) expect(shown).not.toContain(p);
  });
});

describe('roc-hprim-in: order and the directories', () => {
  it('files are read in the order they were written (modification time), not by name', async () => {
    const sortie = path.join(dir, 'in', 'A-sortie.hpr');
    const admission = path.join(dir, 'in', 'Z-admission.hpr');
    fs.writeFileSync(admission, ADM);
    fs.writeFileSync(sortie, SORTIE);
    const t = Date.now() / 1000;
    fs.utimesSync(admission, t - 120, t - 120);
    fs.utimesSync(sortie, t - 60, t - 60);
    const w = await load();
    await until(w, () => ls('processed').length === 2);
    expect(outs.map((m) => m.hprim.file)).toEqual(['Z-admission.hpr', 'Z-admission.hpr', 'A-sortie.hpr']);
  });

  it('a state file with an unreadable line: a copy set aside, one catch-able error, the other lines still recognised, the node goes on', async () => {
    let w = await load();
    drop('ADM20260312A.HPR', ADM);
    await until(w, () => ls('processed').length === 1);
    await helper.unload();
    const state = path.join(dir, 'processed', STATE_FILE);
    fs.writeFileSync(state, '{"name":"x","si\n' + fs.readFileSync(state, 'utf8'));
    outs = [];
    w = await load();
    drop('ADM20260312A.HPR', ADM); // still known: the good line survived
    drop('ADM20260315B.hpr', SORTIE);
    await until(w, () => ls('processed').length === 3 && caught.length === 1);
    expect(caught[0].error!.message).toContain("fichier d'état illisible (1 ligne(s))");
    expect(fs.readdirSync(path.join(dir, 'processed')).some((f) => f.startsWith(STATE_FILE) && f.endsWith('.corrupt'))).toBe(true);
    expect(outs.map((m) => m.hprim.file)).toEqual(['ADM20260315B.hpr']);
    expect(fs.readFileSync(state, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('a torn last line (a crash during the append) is dropped silently: that file was not acknowledged and is read again', async () => {
    fs.mkdirSync(path.join(dir, 'processed'));
    fs.writeFileSync(path.join(dir, 'processed', STATE_FILE), '{"name":"ADM20260312A.HPR","size":12');
    const w = await load();
    drop('ADM20260312A.HPR', ADM);
    await until(w, () => ls('processed').length === 1);
    expect(outs).toHaveLength(2);
    expect(caught).toEqual([]);
  });

  it('a drop directory that disappears is reported once, and files are read again when it is back', async () => {
    const w = await load();
    await polls(w, 1);
    fs.rmSync(path.join(dir, 'in'), { recursive: true });
    await until(w, () => caught.length === 1);
    await polls(w, 3); // still missing: not reported again
    fs.mkdirSync(path.join(dir, 'in'));
    drop('ADM20260312A.HPR', ADM);
    await until(w, () => ls('processed').length === 1);
    expect(caught).toHaveLength(1);
    expect(caught[0].error!.message).toContain('ENOENT');
    expect(outs).toHaveLength(2);
  });
});
