/**
 * SMTP out and in over real sockets on 127.0.0.1 (plain, STARTTLS with a test certificate and
 * authentication, implicit TLS), size and recipient limits, a failing mailbox handler (451: the
 * sender keeps the message), and the drop directory (atomic write, claimed once).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { writeDreEs } from '../../lib/billing/dre-es';
import { sampleFile, sampleInvoices } from '../../lib/billing/sample';
import { BillingTransportError, openEdiConsent, sealEdiConsent } from '../../lib/billing/transport/smime';
import {
  DropDirectory,
  SmtpReceiver,
  SmtpSender,
  smimeMessage,
  type ReceivedMessage,
  type SmtpSenderOptions,
} from '../../lib/billing/transport/smtp';
import { generateTestPki } from '../../lib/security/pki';

const pki = generateTestPki();
const amc = { certPem: pki.serverCert, keyPem: pki.serverKey };
const dre = writeDreEs(sampleFile(sampleInvoices(12, { seed: 5 }), { numero: 3 }));
const sealed = sealEdiConsent(dre, { recipientCertPem: amc.certPem, filename: 'DREES00000003.Z' });
const SUBJECT = 'IR3/590780193/20261116093000/00012';
const FROM = 'facturation.roc@ch-valenciennes.example.fr';
const TO = 'dre-es@amc-miroir.example.fr';

const receivers: SmtpReceiver[] = [];
const senders: SmtpSender[] = [];
afterEach(async () => {
  for (const s of senders.splice(0)) s.close();
  for (const r of receivers.splice(0)) await r.close();
});

async function mailbox(
  opts: Parameters<SmtpReceiver['start']>[0] = {},
): Promise<{ port: number; got: ReceivedMessage[]; r: SmtpReceiver }> {
  const r = new SmtpReceiver();
  receivers.push(r);
  const got: ReceivedMessage[] = [];
  r.on('message', (m: ReceivedMessage) => got.push(m));
  const { port } = await r.start({ host: '127.0.0.1', port: 0, ...opts });
  return { port, got, r };
}
function sender(o: Partial<SmtpSenderOptions> & { port: number }): SmtpSender {
  const s = new SmtpSender({ host: '127.0.0.1', from: FROM, timeoutMs: 5000, ...o });
  senders.push(s);
  return s;
}
/** Talks SMTP by hand: each step is written after the server's answer to the previous one; the answers' lines. */
function smtpScript(port: number, steps: Array<string | Buffer>): Promise<string[]> {
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let step = 0;
    let pending = '';
    let quitting = false;
    sock.on('data', (d) => {
      if (quitting) return;
      pending += d.toString('latin1');
      if (!/(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(pending)) return; // a complete (last line of a) reply
      lines.push(...pending.trim().split('\r\n'));
      pending = '';
      if (step < steps.length) {
        const s = steps[step++];
        sock.write(Buffer.concat([typeof s === 'string' ? Buffer.from(s, 'latin1') : s, Buffer.from('\r\n')]));
      } else {
        quitting = true;
        sock.end('QUIT\r\n');
      }
    });
    sock.on('close', () => resolve(lines));
    sock.on('error', reject);
  });
}
async function failure(p: Promise<unknown>): Promise<BillingTransportError> {
  try {
    await p;
  } catch (e) {
    return e as BillingTransportError;
  }
  throw new Error('expected a failure');
}

test('the message is the S/MIME entity with mail headers above it', () => {
  const m = smimeMessage({
    from: FROM,
    to: [TO],
    subject: SUBJECT,
    smime: sealed,
    messageId: '<x@y>',
    filename: 'DREES00000003.p7m',
  }).toString('latin1');
  const [head, body] = m.split('\r\n\r\n');
  expect(head.split('\r\n').map((l) => l.split(':')[0])).toEqual([
    'From',
    'To',
    'Subject',
    'Date',
    'Message-ID',
    'MIME-Version',
    'Content-Type',
    'Content-Transfer-Encoding',
    'Content-Disposition',
  ]);
  expect(head).toContain('Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"');
  expect(head).toContain('Content-Disposition: attachment; filename="DREES00000003.p7m"');
  expect(sealed.toString('latin1').endsWith(body)).toBe(true);
  expect(() => smimeMessage({ from: FROM, to: [TO], subject: 'a\r\nBcc: x@y', smime: sealed, messageId: '<x@y>' })).toThrow(
    BillingTransportError,
  );
  expect(() => smimeMessage({ from: FROM, to: [TO], subject: 's', smime: dre, messageId: '<x@y>' })).toThrow(/not an S\/MIME/);
});

test('plain SMTP: the AMC mailbox receives one attachment that opens to the DRE-ES file', async () => {
  const { port, got } = await mailbox({ keepRaw: true });
  const res = await sender({ port }).send({ to: TO, subject: SUBJECT, smime: sealed, filename: 'DREES00000003.p7m' });
  expect(res.accepted).toEqual([TO]);
  expect(got).toHaveLength(1);
  const m = got[0];
  expect(m).toMatchObject({ from: FROM, to: [TO], subject: SUBJECT, messageId: res.messageId });
  expect(m.attachments).toHaveLength(1);
  expect(m.attachments[0]).toMatchObject({ filename: 'DREES00000003.p7m', contentType: 'application/pkcs7-mime' });
  const opened = openEdiConsent(m.attachments[0].content, amc);
  expect(opened.file.equals(dre)).toBe(true);
  expect(opened.filename).toBe('DREES00000003.Z');
  expect(openEdiConsent(m.raw as Buffer, amc).file.equals(dre)).toBe(true);
});

test('STARTTLS with the test certificate and authentication; a wrong password or an untrusted CA fails', async () => {
  const auth = { user: 'ch-valenciennes', pass: 'Fact-ROC-2026!' };
  const { port, got } = await mailbox({ tls: { key: pki.serverKey, cert: pki.serverCert }, auth });
  await sender({ port, requireTLS: true, auth, tls: { ca: pki.caCert } }).send({ to: TO, subject: SUBJECT, smime: sealed });
  expect(got).toHaveLength(1);
  expect(got[0].user).toBe('ch-valenciennes');
  const bad = await failure(
    sender({ port, requireTLS: true, auth: { ...auth, pass: 'faux' }, tls: { ca: pki.caCert } }).send({
      to: TO,
      subject: SUBJECT,
      smime: sealed,
    }),
  );
  expect(bad.code).toBe('SEND_FAILED');
  expect(bad.message).toMatch(/535/);
  const untrusted = await failure(
    sender({ port, requireTLS: true, auth, tls: { ca: generateTestPki().caCert } }).send({ to: TO, subject: SUBJECT, smime: sealed }),
  );
  expect(untrusted.code).toBe('SEND_FAILED');
  expect(got).toHaveLength(1);
});

test('a mailbox that requires TLS refuses a client that does not upgrade; one without TLS cannot satisfy requireTLS', async () => {
  const tlsBox = await mailbox({ tls: { key: pki.serverKey, cert: pki.serverCert } });
  // an old client that does not upgrade (nodemailer would, opportunistically)
  const lines = await smtpScript(tlsBox.port, ['EHLO test', `MAIL FROM:<${FROM}>`]);
  expect(lines.some((l) => l.startsWith('250-STARTTLS'))).toBe(true);
  expect(lines[lines.length - 1]).toMatch(/^530 /);
  const plainBox = await mailbox();
  expect((await failure(sender({ port: plainBox.port, requireTLS: true }).send({ to: TO, subject: SUBJECT, smime: sealed }))).code).toBe(
    'SEND_FAILED',
  );
  expect(tlsBox.got.length + plainBox.got.length).toBe(0);
});

test('a client that drops its connection mid-transaction does not bring the mailbox down', async () => {
  const { port, got } = await mailbox();
  await new Promise<void>((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let n = 0;
    sock.on('data', () => {
      n++;
      if (n === 1) sock.write('EHLO test\r\n');
      else if (n === 2) sock.write(`MAIL FROM:<${FROM}>\r\nRCPT TO:<${TO}>\r\nDATA\r\nFrom: x\r\n`);
      else if (n >= 3) sock.resetAndDestroy();
    });
    sock.on('close', () => resolve());
    sock.on('error', () => resolve());
  });
  await new Promise((r) => setTimeout(r, 50));
  await sender({ port }).send({ to: TO, subject: SUBJECT, smime: sealed });
  expect(got).toHaveLength(1);
});

test('implicit TLS', async () => {
  const { port, got } = await mailbox({ secure: true, tls: { key: pki.serverKey, cert: pki.serverCert } });
  await sender({ port, secure: true, tls: { ca: pki.caCert } }).send({ to: TO, subject: SUBJECT, smime: sealed });
  expect(got).toHaveLength(1);
});

test('an oversize message, an unknown mailbox, a failing handler: refused, nothing delivered', async () => {
  const big = sealEdiConsent(writeDreEs(sampleFile(sampleInvoices(300, { seed: 9 }))), { recipientCertPem: amc.certPem });
  const small = await mailbox({ maxMessageBytes: 20_000, recipients: [TO] });
  const refused: string[] = [];
  small.r.on('refused', (x: { reason: string }) => refused.push(x.reason));
  expect(big.length).toBeGreaterThan(20_000);
  expect((await failure(sender({ port: small.port }).send({ to: TO, subject: SUBJECT, smime: big }))).code).toBe('SEND_FAILED');
  expect((await failure(sender({ port: small.port }).send({ to: 'autre@amc.example.fr', subject: SUBJECT, smime: sealed }))).code).toBe(
    'SEND_FAILED',
  );
  expect(small.got).toHaveLength(0);
  const failing = await mailbox({
    onMessage: () => {
      throw new Error('disk full');
    },
  });
  const f = failing.r;
  const reasons: string[] = [];
  f.on('refused', (x: { reason: string }) => reasons.push(x.reason));
  const e = await failure(sender({ port: failing.port }).send({ to: TO, subject: SUBJECT, smime: sealed }));
  expect(e.message).toMatch(/451/);
  expect(failing.got).toHaveLength(0);
  expect(reasons).toEqual(['the mailbox handler failed']);
});

test('an oversize message from a client that ignores SIZE is refused after DATA (552)', async () => {
  const small = await mailbox({ maxMessageBytes: 20_000 });
  const big = sealEdiConsent(writeDreEs(sampleFile(sampleInvoices(300, { seed: 9 }))), { recipientCertPem: amc.certPem });
  const message = Buffer.concat([
    smimeMessage({ from: FROM, to: [TO], subject: SUBJECT, smime: big, messageId: '<a@b>' }),
    Buffer.from('\r\n.'),
  ]);
  const lines = await smtpScript(small.port, ['EHLO test', `MAIL FROM:<${FROM}>`, `RCPT TO:<${TO}>`, 'DATA', message]);
  expect(lines[lines.length - 1]).toMatch(/^552 /);
  expect(small.got).toHaveLength(0);
});

describe('drop directory', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-drop-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a file appears with its .ok marker; it is claimed once; names are never overwritten', async () => {
    const d = new DropDirectory(dir);
    await d.write('DREES00000003.p7m', sealed);
    expect(fs.readdirSync(dir).sort()).toEqual(['DREES00000003.p7m', 'DREES00000003.p7m.ok']);
    await expect(d.write('DREES00000003.p7m', Buffer.from('autre'))).rejects.toThrow(/never overwritten/);
    // a file without its marker (still being written by someone else) and a temporary file are not taken
    fs.writeFileSync(path.join(dir, 'DREES00000004.p7m'), 'partial');
    fs.writeFileSync(path.join(dir, '.DREES00000005.p7m.tmp-abc'), 'tmp');
    expect(await d.list()).toEqual(['DREES00000003.p7m']);
    const other = new DropDirectory(dir);
    const [a, b] = await Promise.all([d.claim('DREES00000003.p7m'), other.claim('DREES00000003.p7m')]);
    const won = [a, b].filter((x) => x !== undefined);
    expect(won).toHaveLength(1);
    expect(won[0]!.data.equals(sealed)).toBe(true);
    expect(won[0]!.path).toBe(path.join(dir, 'claimed', 'DREES00000003.p7m'));
    expect(await d.list()).toEqual([]);
    expect(await d.claimAll()).toEqual([]);
    expect(openEdiConsent(won[0]!.data, amc).file.equals(dre)).toBe(true);
  });

  test('names with a path or a marker suffix are refused; an oversize file is claimed but refused', async () => {
    const d = new DropDirectory(dir, { maxFileBytes: 100 });
    await expect(d.write('../evil', sealed)).rejects.toThrow(BillingTransportError);
    await expect(d.write('x.ok', sealed)).rejects.toThrow(BillingTransportError);
    await d.write('BIG.p7m', sealed);
    await expect(d.claimAll()).rejects.toMatchObject({ code: 'TOO_LARGE' });
    expect(fs.existsSync(path.join(dir, 'claimed', 'BIG.p7m'))).toBe(true);
  });
});
