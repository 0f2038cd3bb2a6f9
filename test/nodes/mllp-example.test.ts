/**
 * examples/roc-mllp-in.json run for real (the examples test cannot: its messages come over MLLP,
 * not from an inject): a GAP message goes through journal → admission → IDB against the AMC
 * simulator and comes back to the listener, which marks it DONE. And the listener over TLS with a
 * client-certificate check: a GAP with a certificate from the CA is served, one without is refused
 * and the listener stays up.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import Database from 'better-sqlite3';
import helper from 'node-red-node-test-helper';
import type { TestPki } from '../../lib/security/pki';
import { MllpDeframer, frame } from '../../lib/hl7/mllp';
import { readAck } from '../../simulator/gap';
import { encodeGapMessage, gapDay } from '../../simulator/gap-day';
import { startFlowEnv, type FlowEnv } from '../support/flow-env';
import { decodeFrame } from '../../lib/hl7/charset';
import { expectNoPatientData, identifiersFromHl7, mergeIdentifiers, watchNodeRed } from '../support/patient-data';
import { useLanguage } from '../support/i18n';

/* eslint-disable @typescript-eslint/no-require-imports */
const NODES = [
  require('../../nodes/roc-establishment/roc-establishment'),
  require('../../nodes/roc-idb/roc-idb'),
  require('../../nodes/roc-hl7-admission/roc-hl7-admission'),
  require('../../nodes/roc-mllp-in/roc-mllp-in'),
  require('@node-red/nodes/core/common/25-catch.js'),
  require('@node-red/nodes/core/common/60-link.js'),
  require('@node-red/nodes/core/common/90-comment.js'),
  require('@node-red/nodes/core/function/15-change.js'),
  require('@node-red/nodes/core/function/10-switch.js'),
];
/* eslint-enable @typescript-eslint/no-require-imports */

helper.init(require.resolve('node-red'));
// Status and log texts in French, as the assertions below read them (Node-RED's runtime language).
useLanguage(helper, 'fr');
const seen = watchNodeRed(helper);
/** What these tests send of patients: none of it may show in a status, a log line or an error. */
const PATIENTS = mergeIdentifiers(
  ...[...gapDay({ messages: 400, venues: 6, seed: 5 }), ...gapDay({ messages: 1, seed: 3 })].map((m) =>
    identifiersFromHl7(decodeFrame(encodeGapMessage(m)).text),
  ),
);
afterEach(() => {
  try {
    expectNoPatientData(seen, PATIENTS);
  } finally {
    seen.clear();
  }
});

let env: FlowEnv;
let pki: TestPki;
let tmp: string;

beforeAll(async () => {
  env = await startFlowEnv('roc-mllp-ex-');
  pki = env.pki;
  tmp = env.dir;
});

afterAll(() => env.close());

afterEach(() => helper.unload());

function firstAck(socket: net.Socket): Promise<{ code: string; controlId: string; errors: string[] } | 'closed'> {
  const d = new MllpDeframer();
  return new Promise((resolve) => {
    socket.on('data', (chunk) => {
      for (const e of d.push(chunk)) if (e.kind === 'frame') resolve(readAck(e.bytes)!);
    });
    socket.on('close', () => resolve('closed'));
    socket.on('error', () => resolve('closed'));
  });
}

async function boundPort(id: string): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const p = helper.getNode(id)?.listener?.port;
    if (p) return p;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('listener not bound');
}

it('examples/roc-mllp-in.json: a GAP admission is acknowledged, checked with IDB and marked processed', async () => {
  const journal = path.join(tmp, 'example.sqlite');
  const flow = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'roc-mllp-in.json'), 'utf8')) as any[];
  const nodes = flow.map((n) =>
    n.type === 'debug'
      ? { id: n.id, z: 'tab', type: 'helper', x: n.x, y: n.y, wires: [] }
      : n.type === 'roc-mllp-in'
        ? { ...n, z: 'tab', port: '0', journal, synchronous: 'NORMAL' }
        : n.x !== undefined
          ? { ...n, z: 'tab' }
          : n,
  );
  await helper.load(NODES, [{ id: 'tab', type: 'tab', label: 'example' }, ...nodes]);
  const port = await boundPort('ex-mllp-in');
  const done = new Promise<any>((r) => helper.getNode('ex-mllp-dbg').on('input', r));
  let a01;
  for (const m of gapDay({ messages: 400, venues: 6, seed: 5 })) if (m.event === 'A01' && m.scenario === 'droits-ok') a01 ??= m;
  const socket = net.connect(port, '127.0.0.1');
  const ack = firstAck(socket);
  socket.write(frame(encodeGapMessage(a01!)));
  expect(await ack).toEqual({ code: 'AA', controlId: a01!.controlId, errors: [] });
  const msg = await done;
  expect(msg.hl7.controlId).toBe(a01!.controlId);
  expect(msg.roc.idb.status).toBe('OK');
  socket.destroy();
  for (let i = 0; i < 200; i++) {
    const db = new Database(journal, { readonly: true });
    const row = db.prepare('SELECT state FROM inbound WHERE control_id = ?').get(a01!.controlId) as { state: string };
    const ex = db.prepare("SELECT service, outcome FROM exchanges WHERE service = 'IDB'").all();
    db.close();
    if (row.state === 'DONE') {
      expect(ex).toEqual([{ service: 'IDB', outcome: 'OK' }]);
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the message was not marked DONE');
});

it('TLS with a client-certificate check: a GAP with a certificate from the CA is served, one without is refused', async () => {
  const journal = path.join(tmp, 'tls.sqlite');
  await helper.load(NODES, [
    { id: 't', type: 'tab', label: 'tls' },
    {
      id: 'in',
      type: 'roc-mllp-in',
      z: 't',
      x: 100,
      y: 100,
      host: '127.0.0.1',
      port: '0',
      journal,
      synchronous: 'NORMAL',
      tls: true,
      certFile: path.join(tmp, 'server.crt'),
      keyFile: path.join(tmp, 'server.key'),
      caFile: path.join(tmp, 'ca.crt'),
      requestCert: true,
      wires: [[]],
    },
  ]);
  const port = await boundPort('in');
  const [m] = [...gapDay({ messages: 1, seed: 3 })];

  const stranger = tls.connect({ port, host: '127.0.0.1', ca: pki.caCert, servername: 'localhost' });
  const refused = firstAck(stranger);
  stranger.on('secureConnect', () => stranger.write(frame(encodeGapMessage(m))));
  expect(await refused).toBe('closed');

  const gap = tls.connect({ port, host: '127.0.0.1', ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey, servername: 'localhost' });
  const ack = firstAck(gap);
  gap.on('secureConnect', () => gap.write(frame(encodeGapMessage(m))));
  expect(await ack).toEqual({ code: 'AA', controlId: m.controlId, errors: [] });
  gap.destroy();
});
