/**
 * SmimeSmtpOutbox over real SMTP on 127.0.0.1: each file handed by the nodes arrives sealed for
 * the destination AMC's certificate (and opens with its key), signed when a signer is given; an
 * AMC without certificate is refused before anything is sent; the drop-directory variant writes
 * the sealed file once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeDreEs } from '../../lib/billing/dre-es';
import { sampleFile, sampleInvoices } from '../../lib/billing/sample';
import { SmimeSmtpOutbox } from '../../lib/billing/transport/outbox';
import { openEdiConsent } from '../../lib/billing/transport/smime';
import { DropDirectory, SmtpReceiver, type ReceivedMessage } from '../../lib/billing/transport/smtp';
import { generateTestPki } from '../../lib/security/pki';

const pki = generateTestPki();
const amc = { certPem: pki.serverCert, keyPem: pki.serverKey };
const hospital = { certPem: pki.clientCert, keyPem: pki.clientKey };
const AMC = '0000123456';
const ADDRESS = 'dre-es@amc-miroir.example.fr';
const dre = writeDreEs(sampleFile(sampleInvoices(3, { seed: 7 }), { numero: 12 }));
const NAME = 'DREES_750100125_0000123456_00000012.dre';

let receiver: SmtpReceiver | undefined;
let outbox: SmimeSmtpOutbox | undefined;
afterEach(async () => {
  outbox?.close();
  outbox = undefined;
  await receiver?.close();
  receiver = undefined;
});

async function mailbox(): Promise<{ port: number; got: ReceivedMessage[] }> {
  receiver = new SmtpReceiver();
  const got: ReceivedMessage[] = [];
  receiver.on('message', (m: ReceivedMessage) => got.push(m));
  const { port } = await receiver.start({ host: '127.0.0.1', port: 0 });
  return { port, got };
}

test('a DRE-ES file goes out by SMTP sealed for its AMC, signed by the establishment, and opens with the AMC key', async () => {
  const { port, got } = await mailbox();
  outbox = new SmimeSmtpOutbox({
    resolve: (a) => (a === AMC ? { address: ADDRESS, certificatePem: amc.certPem } : undefined),
    smtp: { host: '127.0.0.1', port, from: 'facturation.roc@ch-exemple.fr', timeoutMs: 5000 },
    signer: hospital,
  });
  await outbox.send({ name: NAME, bytes: dre, amc: AMC });
  expect(got).toHaveLength(1);
  expect(got[0].to).toEqual([ADDRESS]);
  expect(got[0].subject).toMatch(/^IR3\/750100125\/\d{14}\/DREES_750100125_0000123456_00000012\.dre$/);
  expect(got[0].attachments).toHaveLength(1);
  const opened = openEdiConsent(got[0].attachments[0].content, { ...amc, trustedSignerCaPem: pki.caCert, requireSignature: true });
  expect(opened.file.equals(dre)).toBe(true);
  expect(opened.filename).toBe('DREES_750100125_0000123456_00000012.Z');
  expect(opened.signer).toBeDefined();
  // the message does not carry the file in clear
  expect(JSON.stringify(got[0]).includes(dre.subarray(0, 40).toString('latin1'))).toBe(false);
});

test('an AMC without certificate is refused before anything is sent', async () => {
  const { port, got } = await mailbox();
  outbox = new SmimeSmtpOutbox({
    resolve: () => undefined,
    smtp: { host: '127.0.0.1', port, from: 'facturation.roc@ch-exemple.fr', timeoutMs: 5000 },
  });
  await expect(outbox.send({ name: NAME, bytes: dre, amc: '0000999999' })).rejects.toMatchObject({ code: 'BAD_INPUT' });
  expect(got).toHaveLength(0);
});

test('an unreachable relay fails the send (the node keeps the file WRITTEN)', async () => {
  const { port } = await mailbox();
  await receiver!.close();
  receiver = undefined;
  outbox = new SmimeSmtpOutbox({
    resolve: () => ({ address: ADDRESS, certificatePem: amc.certPem }),
    smtp: { host: '127.0.0.1', port, from: 'facturation.roc@ch-exemple.fr', timeoutMs: 2000 },
  });
  await expect(outbox.send({ name: NAME, bytes: dre, amc: AMC })).rejects.toMatchObject({ code: 'SEND_FAILED' });
});

test('drop directory: the sealed file is written once, even when sent again after a crash', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-outbox-'));
  try {
    outbox = new SmimeSmtpOutbox({ resolve: () => ({ certificatePem: amc.certPem }), dropDir: dir });
    await outbox.send({ name: NAME, bytes: dre, amc: AMC });
    await outbox.send({ name: NAME, bytes: dre, amc: AMC });
    const drop = new DropDirectory(dir);
    expect(await drop.list()).toEqual([`${NAME}.p7m`]);
    const [claimed] = await drop.claimAll();
    expect(openEdiConsent(fs.readFileSync(claimed.path), amc).file.equals(dre)).toBe(true);
    // claimed by the reader, then sent again: not written a second time
    await outbox.send({ name: NAME, bytes: dre, amc: AMC });
    expect(await drop.list()).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
