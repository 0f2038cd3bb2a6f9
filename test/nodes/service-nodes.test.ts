/**
 * Node tests (node-red-node-test-helper) of roc-establishment and the five service nodes, against
 * the real AMC simulator over HTTPS with mutual TLS.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import establishmentNode from '../../nodes/roc-establishment/roc-establishment';
import annuaireNode from '../../nodes/roc-annuaire/roc-annuaire';
import idbNode from '../../nodes/roc-idb/roc-idb';
import simNode from '../../nodes/roc-sim/roc-sim';
import clcNode from '../../nodes/roc-clc/roc-clc';
import delNode from '../../nodes/roc-del/roc-del';
import { generateTestPki, type TestPki } from '../../lib/security/pki';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { dossierFor } from '../support/dossiers';
import { expectNoPatientData, identifiersFromDossier, mergeIdentifiers, watchNodeRed } from '../support/patient-data';
import { useLanguage } from '../support/i18n';

helper.init(require.resolve('node-red'));
// Status and log texts in French, as the assertions below read them (Node-RED's runtime language).
useLanguage(helper, 'fr');
const seen = watchNodeRed(helper);
/** The seeded patients these tests send: none of their identifiers may show in a status or log. */
const PATIENTS = mergeIdentifiers(...['B01', 'B05', 'B10', 'B19'].map((id) => identifiersFromDossier(dossierFor(id))));
afterEach(() => {
  try {
    expectNoPatientData(seen, PATIENTS);
  } finally {
    seen.clear();
  }
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js');
const NODES = [establishmentNode, annuaireNode, idbNode, simNode, clcNode, delNode, catchNode];

let pki: TestPki;
let sim: RunningSimulator;

beforeAll(async () => {
  pki = generateTestPki();
  sim = await startSimulator({ tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true }, hangMs: 3000 });
});

afterAll(async () => {
  await sim.close();
});

afterEach(async () => {
  await helper.unload();
});

function establishment(extra: Record<string, unknown> = {}) {
  return {
    id: 'est',
    type: 'roc-establishment',
    name: 'CH Test',
    finessJuridique: '750712184',
    finessGeographique: '750100125',
    logiciel: 'ROC Bridge',
    versionLogiciel: '0.1.0',
    annuaireUrl: sim.annuaireUrl,
    connectTimeout: 1000,
    readTimeout: 800,
    ...extra,
  };
}

function pemCredentials(p: TestPki = pki) {
  return { est: { cert: p.clientCert, key: p.clientKey, ca: p.caCert } };
}

/** Flow: service node → ok / ko helper nodes, plus a catch node scoped to it. */
function flow(type: string, est = establishment()) {
  return [
    { id: 'f1', type: 'tab', label: 'test' },
    est,
    { id: 'svc', x: 100, y: 100, z: 'f1', type, establishment: 'est', wires: [['ok'], ['ko']] },
    { id: 'ok', x: 100, y: 100, z: 'f1', type: 'helper', wires: [] },
    { id: 'ko', x: 100, y: 100, z: 'f1', type: 'helper', wires: [] },
    { id: 'catch', x: 100, y: 100, z: 'f1', type: 'catch', scope: ['svc'], wires: [['caught']] },
    { id: 'caught', x: 100, y: 100, z: 'f1', type: 'helper', wires: [] },
  ];
}

type Msg = { roc: any; error?: { message: string; code?: string }; [k: string]: unknown };

/** Sends one message and resolves with the output it came out of (and the catch, if any). */
function run(msg: Record<string, unknown>, waitCatch = false): Promise<{ port: 'ok' | 'ko'; msg: Msg; caught?: Msg }> {
  const svc = helper.getNode('svc');
  const ok = helper.getNode('ok');
  const ko = helper.getNode('ko');
  const caught = helper.getNode('caught');
  return new Promise((resolve, reject) => {
    let out: { port: 'ok' | 'ko'; msg: Msg } | undefined;
    let err: Msg | undefined;
    const finish = () => {
      if (out && (!waitCatch || err)) resolve({ ...out, caught: err });
    };
    const timer = setTimeout(() => reject(new Error('no output within 10 s')), 10000);
    ok.on('input', (m: Msg) => ((out = { port: 'ok', msg: m }), clearTimeout(timer), finish()));
    ko.on('input', (m: Msg) => ((out = { port: 'ko', msg: m }), clearTimeout(timer), finish()));
    caught.on('input', (m: Msg) => ((err = m), finish()));
    svc.receive(msg);
  });
}

describe('roc-idb', () => {
  it('sends a beneficiary with open rights to output 1 with the coverage and latency', async () => {
    await helper.load(NODES, flow('roc-idb'), pemCredentials());
    const { port, msg } = await run({ roc: dossierFor('B01'), topic: 'admission' });
    expect(port).toBe('ok');
    expect(msg.topic).toBe('admission'); // the rest of msg is left alone
    expect(msg.roc.idb.status).toBe('OK');
    expect(msg.roc.idb.couverture.numeroContrat).toBeTruthy();
    expect(msg.roc.idb.latencyMs).toBeGreaterThan(0);
    expect(msg.roc.beneficiaire.nom).toBe('MARTIN');
    // the status shows the outcome and the latency, nothing of the patient
    const status = seen.statuses('svc').at(-1);
    expect(status).toEqual({ fill: 'green', shape: 'dot', text: expect.stringMatching(/^OK · \d+ ms$/) });
    expectNoPatientData(seen, identifiersFromDossier(msg.roc));
  });

  it('sends closed rights (6002) to output 2 with the reason, without reaching catch', async () => {
    await helper.load(NODES, flow('roc-idb'), pemCredentials());
    const caught = jest.fn();
    helper.getNode('caught').on('input', caught);
    const { port, msg } = await run({ roc: dossierFor('B05') });
    expect(port).toBe('ko');
    expect(msg.roc.idb.status).toBe('KO');
    expect(msg.roc.idb.technical).toBe(false);
    expect(msg.roc.idb.messages[0].code).toBe('6002');
    expect(msg.roc.idb.reason).toMatch(/droits/i);
    await new Promise((r) => setTimeout(r, 50));
    expect(caught).not.toHaveBeenCalled();
  });

  it('names the missing field before any call, on output 2', async () => {
    await helper.load(NODES, flow('roc-idb'), pemCredentials());
    const before = sim.stats().idb;
    const d = dossierFor('B01');
    delete (d.beneficiaire as any).nir;
    const { port, msg } = await run({ roc: d });
    expect(port).toBe('ko');
    expect(msg.roc.idb.messages[0].code).toBe('BR-MISSING');
    expect(msg.roc.idb.reason).toContain('beneficiaire.nir');
    expect(sim.stats().idb).toBe(before);
  });

  it('routes a technical failure (AMC timeout) to output 2 AND to catch nodes', async () => {
    await helper.load(NODES, flow('roc-idb'), pemCredentials());
    const { port, msg, caught } = await run({ roc: dossierFor('B10') }, true);
    expect(port).toBe('ko');
    expect(msg.roc.idb.technical).toBe(true);
    expect(msg.roc.idb.messages[0].code).toBe('BR-TIMEOUT');
    expect(msg.roc.idb.attempts).toBe(2); // IDB is retried once
    expect(caught!.error!.message).toMatch(/IDB KO technique/);
    // a flow tells it from a processing error by a code and a flag, not by the text above
    expect(caught!.error!.code).toBe('ROC_TECHNICAL_KO');
    expect(caught!.roc.idb.technical).toBe(true);
    // no patient data in the error a catch node (and the log) receives
    expect(caught!.error!.message).not.toContain('Camille');
    expect(caught!.error!.message).not.toContain(msg.roc.beneficiaire.nir);
  });

  it('reports a message without msg.roc to catch with a clear error', async () => {
    await helper.load(NODES, flow('roc-idb'), pemCredentials());
    const caught = new Promise<Msg>((r) => helper.getNode('caught').on('input', r));
    helper.getNode('svc').receive({ payload: 'hello' });
    expect((await caught).error!.message).toMatch(/msg\.roc/);
  });
});

describe('roc-establishment', () => {
  it('accepts the certificate as PKCS#12 + passphrase credentials', async () => {
    await helper.load(NODES, flow('roc-idb'), { est: { p12: pki.clientP12Base64, passphrase: pki.p12Passphrase, ca: pki.caCert } });
    const { port } = await run({ roc: dossierFor('B01') });
    expect(port).toBe('ok');
  });

  it('accepts certificate files given as paths (as the shipped flow does from the environment)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-est-'));
    try {
      fs.writeFileSync(path.join(dir, 'client.crt'), pki.clientCert);
      fs.writeFileSync(path.join(dir, 'client.key'), pki.clientKey);
      fs.writeFileSync(path.join(dir, 'ca.crt'), pki.caCert);
      const est = establishment({
        certFile: path.join(dir, 'client.crt'),
        keyFile: path.join(dir, 'client.key'),
        caFile: path.join(dir, 'ca.crt'),
      });
      await helper.load(NODES, flow('roc-idb', est), {});
      const { port } = await run({ roc: dossierFor('B01') });
      expect(port).toBe('ok');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a wrong PKCS#12 passphrase makes the configuration invalid: red status, error to catch', async () => {
    await helper.load(NODES, flow('roc-idb'), { est: { p12: pki.clientP12Base64, passphrase: 'pas-la-bonne', ca: pki.caCert } });
    const svc = helper.getNode('svc') as any;
    const est = helper.getNode('est') as any;
    expect(est.client).toBeUndefined();
    expect(est.configErrors.join(' ')).toMatch(/certificat/i);
    const caught = new Promise<Msg>((r) => helper.getNode('caught').on('input', r));
    svc.receive({ roc: dossierFor('B01') });
    expect((await caught).error!.message).toMatch(/configuration établissement invalide/);
  });

  it('refuses an invalid FINESS key', async () => {
    await helper.load(NODES, flow('roc-idb', establishment({ finessGeographique: '750100126' })), pemCredentials());
    const est = helper.getNode('est') as any;
    expect(est.client).toBeUndefined();
    expect(est.configErrors.join(' ')).toMatch(/FINESS géographique : clé FINESS invalide/);
  });

  it('warns when the certificate expires within 30 days, and is red once expired', async () => {
    const soon = generateTestPki({ clientNotAfter: new Date(Date.now() + 12 * 86400000) });
    await helper.load(NODES, flow('roc-idb'), { est: { cert: soon.clientCert, key: soon.clientKey, ca: pki.caCert } });
    const est = helper.getNode('est') as any;
    expect(est.certificate.level).toBe('warning');
    expect(est.certificate.daysLeft).toBeLessThanOrEqual(12);
    const later = est.checkCertificate(new Date(Date.now() + 20 * 86400000));
    expect(later.level).toBe('expired');
  });

  it('a TLS failure (server not signed by the configured CA) is a technical KO on output 2', async () => {
    const other = generateTestPki();
    await helper.load(NODES, flow('roc-idb'), { est: { cert: pki.clientCert, key: pki.clientKey, ca: other.caCert } });
    const { port, msg, caught } = await run({ roc: dossierFor('B01') }, true);
    expect(port).toBe('ko');
    expect(msg.roc.idb.technical).toBe(true);
    expect(['BR-TLS', 'BR-UNREACHABLE']).toContain(msg.roc.idb.messages[0].code);
    expect(caught).toBeDefined();
  });
});

describe('the online chain node by node', () => {
  it('annuaire → SIM → CLC → DEL, then a second DEL is refused', async () => {
    const f = [
      establishment(),
      { id: 'ann', type: 'roc-annuaire', establishment: 'est', wires: [['sim'], ['ko']] },
      { id: 'sim', type: 'roc-sim', establishment: 'est', wires: [['clc'], ['ko']] },
      { id: 'clc', type: 'roc-clc', establishment: 'est', wires: [['ok'], ['ko']] },
      { id: 'ok', type: 'helper' },
      { id: 'ko', type: 'helper' },
    ];
    await helper.load(NODES, f, pemCredentials());
    const done = new Promise<{ port: string; msg: Msg }>((resolve) => {
      helper.getNode('ok').on('input', (m: Msg) => resolve({ port: 'ok', msg: m }));
      helper.getNode('ko').on('input', (m: Msg) => resolve({ port: 'ko', msg: m }));
    });
    helper.getNode('ann').receive({ roc: dossierFor('B13', { facture: 'FAC-2026-000913' }) });
    const { port, msg } = await done;
    expect(port).toBe('ok');
    expect(msg.roc.annuaire.amc.enRoc).toBe(true);
    expect(msg.roc.sim.montants.resteACharge).toBeGreaterThan(0); // private room above the ceiling
    expect(msg.roc.clc.engagement.numero).toBeTruthy();
    expect(msg.roc.clc.montants.totalAmc).toBe(msg.roc.sim.montants.totalAmc);
    await helper.unload();

    await helper.load(NODES, flow('roc-del'), pemCredentials());
    const cancel = {
      amc: msg.roc.amc,
      engagement: { numero: msg.roc.clc.engagement.numero, motif: 'Séjour annulé' },
      facture: { numero: 'FAC-2026-000913' },
    };
    const first = await run({ roc: cancel });
    expect(first.port).toBe('ok');
    expect(first.msg.roc.del.status).toBe('OK');
    const second = await run({ roc: { ...cancel, del: undefined } });
    expect(second.port).toBe('ko');
    expect(second.msg.roc.del.technical).toBe(false);
  });

  it('annuaire: an AMC outside ROC goes to output 2 with the reason', async () => {
    await helper.load(NODES, flow('roc-annuaire'), pemCredentials());
    const { port, msg } = await run({ roc: dossierFor('B19') });
    expect(port).toBe('ko');
    expect(msg.roc.annuaire.amc?.enRoc ?? false).toBe(false);
    expect(msg.roc.annuaire.reason).toBeTruthy();
  });
});
