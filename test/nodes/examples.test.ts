/**
 * Every example flow opens with a comment node and actually works: loaded into Node-RED with the
 * test helper, its first inject is fired against the AMC simulator (through the same
 * ${ROC_ANNUAIRE_URL} / certificate environment variables `npm start` sets) and a result reaches
 * the first debug node.
 */
import fs from 'node:fs';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import { GapAnswerListener } from '../../simulator/gap';
import { startFlowEnv, type FlowEnv } from '../support/flow-env';
import { beneficiaires } from '../support/dossiers';
import { expectNoPatientData, identifiersOf, mergeIdentifiers, watchNodeRed } from '../support/patient-data';
import { useLanguage } from '../support/i18n';

/* eslint-disable @typescript-eslint/no-require-imports */
const NODES = [
  require('../../nodes/roc-establishment/roc-establishment'),
  require('../../nodes/roc-annuaire/roc-annuaire'),
  require('../../nodes/roc-idb/roc-idb'),
  require('../../nodes/roc-sim/roc-sim'),
  require('../../nodes/roc-clc/roc-clc'),
  require('../../nodes/roc-del/roc-del'),
  require('../../nodes/roc-datamatrix/roc-datamatrix'),
  require('../../nodes/roc-desk-request/roc-desk-request'),
  require('../../nodes/roc-desk-answer/roc-desk-answer'),
  require('../../nodes/roc-hl7-admission/roc-hl7-admission'),
  require('../../nodes/roc-mllp-out/roc-mllp-out'),
  require('@node-red/nodes/core/common/20-inject.js'),
  require('@node-red/nodes/core/common/25-catch.js'),
  require('@node-red/nodes/core/common/90-comment.js'),
  require('@node-red/nodes/core/function/10-switch.js'),
];
/* eslint-enable @typescript-eslint/no-require-imports */

helper.init(require.resolve('node-red'));
// Status and log texts in French, as the assertions below read them (Node-RED's runtime language).
useLanguage(helper, 'fr');
const EXAMPLES_TEXT = fs
  .readdirSync(path.join(__dirname, '..', '..', 'examples'))
  .map((f) => fs.readFileSync(path.join(__dirname, '..', '..', 'examples', f), 'utf8'))
  .join('\n');
const seen = watchNodeRed(helper);
/** What these tests send of patients: none of it may show in a status, a log line or an error. */
const PATIENTS = mergeIdentifiers(
  ...beneficiaires
    .filter((b) => EXAMPLES_TEXT.includes(b.nir))
    .map((b) => identifiersOf({ nir: b.nir + b.cleNir, names: [b.nom, b.prenom], birthDates: [b.dateNaissance] })),
);
afterEach(() => {
  try {
    expectNoPatientData(seen, PATIENTS);
  } finally {
    seen.clear();
  }
});

const DIR = path.join(__dirname, '..', '..', 'examples');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json'));
let env: FlowEnv;
// roc-mllp-out's example answers a GAP listener at ${ROC_GAP_ANSWER_PORT}, its journal in ${ROC_USER_DIR}
const gapAnswers = new GapAnswerListener();

beforeAll(async () => {
  env = await startFlowEnv('roc-examples-');
  Object.assign(process.env, { ROC_GAP_ANSWER_PORT: String((await gapAnswers.start()).port), ROC_USER_DIR: env.dir });
});

afterAll(async () => {
  await gapAnswers.stop();
  await env.close();
});

afterEach(() => helper.unload());

it('there is one example per ROC service node and for the DataMatrix reader', () => {
  for (const t of ['roc-annuaire', 'roc-idb', 'roc-sim', 'roc-clc', 'roc-del', 'roc-datamatrix']) expect(files).toContain(`${t}.json`);
});

describe.each(files)('example %s', (file) => {
  const flow = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as any[];

  it('opens with a comment node that explains it', () => {
    expect(flow[0].type).toBe('comment');
    expect(flow[0].name.length).toBeGreaterThan(20);
  });

  // a watcher example (roc-hprim-in) has no inject: it runs on dropped files, tested in its own node test
  const hasInject = flow.some((n) => n.type === 'inject');
  const runs = hasInject ? it : it.skip;
  runs(
    hasInject
      ? 'runs: its first inject reaches the output-1 debug node with a service result'
      : 'runs: skipped, no inject node (a directory watcher; its node test runs this example)',
    async () => {
      const tab = { id: 'tab', type: 'tab', label: file };
      // debug nodes become helper nodes so the test can see what they receive
      const nodes = flow.map((n) =>
        n.type === 'debug' ? { id: n.id, z: 'tab', type: 'helper', x: n.x, y: n.y, wires: [] } : n.x !== undefined ? { ...n, z: 'tab' } : n,
      );
      await helper.load(NODES, [tab, ...nodes], {});
      const debugIds = flow.filter((n) => n.type === 'debug').map((n) => n.id);
      const got = new Promise<{ id: string; msg: any }>((resolve) => {
        for (const id of debugIds) helper.getNode(id).on('input', (msg: any) => resolve({ id, msg }));
      });
      const inject = flow.find((n) => n.type === 'inject');
      helper.getNode(inject.id).receive({});
      const { id, msg } = await got;
      // each example's first inject is the happy path: it reaches the first (output 1) debug node
      expect(id).toBe(debugIds[0]);
      const results = ['annuaire', 'idb', 'sim', 'clc', 'del'].filter((s) => msg.roc[s]);
      expect(results.length).toBeGreaterThan(0);
    },
  );
});
