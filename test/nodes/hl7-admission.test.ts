/**
 * roc-hl7-admission (node-red-node-test-helper): each PAM-FR event leaves by the output of its ROC
 * meaning with msg.roc.admission, the dossier parts and msg.roc.action; the site's coverage
 * mapping is applied; msg.hl7 (the journal id for the feedback) is kept; bad input reaches catch
 * nodes with the place, never the values.
 */
import fs from 'node:fs';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import admissionNode from '../../nodes/roc-hl7-admission/roc-hl7-admission';
import { decodeFrame } from '../../lib/hl7/charset';
import { expectNoPatientData, identifiersFromHl7, identifiersOf, mergeIdentifiers, watchNodeRed } from '../support/patient-data';
import { useLanguage } from '../support/i18n';
import { dft } from '../support/dft';
import { bar } from '../support/bar';

helper.init(require.resolve('node-red'));
// Status and log texts in French, as the assertions below read them (Node-RED's runtime language).
useLanguage(helper, 'fr');
const seen = watchNodeRed(helper);
beforeEach(() => seen.clear());

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js');

const FIX = path.join(__dirname, '..', 'fixtures', 'hl7');
const read = (f: string) => decodeFrame(fs.readFileSync(path.join(FIX, f))).text;
const OUTS = ['idb', 'del', 'clc', 'update', 'identity', 'ignored'] as const;

function flowWith(props: Record<string, unknown> = {}) {
  return [
    { id: 't', type: 'tab', label: 'hl7' },
    { id: 'adm', type: 'roc-hl7-admission', z: 't', x: 100, y: 100, ...props, wires: OUTS.map((o) => [o]) },
    ...OUTS.map((o, i) => ({ id: o, type: 'helper', z: 't', x: 300, y: 40 * (i + 1), wires: [] })),
    { id: 'c', type: 'catch', z: 't', x: 100, y: 400, scope: ['adm'], wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't', x: 300, y: 400, wires: [] },
  ];
}

function run(msg: Record<string, unknown>): Promise<{ port: string; msg: any }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no output')), 5000);
    for (const id of [...OUTS, 'caught']) {
      helper.getNode(id).on('input', (m: any) => {
        clearTimeout(timer);
        resolve({ port: id, msg: m });
      });
    }
    helper.getNode('adm').receive(msg);
  });
}

afterEach(() => helper.unload());

describe('routing by ROC meaning', () => {
  beforeEach(() => helper.load([admissionNode, catchNode], flowWith()));

  it('A01 (UTF-8, AMO + AMC) → check rights, with the dossier parts and the journal id kept', async () => {
    const { port, msg } = await run({
      payload: read('pamfr-own-adt-a01-amo-amc-utf8.hl7'),
      hl7: { journalId: 17, controlId: 'A01-UTF8-0001' },
    });
    expect(port).toBe('idb');
    expect(msg.hl7.journalId).toBe(17);
    expect(msg.roc.action).toBe('IDB');
    expect(msg.roc.amc).toEqual({ numeroAmc: '0077554321' }); // no mapping: the annuaire supplies convention and CSR
    expect(msg.roc.beneficiaire).toMatchObject({
      nir: '2850759350123',
      cleNir: '24',
      dateNaissance: '1985-07-14',
      nom: 'LEFÈVRE-BŒUF',
      prenom: 'Hélène',
    });
    expect(msg.roc.venue).toMatchObject({ dateEntree: '2025-01-14', numeroVenue: '250100421', numeroDossier: '25010042' });
    expect(msg.roc.admission.event).toBe('A01');
    expect(msg.roc.admission.coverages).toHaveLength(2);
    // the status shows the event, the meaning and the counts: never the NIR, IPP, name or birth date
    expect(seen.statuses('adm').at(-1)).toEqual({ fill: 'green', shape: 'dot', text: 'A01 → IDB · IDB 1 · DEL 0 · CLC 0' });
    expectNoPatientData(seen, identifiersFromHl7(read('pamfr-own-adt-a01-amo-amc-utf8.hl7')));
  });

  it('A01 in ISO 8859-15 reads the same patient', async () => {
    const { port, msg } = await run({ payload: read('pamfr-own-adt-a01-amo-amc-8859-15.hl7') });
    expect(port).toBe('idb');
    expect(msg.roc.beneficiaire.nom).toBe('LEFÈVRE-BŒUF');
    expect(seen.statuses('adm').at(-1)?.text).toBe('A01 → IDB · IDB 1 · DEL 0 · CLC 0');
    expectNoPatientData(seen, identifiersFromHl7(read('pamfr-own-adt-a01-amo-amc-utf8.hl7')));
  });

  it.each([
    ['pamfr-own-adt-a11-annulation.hl7', 'del', 'DEL'],
    ['pamfr-own-adt-a03-sortie-8859-15-sans-msh18.hl7', 'clc', 'CLC'],
    ['pamfr-own-adt-a08-legacy-update.hl7', 'update', 'UPDATE'],
    ['pamfr-own-adt-z99-correction.hl7', 'update', 'UPDATE'],
    ['pamfr-own-adt-a31-identite.hl7', 'identity', 'IDENTITY'],
  ])('%s → %s', async (file, out, action) => {
    const { port, msg } = await run({ payload: read(file) });
    expect(port).toBe(out);
    expect(msg.roc.action).toBe(action);
    const status = seen.statuses('adm').at(-1);
    expect(status?.fill).toBe('green');
    expect(status?.text).toMatch(new RegExp(`^${msg.roc.admission.event} → ${action} · IDB \\d+ · DEL \\d+ · CLC \\d+$`));
    expectNoPatientData(seen, identifiersFromHl7(read(file)));
  });

  it('DFT^P03 invoice → the compute output (index 2), msg.roc.facture as CLC wants it, totals on the admission', async () => {
    const text = dft();
    const { port, msg } = await run({ payload: text, hl7: { journalId: 31 } });
    expect(port).toBe('clc');
    expect(msg.hl7.journalId).toBe(31);
    expect(msg.roc.action).toBe('INVOICE');
    expect(msg.roc.facture).toEqual({
      numero: 'FAC-2025-000731',
      dateFacture: '2025-01-18',
      lignes: [
        expect.objectContaining({
          numero: 1,
          code: 'GHS5091',
          quantite: 1,
          prixUnitaire: 2934.77,
          baseAmo: 2934.77,
          tauxAmo: 80,
          montantAmo: 2347.82,
        }),
        {
          numero: 2,
          code: 'FJ',
          dateDebut: '2025-01-14',
          dateFin: '2025-01-18',
          quantite: 4,
          prixUnitaire: 20,
          baseAmo: 0,
          tauxAmo: 0,
          montantAmo: 0,
        },
        expect.objectContaining({ numero: 3, code: 'PJ18', quantite: 1, prixUnitaire: 24 }),
      ],
    });
    for (const l of msg.roc.facture.lignes) expect(l).not.toHaveProperty('montant'); // a Ligne: no amount
    expect(msg.roc.admission.facture.totaux).toEqual({ total: 3038.77, amo: 2347.82, amc: 690.95, patient: 0 });
    expect(msg.roc.admission.facture.lignes[1].montant).toBe(80);
    expect(msg.roc.venue).toMatchObject({ numeroVenue: '250100421', dateEntree: '2025-01-14', dateSortie: '2025-01-18' });
    expect(msg.roc.amc).toEqual({ numeroAmc: '0077554321' });
    expect(seen.statuses('adm').at(-1)).toEqual({ fill: 'green', shape: 'dot', text: 'P03 → INVOICE · IDB 0 · DEL 0 · CLC 1' });
    expectNoPatientData(seen, identifiersFromHl7(text));
  });

  it('a DFT^P03 whose line does not add up goes to catch with the code and the line, never the values', async () => {
    const text = dft().replace('|CG|FJ^FJ^ROC|||4|80.00|20.00', '|CG|FJ^FJ^ROC|||4|90.00|20.00');
    const { port, msg } = await run({ payload: text });
    expect(port).toBe('caught');
    expect(msg.error.message).toMatch(/102 FT1-11/);
    expectNoPatientData([...seen.texts(), msg.error.message], identifiersFromHl7(text));
  });

  it('BAR^P05 AMO payment notice → the update output (index 3), msg.roc.action AMO_PAYMENT, msg.roc.amoPayment', async () => {
    const text = bar();
    const { port, msg } = await run({ payload: text, hl7: { journalId: 44 } });
    expect(port).toBe('update');
    expect(OUTS.indexOf(port as (typeof OUTS)[number])).toBe(3);
    expect(msg.hl7.journalId).toBe(44);
    expect(msg.roc.action).toBe('AMO_PAYMENT');
    expect(msg.roc.amoPayment).toEqual({
      key: '590780215/V/250100421',
      factureNumero: 'FAC-2025-000731',
      amoCents: 234782,
      paidAt: '2025-01-22',
    });
    expect(msg.roc.admission).toMatchObject({ messageType: 'BAR', event: 'P05', meaning: 'AMO_PAYMENT', amoPayment: msg.roc.amoPayment });
    expect(msg.roc.facture).toBeUndefined();
    expect(msg.roc.venue).toMatchObject({ numeroVenue: '250100421', dateSortie: '2025-01-18' });
    expect(seen.statuses('adm').at(-1)).toEqual({ fill: 'green', shape: 'dot', text: 'P05 → AMO_PAYMENT · IDB 0 · DEL 0 · CLC 0' });
    expectNoPatientData(seen, identifiersFromHl7(text));
  });

  it('a BAR^P05 whose ZFA-4 is not euros goes to catch with 102 ZFA-4, never the value', async () => {
    const text = bar({ zfa: { amo: '2347,82' } });
    const { port, msg } = await run({ payload: text });
    expect(port).toBe('caught');
    expect(msg.error.message).toMatch(/102 ZFA-4/);
    expect(msg.error.message).not.toMatch(/2347/);
    expectNoPatientData([...seen.texts(), msg.error.message], identifiersFromHl7(text));
  });

  it('an event without ROC effect → ignored', async () => {
    const text = read('pamfr-own-adt-a01-amo-amc-utf8.hl7').replace('ADT^A01^ADT_A01', 'ADT^A21^ADT_A21');
    const { port, msg } = await run({ payload: text });
    expect(port).toBe('ignored');
    expect(msg.roc.action).toBe('IGNORE');
    expectNoPatientData(seen, identifiersFromHl7(text));
  });

  it('bad input goes to catch with the code and the place, never the values', async () => {
    const noMsh = await run({ payload: 'PID|1||481516^^^CHU^PI||DUPONT^Jean\r' });
    expect(noMsh.port).toBe('caught');
    expect(noMsh.msg.error.message).toMatch(/illisible/);
    expect(noMsh.msg.error.message).not.toMatch(/DUPONT/);
    const badDate = await run({ payload: read('pamfr-own-adt-a01-amo-amc-utf8.hl7').replace('|19850714|F|', '|19851345|F|') });
    expect(badDate.port).toBe('caught');
    expect(badDate.msg.error.message).toMatch(/102 PID-7/);
    expect(badDate.msg.error.message).not.toMatch(/19851345/);
    const none = await run({ payload: 42 });
    expect(none.msg.error.message).toMatch(/msg.payload/);
    // nor in the status, the node's error log or the runtime log
    expect(seen.statuses('adm').at(-1)).toMatchObject({ fill: 'red' });
    const ids = mergeIdentifiers(
      identifiersFromHl7(read('pamfr-own-adt-a01-amo-amc-utf8.hl7')),
      identifiersOf({ names: ['DUPONT', 'Jean'], ipps: ['481516'] }),
    );
    expectNoPatientData([...seen.texts(), noMsh.msg.error.message, badDate.msg.error.message], ids);
  });
});

describe('site coverage mapping', () => {
  it('reads the convention type and the CSR where the site GAP puts them', async () => {
    await helper.load([admissionNode, catchNode], flowWith({ typeConvention: 'IN1-15', csr: 'IN1-46' }));
    const { msg } = await run({ payload: read('pamfr-own-adt-a01-amo-amc-utf8.hl7') });
    expect(msg.roc.amc).toEqual({ numeroAmc: '0077554321', typeConvention: 'MU', csr: 'HOSP-NORD' });
    expectNoPatientData(seen, identifiersFromHl7(read('pamfr-own-adt-a01-amo-amc-utf8.hl7')));
  });

  it('refuses an invalid field path with a clear reason', async () => {
    await helper.load([admissionNode, catchNode], flowWith({ typeConvention: 'somewhere' }));
    const { port, msg } = await run({ payload: read('pamfr-own-adt-a01-amo-amc-utf8.hl7') });
    expect(port).toBe('caught');
    expect(msg.error.message).toMatch(/typeConvention : chemin de champ invalide/);
    expectNoPatientData(seen, identifiersFromHl7(read('pamfr-own-adt-a01-amo-amc-utf8.hl7')));
  });
});
