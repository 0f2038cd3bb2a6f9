/**
 * roc-desk-request and roc-desk-answer in a Node-RED runtime (node-red-node-test-helper), wired as
 * the shipped desk flow wires them: request → roc-datamatrix → switch "patient complet ?" → (the
 * AMC services, here a helper node) / answer. Scans are the simulator's fictitious cards.
 */
import helper from 'node-red-node-test-helper';
import requestNode from '../../nodes/roc-desk-request/roc-desk-request';
import answerNode from '../../nodes/roc-desk-answer/roc-desk-answer';
import datamatrixNode from '../../nodes/roc-datamatrix/roc-datamatrix';
import { cardText, findBeneficiary } from '../../simulator/cards';
import { loadSeed } from '../../simulator/seed';
import { useLanguage } from '../support/i18n';

helper.init(require.resolve('node-red'));
// Status and log texts in French, as the assertions below read them (Node-RED's runtime language).
useLanguage(helper, 'fr');

// eslint-disable-next-line @typescript-eslint/no-require-imports
const switchNode = require('@node-red/nodes/core/function/10-switch.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js');

const B01 = findBeneficiary(loadSeed().seed, 'B01')!;
const PATIENT = {
  nir: B01.nir,
  cleNir: B01.cleNir,
  dateNaissance: B01.dateNaissance,
  rangNaissance: '1',
  nom: B01.nom,
  prenom: B01.prenom,
};
const SEJOUR = { type: 'HOSPITALISATION', dateEntree: '2026-11-20', dateSortie: '2026-11-24', numeroDossier: 'NDA-2026-004512' };

function flow(tariffs: Record<string, unknown> = {}) {
  return [
    { id: 'f1', type: 'tab', label: 'guichet' },
    {
      id: 'req',
      x: 100,
      y: 100,
      z: 'f1',
      type: 'roc-desk-request',
      name: 'demande du guichet',
      forfaitJournalier: 20,
      chambreParticuliere: 75,
      tauxAmoGhs: 80,
      ...tariffs,
      wires: [['dm']],
    },
    { id: 'dm', x: 100, y: 100, z: 'f1', type: 'roc-datamatrix', wires: [['complet'], ['rep']] },
    {
      id: 'complet',
      x: 100,
      y: 100,
      z: 'f1',
      type: 'switch',
      property: 'desk.saisie',
      propertyType: 'msg',
      rules: [{ t: 'null' }, { t: 'else' }],
      checkall: 'false',
      outputs: 2,
      wires: [['amc'], ['rep']],
    },
    { id: 'amc', x: 100, y: 100, z: 'f1', type: 'helper' },
    { id: 'rep', x: 100, y: 100, z: 'f1', type: 'roc-desk-answer', wires: [['out']] },
    { id: 'out', x: 100, y: 100, z: 'f1', type: 'helper' },
    { id: 'catch', x: 100, y: 100, z: 'f1', type: 'catch', scope: ['req'], wires: [['caught']] },
    { id: 'caught', x: 100, y: 100, z: 'f1', type: 'helper' },
  ];
}

/** Sends a request body, resolves with the helper node it reached and the message. */
function post(payload: unknown, req: Record<string, unknown> = {}): Promise<{ at: string; msg: any }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no outcome within 10 s')), 10000);
    for (const id of ['amc', 'out', 'caught']) {
      helper.getNode(id).on('input', (msg: any) => {
        clearTimeout(timer);
        resolve({ at: id, msg });
      });
    }
    helper.getNode('req').receive({ payload, req });
  });
}

afterEach(async () => {
  await helper.unload();
});

describe('roc-desk-request → roc-datamatrix → roc-desk-answer', () => {
  it('a complete form: the dossier goes on to the AMC, the quote priced with the node’s tariffs', async () => {
    await helper.load(
      [requestNode, datamatrixNode, switchNode, answerNode, catchNode],
      flow({ forfaitJournalier: '18,50', chambreParticuliere: 90 }),
    );
    const { at, msg } = await post({
      scan: cardText(B01),
      patient: PATIENT,
      sejour: SEJOUR,
      devis: { demande: true, ghs: '', nuits: '', chambreParticuliere: true },
    });
    expect(at).toBe('amc');
    expect(msg.roc.amc.numeroAmc).toBe('0775685365');
    expect(msg.roc.beneficiaire).toMatchObject({ nir: B01.nir, cleNir: B01.cleNir, rangNaissance: 1 });
    expect(msg.roc.venue).toEqual(SEJOUR);
    expect(msg.roc.devis.numero).toBe(`DEVIS-${msg._msgid}`);
    expect(msg.roc.devis.lignes.map((l: any) => [l.code, l.quantite, l.prixUnitaire])).toEqual([
      ['FJ', 4, 18.5],
      ['CP', 4, 90],
    ]);
  });

  it('a missing NIR: answered at once (SAISIE, 200, no-store), without calling the AMC', async () => {
    await helper.load([requestNode, datamatrixNode, switchNode, answerNode, catchNode], flow());
    const { at, msg } = await post({ scan: cardText(B01), patient: { ...PATIENT, nir: '', cleNir: '' }, sejour: SEJOUR });
    expect(at).toBe('out');
    expect(msg.statusCode).toBe(200);
    expect(msg.headers).toEqual({ 'Cache-Control': 'no-store' });
    expect(msg.payload.guichet).toMatchObject({ verdict: 'SAISIE', titre: 'Patient à compléter', etape: 'patient', source: 'texte' });
    expect(msg.payload.guichet.motif).toMatch(/indiquez le NIR du patient/);
    expect(msg.payload.amc.numeroAmc).toBe('0775685365');
    expect(typeof msg.payload.guichet.dureeMs).toBe('number');
  });

  it('a wrong NIR key is asked again, not sent', async () => {
    await helper.load([requestNode, datamatrixNode, switchNode, answerNode, catchNode], flow());
    const { at, msg } = await post({ scan: cardText(B01), patient: { ...PATIENT, cleNir: '00' }, sejour: SEJOUR });
    expect(at).toBe('out');
    expect(msg.payload.guichet.motif).toMatch(/la clé du NIR/);
  });

  it('an unreadable scan: LECTURE with the reader’s reason, even when the form is incomplete', async () => {
    await helper.load([requestNode, datamatrixNode, switchNode, answerNode, catchNode], flow());
    const { at, msg } = await post(cardText(B01).slice(0, 25));
    expect(at).toBe('out');
    expect(msg.payload.guichet).toMatchObject({ verdict: 'LECTURE', titre: 'Attestation non lue', etape: 'attestation' });
    expect(msg.payload.guichet.motif).toMatch(/La lecture est incomplète/);
  });

  it('a multipart photo upload hands the image bytes to the reader', async () => {
    await helper.load([requestNode, datamatrixNode, switchNode, answerNode, catchNode], flow());
    const garbage = Buffer.alloc(600, 7);
    const { at, msg } = await post(
      { demande: JSON.stringify({ patient: PATIENT, sejour: SEJOUR }) },
      { files: [{ fieldname: 'image', buffer: garbage }] },
    );
    expect(at).toBe('out');
    expect(msg.payload.guichet.verdict).toBe('LECTURE');
  });

  it('out-of-range tariffs: red status and every message to catch, rather than a wrong quote', async () => {
    await helper.load([requestNode, datamatrixNode, switchNode, answerNode, catchNode], flow({ tauxAmoGhs: 180 }));
    const { at, msg } = await post({ scan: cardText(B01), patient: PATIENT, sejour: SEJOUR });
    expect(at).toBe('caught');
    expect(msg.error.message).toMatch(/taux AMO du séjour \(%\) : de 0 à 100/);
  });
});

describe('roc-desk-answer', () => {
  it('a technical KO at the IDB after two tries: TECHNIQUE in the clerk’s words, nothing in ms', async () => {
    await helper.load(
      [answerNode],
      [
        { id: 'rep', type: 'roc-desk-answer', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ],
    );
    const out = helper.getNode('out');
    const got = new Promise<any>((resolve) => out.on('input', resolve));
    helper.getNode('rep').receive({
      desk: { t0: Date.now() - 10_300 },
      roc: {
        attestation: { status: 'OK', source: 'texte' },
        amc: { numeroAmc: '0775685365' },
        annuaire: { status: 'OK', technical: false, messages: [] },
        idb: {
          status: 'KO',
          technical: true,
          reason: 'délai de réponse de 5000 ms dépassé (IDB, 2 tentatives)',
          attempts: 2,
          latencyMs: 10_180,
          messages: [
            {
              code: 'BR-TIMEOUT',
              groupe: 'TECHNIQUE',
              severite: 'ERREUR',
              libelle: "Pas de réponse de l'organisme complémentaire dans le délai",
              action: 'REESSAYER',
            },
          ],
        },
      },
    });
    const msg = await got;
    expect(msg.payload.guichet).toMatchObject({
      verdict: 'TECHNIQUE',
      titre: 'AMC injoignable',
      code: 'BR-TIMEOUT',
      motif: 'Pas de réponse de l’organisme complémentaire dans le délai (2 essais en 10 s).',
    });
    expect(JSON.stringify(msg.payload.guichet)).not.toMatch(/\d ms|5000/);
  });
});

describe('shipped GAP tab: what its catch node does with a failure', () => {
  // The switch and change nodes exactly as shipped, with helper nodes standing for the listener
  // (gap-mllp: a FAILED outcome holds the venue) and the debug node.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const changeNode = require('@node-red/nodes/core/function/15-change.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const linkNode = require('@node-red/nodes/core/common/60-link.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const shipped: any[] = require('../../flows/roc-bridge.json');
  const gapCatch = shipped.find((n) => n.z === 'gap-tab' && n.type === 'catch');

  async function route(msg: Record<string, unknown>): Promise<{ mllp?: any; dbg: number }> {
    const nodes: any[] = [
      { id: 'gap-tab', type: 'tab', label: 'GAP' },
      { id: 'gap-mllp', z: 'gap-tab', x: 1, y: 1, type: 'helper' },
      { id: 'gap-dbg', z: 'gap-tab', x: 1, y: 1, type: 'helper' },
    ];
    const seen = new Set<string>();
    const add = (id: string) => {
      if (seen.has(id) || id === 'gap-mllp' || id === 'gap-dbg') return;
      seen.add(id);
      const n = shipped.find((x) => x.id === id);
      nodes.push(n);
      for (const port of n.wires) for (const w of port) add(w);
      if (n.type === 'link out') for (const l of n.links) add(l); // the loop back to the listener is a link
    };
    add(gapCatch.wires[0][0]);
    await helper.load([switchNode, changeNode, linkNode], nodes);
    let mllp: any;
    let dbg = 0;
    helper.getNode('gap-mllp').on('input', (m: any) => (mllp = m));
    helper.getNode('gap-dbg').on('input', () => dbg++);
    helper.getNode(gapCatch.wires[0][0]).receive(msg);
    await new Promise((r) => setTimeout(r, 300));
    return { mllp, dbg };
  }

  it('a technical KO (AMC down) is only shown: the venue is not held', async () => {
    const r = await route({
      hl7: { journalId: 12 },
      roc: { idb: { technical: true } },
      error: { message: 'IDB KO technique : …', code: 'ROC_TECHNICAL_KO', source: { type: 'roc-idb' } },
    });
    expect(r).toEqual({ mllp: undefined, dbg: 1 });
  });

  it('a reworded technical message changes nothing (the code decides)', async () => {
    const r = await route({
      hl7: { journalId: 12 },
      error: { message: 'AMC unreachable', code: 'ROC_TECHNICAL_KO', source: { type: 'roc-idb' } },
    });
    expect(r.mllp).toBeUndefined();
  });

  it('a processing error holds the venue with the failing node’s type, and is shown', async () => {
    const r = await route({
      hl7: { journalId: 12 },
      error: { message: 'KO technique dans le texte mais pas de code', source: { type: 'roc-hl7-admission' } },
    });
    expect(r.mllp.hl7).toEqual({ journalId: 12, status: 'FAILED', reason: 'erreur de traitement dans roc-hl7-admission' });
    expect(r.dbg).toBe(1);
  });

  it('an error on a message that never went through the journal is only shown', async () => {
    expect(await route({ error: { message: 'x', source: { type: 'roc-idb' } } })).toEqual({ mllp: undefined, dbg: 1 });
  });
});
