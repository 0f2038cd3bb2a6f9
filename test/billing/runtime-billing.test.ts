/**
 * The runtime's billing transport (bin/billing.ts) without Node-RED: a real site's configuration
 * from the environment (drop directory, SMTP relay: what is required), and the bridge's mailbox
 * over real SMTP on 127.0.0.1 (opened with the establishment key, kept, handed to the subscriber;
 * a file waits for a late subscriber; a subscriber's failure answers 451 so the AMC keeps it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRuntimeBilling, type RuntimeBilling } from '../../bin/billing';
import type { BillingFileIn } from '../../lib/billing/outbox';
import { openEdiConsent, sealEdiConsent } from '../../lib/billing/transport/smime';
import { DropDirectory, SmtpSender } from '../../lib/billing/transport/smtp';
import { generateTestPki } from '../../lib/security/pki';

const pki = generateTestPki();
let dir: string;
let env: NodeJS.ProcessEnv;
let billing: RuntimeBilling | undefined;
const senders: SmtpSender[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-rt-billing-'));
  const write = (n: string, s: string) => (fs.writeFileSync(path.join(dir, n), s), path.join(dir, n));
  env = {
    ROC_CLIENT_CERT: write('est.crt', pki.clientCert),
    ROC_CLIENT_KEY: write('est.key', pki.clientKey),
    ROC_BILLING_AMC_CERT: write('amc.crt', pki.serverCert),
  };
});
afterEach(async () => {
  for (const s of senders.splice(0)) s.close();
  await billing?.close();
  billing = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

const start = (e: NodeJS.ProcessEnv) => startRuntimeBilling({ env: e, dir: path.join(dir, 'billing'), log: () => undefined });
/** What the mailbox hands over is the opened file, whatever it holds (roc-rsp reads it). */
const arl = () => Buffer.from('000ARL0000123456750100125 fichier de test'.padEnd(128, ' '), 'latin1');

test('nothing configured (real annuaire, no billing variable): nothing injected', async () => {
  billing = await start(env);
  expect(billing.settings).toBeUndefined();
});

test('a drop directory: the outbox writes the file sealed for the AMC certificate, signed by the establishment', async () => {
  const drop = path.join(dir, 'depot');
  fs.mkdirSync(drop);
  billing = await start({ ...env, ROC_BILLING_DROP_DIR: drop });
  expect(billing.settings?.inbox).toBeUndefined();
  const bytes = Buffer.from('000DRE-ES de test', 'latin1');
  await billing.settings!.outbox!.send({ name: 'DREES_750100125_0000123456_00000001.dre', bytes, amc: '0000123456' });
  const [f] = await new DropDirectory(drop).claimAll();
  const opened = openEdiConsent(f.data, { certPem: pki.serverCert, keyPem: pki.serverKey, requireSignature: true });
  expect(opened.file.equals(bytes)).toBe(true);
});

test('the AMC certificate is read at each file: an expired one refuses the file (CERT_EXPIRED), the renewed one put in its place seals the next', async () => {
  const drop = path.join(dir, 'depot');
  fs.mkdirSync(drop);
  const expired = generateTestPki({ clientNotAfter: new Date(Date.now() - 86_400_000) });
  const certFile = env.ROC_BILLING_AMC_CERT as string;
  fs.writeFileSync(certFile, expired.clientCert);
  billing = await start({ ...env, ROC_BILLING_DROP_DIR: drop });
  const bytes = Buffer.from('000DRE-ES de test', 'latin1');
  const file = (n: number) => ({ name: `DREES_750100125_0000123456_0000000${n}.dre`, bytes, amc: '0000123456' });
  await expect(billing.settings!.outbox!.send(file(1))).rejects.toMatchObject({ code: 'CERT_EXPIRED' });
  // the operator renews it: the same file, another certificate; no restart
  fs.writeFileSync(certFile, pki.serverCert);
  await billing.settings!.outbox!.send(file(2));
  const [f] = await new DropDirectory(drop).claimAll();
  expect(f.name).toBe('DREES_750100125_0000123456_00000002.dre.p7m');
  expect(openEdiConsent(f.data, { certPem: pki.serverCert, keyPem: pki.serverKey }).file.equals(bytes)).toBe(true);
  // a certificate file gone at send time: a transport error that is not a refusal (sent again later)
  fs.rmSync(certFile);
  await expect(billing.settings!.outbox!.send(file(3))).rejects.toMatchObject({ code: 'BAD_INPUT' });
});

test('a real site: the AMC certificate is required, and its address with an SMTP relay', async () => {
  await expect(start({ ...env, ROC_BILLING_AMC_CERT: '', ROC_BILLING_DROP_DIR: dir })).rejects.toThrow(/ROC_BILLING_AMC_CERT/);
  await expect(start({ ...env, ROC_BILLING_SMTP_HOST: '127.0.0.1' })).rejects.toThrow(/ROC_BILLING_AMC_ADDRESS/);
  await expect(
    start({ ...env, ROC_BILLING_SMTP_HOST: '127.0.0.1', ROC_BILLING_AMC_ADDRESS: 'dre-es@amc.example.fr', ROC_BILLING_SMTP_TLS: 'ssl' }),
  ).rejects.toThrow(/ROC_BILLING_SMTP_TLS/);
});

test('the mailbox: an AMC file is opened, kept sealed and opened, handed to the subscriber; one before it subscribed waits', async () => {
  billing = await start({ ...env, ROC_BILLING_MAILBOX_PORT: '0' });
  expect(billing.mailboxPort).toBeGreaterThan(0);
  const sender = new SmtpSender({ host: '127.0.0.1', port: billing.mailboxPort!, from: 'arl@amc.example.fr', timeoutMs: 5000 });
  senders.push(sender);
  const sealed = sealEdiConsent(arl(), { recipientCertPem: pki.clientCert, filename: 'ARL000012345600000001.Z' });
  const got: BillingFileIn[] = [];
  // sent before roc-rsp subscribed: the SMTP answer waits until it has processed the file
  const early = sender.send({ to: 'facturation.roc@bridge.roc.test', subject: 'ARL', smime: sealed });
  await new Promise((r) => setTimeout(r, 200));
  const unsubscribe = billing.settings!.inbox!.subscribe(async (f) => {
    got.push(f);
  });
  await early;
  expect(got).toHaveLength(1);
  expect(got[0].bytes.equals(arl())).toBe(true);
  expect(got[0].name).toBe('ARL000012345600000001');
  expect(fs.readdirSync(billing.keptDir!)).toHaveLength(2); // sealed + opened
  unsubscribe();
  // a subscriber that fails: 451, the AMC keeps the file and sends it again
  billing.settings!.inbox!.subscribe(async () => {
    throw new Error('journal indisponible');
  });
  await expect(sender.send({ to: 'facturation.roc@bridge.roc.test', subject: 'ARL', smime: sealed })).rejects.toMatchObject({
    code: 'SEND_FAILED',
  });
});

test('the mailbox: a file sealed for someone else is kept sealed and not handed over', async () => {
  billing = await start({ ...env, ROC_BILLING_MAILBOX_PORT: '0' });
  const got: BillingFileIn[] = [];
  billing.settings!.inbox!.subscribe(async (f) => {
    got.push(f);
  });
  const sender = new SmtpSender({ host: '127.0.0.1', port: billing.mailboxPort!, from: 'arl@amc.example.fr', timeoutMs: 5000 });
  senders.push(sender);
  const other = generateTestPki();
  await sender.send({
    to: 'facturation.roc@bridge.roc.test',
    subject: 'ARL',
    smime: sealEdiConsent(arl(), { recipientCertPem: other.clientCert }),
  });
  expect(got).toHaveLength(0);
  expect(fs.readdirSync(billing.keptDir!)).toHaveLength(1);
});
