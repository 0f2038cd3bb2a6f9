/**
 * What a shipped or example flow needs to run under node-red-node-test-helper: the AMC simulator
 * over mutual TLS, the test PKI written as files, and the same environment variables `npm start`
 * sets (`${ROC_ANNUAIRE_URL}`, `${ROC_CLIENT_CERT}`…).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateTestPki, type TestPki } from '../../lib/security/pki';
import { startSimulator, type RunningSimulator } from '../../simulator/server';

export interface FlowEnv {
  pki: TestPki;
  sim: RunningSimulator;
  dir: string;
  close(): Promise<void>;
}

export async function startFlowEnv(prefix: string): Promise<FlowEnv> {
  const pki = generateTestPki();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const files: [string, string][] = [
    ['client.crt', pki.clientCert],
    ['client.key', pki.clientKey],
    ['ca.crt', pki.caCert],
    ['server.crt', pki.serverCert],
    ['server.key', pki.serverKey],
  ];
  for (const [f, v] of files) fs.writeFileSync(path.join(dir, f), v);
  const sim = await startSimulator({ tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true } });
  Object.assign(process.env, {
    ROC_ANNUAIRE_URL: sim.annuaireUrl,
    ROC_CLIENT_CERT: path.join(dir, 'client.crt'),
    ROC_CLIENT_KEY: path.join(dir, 'client.key'),
    ROC_CA: path.join(dir, 'ca.crt'),
    ROC_CLIENT_P12: '',
  });
  return {
    pki,
    sim,
    dir,
    async close() {
      await sim.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
