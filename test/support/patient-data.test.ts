/**
 * The shared patient-data assertion itself: it finds a NIR (with or without key, spaced), a name
 * (any case, accents or not), a birth date (YYYYMMDD, YYYY-MM-DD, DD/MM/YYYY) and an IPP where a
 * test could see them — and it does fail when a node shows a NIR in its status, logs a name or
 * passes an error with a birth date to done().
 */
import fs from 'node:fs';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import { dateForms, expectNoPatientData, findPatientData, identifiersFromHl7, processOutput, watchNodeRed } from './patient-data';

helper.init(require.resolve('node-red'));
const seen = watchNodeRed(helper);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const functionNode = require('@node-red/nodes/core/function/10-function.js');

const A01 = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8');
const IDS = identifiersFromHl7(A01);

afterEach(async () => {
  await helper.unload();
  seen.clear();
});

describe('the identifiers of an input', () => {
  it('reads NIR (15 and 13), names, birth date in three forms and IPP from a PAM-FR message', () => {
    expect(IDS.nirs).toEqual(expect.arrayContaining(['285075935012324', '2850759350123']));
    expect(IDS.names).toEqual(expect.arrayContaining(['LEFÈVRE-BŒUF', 'Hélène', 'FRANÇOIS', 'Françoise', 'Cécile']));
    expect(IDS.birthDates).toEqual(['19850714', '1985-07-14', '14/07/1985']);
    expect(IDS.ipps).toEqual(['481516']);
  });

  it('writes a date in its three forms whatever form it is given in', () => {
    for (const d of ['19850714', '1985-07-14', '14/07/1985', '198507140830'])
      expect(dateForms(d)).toEqual(['19850714', '1985-07-14', '14/07/1985']);
  });
});

describe('what it finds', () => {
  it.each([
    ['NIR with key', 'reçu 285075935012324'],
    ['NIR without key', 'NIR 2850759350123 refusé'],
    ['NIR spaced as printed', 'assuré 2 85 07 59 350 123 24'],
    ['name in lower case without accents', 'dossier de lefevre-boeuf'],
    ['given name', 'Bonjour Hélène'],
    ['birth date HL7', 'né le 19850714'],
    ['birth date ISO', 'dateNaissance=1985-07-14'],
    ['birth date French', 'née le 14/07/1985'],
    ['IPP', 'patient 481516 inconnu'],
  ])('%s', (_n, text) => {
    expect(findPatientData([text], IDS)).not.toHaveLength(0);
    expect(() => expectNoPatientData([text], IDS)).toThrow(/patient data seen/);
  });

  it.each([
    ['a status with counts', 'A01 → IDB · IDB 1 · DEL 0 · CLC 0'],
    ['a venue number', 'venue 250100421 suspendue'],
    ['a longer number containing the IPP digits', 'message 94815167'],
    ['a timestamp', '2025-01-14T09:35:12Z'],
  ])('not in %s', (_n, text) => {
    expect(findPatientData([text], IDS)).toEqual([]);
  });

  it('reads an end-to-end process output', () => {
    expect(() => expectNoPatientData(processOutput({ output: () => 'ROC Bridge ready\nIDB OK for HÉLÈNE\n' }), IDS)).toThrow(
      /nom « Hélène »/,
    );
  });
});

describe('in a Node-RED test', () => {
  const flow = (func: string) => [
    { id: 't', type: 'tab', label: 'x' },
    { id: 'fn', type: 'function', z: 't', func, wires: [] },
  ];

  it('fails when a node shows a NIR in its status', async () => {
    await helper.load(functionNode, flow("node.status({ fill: 'green', shape: 'dot', text: 'OK ' + msg.nir }); return msg;"));
    helper.getNode('fn').receive({ nir: '285075935012324' });
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.statuses('fn').at(-1)?.text).toBe('OK 285075935012324');
    expect(() => expectNoPatientData(seen, IDS)).toThrow(/NIR « 285075935012324 »/);
  });

  it('fails when a node logs a name, or passes an error with a birth date to done()', async () => {
    await helper.load(functionNode, flow("node.warn('arrivée de ' + msg.nom); throw new Error('date ' + msg.date);"));
    helper.getNode('fn').receive({ nom: 'LEFÈVRE-BŒUF', date: '14/07/1985' });
    await new Promise((r) => setTimeout(r, 50));
    expect(() => expectNoPatientData(seen, IDS)).toThrow(
      /nom « LEFÈVRE-BŒUF »[\s\S]*date de naissance « 14\/07\/1985 »|date de naissance « 14\/07\/1985 »[\s\S]*nom/,
    );
  });

  it('passes when the node shows only what it did', async () => {
    await helper.load(functionNode, flow("node.status({ text: 'IDB OK · 12 ms' }); node.log('message traité'); return msg;"));
    helper.getNode('fn').receive({ payload: A01 });
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.texts().length).toBeGreaterThan(0);
    expectNoPatientData(seen, IDS);
  });
});
