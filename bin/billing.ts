/**
 * The runtime's billing transport (docs/billing-runtime.md): the outbox the billing nodes hand
 * their DRE-ES and ARL files to (S/MIME + SMTP, or a drop directory), the bridge's own mailbox
 * where the AMC's ARL and RSP files arrive (opened, kept, then handed to roc-rsp), and — with the
 * embedded AMC simulator — the AMC's billing side (startBillingSide) on 127.0.0.1.
 *
 * Both are given to the nodes through Node-RED settings `rocBilling: { outbox, inbox }`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BillingFileIn, BillingInbox, BillingOutbox } from '../lib/billing/outbox';
import { SmimeSmtpOutbox, type AmcBillingPartner } from '../lib/billing/transport/outbox';
import { BillingTransportError, openEdiConsent } from '../lib/billing/transport/smime';
import { SmtpReceiver, type ReceivedMessage, type SmtpSenderOptions } from '../lib/billing/transport/smtp';
import { startBillingSide, type RunningBillingSide } from '../simulator/billing/billing-side';
import type { DevCerts } from '../simulator/make-certs';
import type { RunningSimulator } from '../simulator/server';

/** The embedded simulator's billing mailbox and the bridge's, as addresses (a test domain). */
export const SIMULATOR_AMC_ADDRESS = 'dre-es@amc-simulateur.roc.test';
export const EMBEDDED_BRIDGE_ADDRESS = 'facturation.roc@bridge.roc.test';

export interface RuntimeBilling {
  /** What goes into Node-RED settings `rocBilling` (absent when nothing is configured). */
  settings?: { outbox?: BillingOutbox; inbox?: BillingInbox };
  /** The bridge's embedded mailbox (ARL and RSP in), when it listens. */
  mailboxPort?: number;
  /** The AMC simulator's billing side, when embedded. */
  amc?: RunningBillingSide;
  /** Where the bridge keeps what its mailbox received (sealed and opened). */
  keptDir?: string;
  close(): Promise<void>;
}

export interface RuntimeBillingOptions {
  env: NodeJS.ProcessEnv;
  /** Where the received files are kept (default <userDir>/billing). */
  dir: string;
  simulator?: RunningSimulator;
  certs?: DevCerts;
  log: (line: string) => void;
}

const read = (file: string, what: string): string => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${what}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
};

/**
 * The AMC's certificate from its PEM file, read at each file sent (a few hundred bytes, a file every
 * few seconds at most): a renewed certificate put in place of the expired one is used from the next
 * file on, without a restart (a file refused for the old one is then sent again by an operator). An
 * unreadable file at send time throws a transport error that leaves the DRE-ES file WRITTEN (sent
 * again at the next batch).
 */
export function certificateFile(file: string, what = 'ROC_BILLING_AMC_CERT'): () => string {
  return () => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new BillingTransportError('BAD_INPUT', `${what}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
}

const stamp = () => new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);

/** A fan-out inbox: files offered before roc-rsp subscribed wait in order, then go to it. */
class MailboxInbox implements BillingInbox {
  private readonly handlers = new Set<(f: BillingFileIn) => Promise<void>>();
  private waiting: Array<{ file: BillingFileIn; done: (e?: Error) => void }> = [];

  subscribe(handler: (f: BillingFileIn) => Promise<void>): () => void {
    this.handlers.add(handler);
    const queued = this.waiting;
    this.waiting = [];
    void (async () => {
      for (const q of queued)
        await this.offer(q.file).then(
          () => q.done(),
          (e: Error) => q.done(e),
        );
    })();
    return () => this.handlers.delete(handler);
  }

  /** Resolves once every subscriber processed the file; without subscriber, once one did. */
  offer(file: BillingFileIn): Promise<void> {
    if (!this.handlers.size) return new Promise((resolve, reject) => this.waiting.push({ file, done: (e) => (e ? reject(e) : resolve()) }));
    return Promise.all([...this.handlers].map((h) => h(file))).then(() => undefined);
  }
}

function smtpFromEnv(env: NodeJS.ProcessEnv, from: string): SmtpSenderOptions | undefined {
  if (!env.ROC_BILLING_SMTP_HOST) return undefined;
  const tls = (env.ROC_BILLING_SMTP_TLS || 'starttls').toLowerCase();
  if (!['starttls', 'tls', 'none'].includes(tls)) throw new Error('ROC_BILLING_SMTP_TLS must be starttls, tls or none');
  const port = Number(env.ROC_BILLING_SMTP_PORT || (tls === 'tls' ? 465 : 587));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error('ROC_BILLING_SMTP_PORT must be a port number');
  return {
    host: env.ROC_BILLING_SMTP_HOST,
    port,
    from,
    ...(tls === 'tls' ? { secure: true } : tls === 'starttls' ? { requireTLS: true } : {}),
    ...(env.ROC_BILLING_SMTP_USER ? { auth: { user: env.ROC_BILLING_SMTP_USER, pass: env.ROC_BILLING_SMTP_PASSWORD || '' } } : {}),
  };
}

export async function startRuntimeBilling(o: RuntimeBillingOptions): Promise<RuntimeBilling> {
  const { env, log } = o;
  const embedded = !!o.simulator && !!o.certs && !env.ROC_BILLING_SMTP_HOST && !env.ROC_BILLING_DROP_DIR;
  const from = env.ROC_BILLING_FROM || EMBEDDED_BRIDGE_ADDRESS;
  // the establishment's certificate and key: the AMC seals its answers for them, we sign with them
  const estCertPem = env.ROC_CLIENT_CERT ? read(env.ROC_CLIENT_CERT, 'ROC_CLIENT_CERT') : undefined;
  const estKeyPem = env.ROC_CLIENT_KEY ? read(env.ROC_CLIENT_KEY, 'ROC_CLIENT_KEY') : undefined;
  const establishment = estCertPem && estKeyPem ? { certPem: estCertPem, keyPem: estKeyPem } : undefined;

  const closers: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  const result: RuntimeBilling = { close };
  try {
    // the bridge's mailbox: with the embedded simulator, or when ROC_BILLING_MAILBOX_PORT is set
    let inbox: MailboxInbox | undefined;
    const mailboxPort = env.ROC_BILLING_MAILBOX_PORT ?? (embedded ? '0' : undefined);
    if (mailboxPort !== undefined && mailboxPort !== '' && establishment) {
      const keptDir = path.join(o.dir, 'received');
      fs.mkdirSync(keptDir, { recursive: true, mode: 0o700 });
      const mbox = new MailboxInbox();
      const receiver = new SmtpReceiver();
      const { port } = await receiver.start({
        host: env.ROC_BILLING_MAILBOX_HOST || '127.0.0.1',
        port: Number(mailboxPort),
        onMessage: async (m: ReceivedMessage) => {
          for (const a of m.attachments) {
            const base = `${stamp()}-${safe(a.filename ?? 'smime.p7m')}`;
            fs.writeFileSync(path.join(keptDir, base), a.content, { mode: 0o600 });
            let opened;
            try {
              opened = openEdiConsent(a.content, establishment);
            } catch (e) {
              // kept sealed; refused once (a retry would fail the same way)
              const code = e instanceof BillingTransportError ? e.code : 'MALFORMED';
              log(`Billing mailbox: a file could not be opened (${code}); kept as ${base}`);
              continue;
            }
            const name = safe((opened.filename ?? base).replace(/\.Z$/, ''));
            fs.writeFileSync(path.join(keptDir, `${base}.${name}`), opened.file, { mode: 0o600 });
            await mbox.offer({ bytes: opened.file, name });
          }
        },
      });
      closers.push(() => receiver.close());
      inbox = mbox;
      result.mailboxPort = port;
      result.keptDir = keptDir;
    }

    let outbox: SmimeSmtpOutbox | undefined;
    if (embedded && o.simulator && o.certs) {
      const certs = o.certs;
      const delayS = Number(env.ROC_SIMULATOR_RSP_DELAY_S ?? 10);
      if (!Number.isFinite(delayS) || delayS < 0) throw new Error('ROC_SIMULATOR_RSP_DELAY_S must be a number of seconds');
      const amc = await startBillingSide({
        certPem: certs.serverCertPem,
        keyPem: certs.serverKeyPem,
        trustedSignerCaPem: certs.caCertPem,
        engagements: o.simulator.engagementBook,
        smtp: { host: '127.0.0.1', port: 0 },
        dropDir: path.join(o.dir, 'amc-simulateur', 'depot'),
        archiveDir: path.join(o.dir, 'amc-simulateur', 'archive'),
        bridge: {
          certPem: certs.clientCertPem,
          ...(result.mailboxPort
            ? { smtp: { host: '127.0.0.1', port: result.mailboxPort, from: SIMULATOR_AMC_ADDRESS, to: from, timeoutMs: 5000 } }
            : {}),
        },
        rspDelayMs: delayS * 1000,
        ...(env.ROC_SIMULATOR_REJECT ? { rejectFirst: parseRejectFirst(env.ROC_SIMULATOR_REJECT) } : {}),
        log,
      });
      closers.push(() => amc.close());
      result.amc = amc;
      // ROC_BILLING_AMC_CERT, when set, stands for the simulated AMC's certificate (to try an
      // expired one, then its renewal); otherwise the dev PKI's server certificate
      const amcCert = env.ROC_BILLING_AMC_CERT ? certificateFile(env.ROC_BILLING_AMC_CERT) : () => certs.serverCertPem;
      if (env.ROC_BILLING_AMC_CERT) read(env.ROC_BILLING_AMC_CERT, 'ROC_BILLING_AMC_CERT');
      outbox = new SmimeSmtpOutbox({
        resolve: () => ({ address: SIMULATOR_AMC_ADDRESS, certificatePem: amcCert() }),
        smtp: { host: '127.0.0.1', port: amc.smtpPort, from, timeoutMs: 5000 },
        ...(establishment ? { signer: establishment } : {}),
      });
    } else if (env.ROC_BILLING_SMTP_HOST || env.ROC_BILLING_DROP_DIR) {
      if (!env.ROC_BILLING_AMC_CERT) throw new Error('ROC_BILLING_AMC_CERT (the AMC encryption certificate, PEM) is required');
      read(env.ROC_BILLING_AMC_CERT, 'ROC_BILLING_AMC_CERT'); // readable at start, read again when it changes
      const amcCert = certificateFile(env.ROC_BILLING_AMC_CERT);
      const address = env.ROC_BILLING_AMC_ADDRESS || undefined;
      if (env.ROC_BILLING_SMTP_HOST && !address) throw new Error('ROC_BILLING_AMC_ADDRESS is required with ROC_BILLING_SMTP_HOST');
      const smtp = smtpFromEnv(env, from);
      outbox = new SmimeSmtpOutbox({
        resolve: (): AmcBillingPartner => ({ certificatePem: amcCert(), ...(address ? { address } : {}) }),
        ...(smtp ? { smtp } : { dropDir: env.ROC_BILLING_DROP_DIR as string }),
        ...(establishment ? { signer: establishment } : {}),
      });
    }
    if (outbox) {
      const ob = outbox;
      closers.push(() => ob.close());
    }
    if (outbox || inbox) result.settings = { ...(outbox ? { outbox } : {}), ...(inbox ? { inbox } : {}) };
    return result;
  } catch (e) {
    await close();
    throw e;
  }
}

/** `ROC_SIMULATOR_REJECT=F280000003:R006,F280000004:R004`: invoices the simulated AMC rejects once. */
export function parseRejectFirst(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z0-9._-]{1,12}):(R\d{3})$/.exec(part);
    if (!m) throw new Error(`ROC_SIMULATOR_REJECT: "${part.slice(0, 30)}" is not INVOICE:R000`);
    out[m[1]] = m[2];
  }
  return out;
}
