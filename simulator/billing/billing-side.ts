/**
 * The AMC miroir's billing side (issue 10 item 4): a mailbox (SMTP, smtp-server + mailparser) and
 * a drop directory receive the hospitals' sealed DRE-ES files; each is opened (openEdiConsent:
 * decrypt, verify, inflate), read strictly (readDreEs), acknowledged with an ARL (positive per lot,
 * or negative for the whole file with a reason), and its invoices are checked against the
 * engagements the simulator's CLC issued: the engagement exists, is ACTIF, is this AMC's, and the
 * invoice's AMC share equals the engaged amount. A valid invoice marks its engagement invoiced
 * (a DEL is then refused 6022). After a configurable delay an RSP file answers each invoice:
 * paid, partially paid or rejected, in the mix of the options or of the seed's `facturation`
 * block; invalid invoices are rejected with their reason (R003 unknown/cancelled engagement,
 * R004 amount differs, R005 billed twice). ARL and RSP go back sealed for the bridge's
 * certificate by the channel the DRE-ES came by (SMTP to the bridge's mailbox, or the bridge's
 * drop directory).
 *
 * Not wired into simulator/server.ts or bin/runtime.ts here: `startBillingSide(opts)` with the
 * simulator's EngagementBook (it satisfies `BillingEngagements`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeArl, type ArlAck } from '../../lib/billing/arl';
import { readDreEs, type DreFileRead, type DreInvoice } from '../../lib/billing/dre-es';
import { DRE_ES } from '../../lib/billing/layouts';
import { decodeRecord } from '../../lib/billing/records';
import { writeRsp, type ReturnInput } from '../../lib/billing/rsp';
import { BillingTransportError, openEdiConsent, sealEdiConsent } from '../../lib/billing/transport/smime';
import {
  DropDirectory,
  SmtpReceiver,
  SmtpSender,
  type ReceivedMessage,
  type SmtpReceiverOptions,
  type SmtpSenderOptions,
} from '../../lib/billing/transport/smtp';
import { mulberry32 } from '../../lib/util/random';
import type { Engagement } from '../engagements';
import { toCents } from '../engine';

/** What the billing side needs of the simulator's EngagementBook. */
export interface BillingEngagements {
  forInvoice(finessGeographique: string, numeroFacture: string): { engagement: Engagement } | undefined;
  markInvoiced(numero: string): boolean;
}

export interface BillingMix {
  /** Share of valid invoices partially paid (80 % of the claim). Default 0.08. */
  partial?: number;
  /** Share of valid invoices rejected anyway (a reason drawn from `reasons`). Default 0.07. */
  rejected?: number;
  /** Reasons drawn for those rejections (reasons.json codes). Default R001, R006, R007. */
  reasons?: string[];
  /** PRNG seed of the draws. Default 1. */
  seed?: number;
}

export interface BillingSideOptions {
  /** The AMC's certificate and key: the ones the hospitals encrypt their DRE-ES files for. */
  certPem: string;
  keyPem: string;
  /** Accept only signatures by certificates of this CA. */
  trustedSignerCaPem?: string;
  requireSignature?: boolean;
  /** The AMC signs its ARL and RSP with this, when given. */
  signer?: { certPem: string; keyPem: string };
  /** The engagements the online side issued (the simulator's EngagementBook). */
  engagements: BillingEngagements;
  /** numéros AMC this side answers for; a file for another AMC gets a negative ARL. Default: any. */
  amcs?: string[];
  /** The AMC's mailbox (default: plain SMTP on 127.0.0.1, ephemeral port); false: no mailbox. */
  smtp?: false | Omit<SmtpReceiverOptions, 'onMessage' | 'keepRaw'>;
  /** Incoming drop directory (default: a new directory under the system's temp dir). */
  dropDir?: string;
  /** How often the drop directory is looked at (default 500 ms). */
  pollMs?: number;
  /** Where each received file is kept raw (default `<dropDir>/archive`). */
  archiveDir?: string;
  /** Where the answers go: sealed for the bridge's certificate. */
  bridge: {
    certPem: string;
    cipher?: 'aes-256-cbc' | 'des-ede3-cbc';
    /** The bridge's mailbox, for files that came by SMTP. */
    smtp?: SmtpSenderOptions & { to: string };
    /** The bridge's drop directory, for files that came by drop directory. */
    dropDir?: string;
  };
  /** Delay between the ARL and the RSP (default 2,000 ms). */
  rspDelayMs?: number;
  mix?: BillingMix;
  /**
   * Invoices (by number) rejected on their first presentation with the given reason code, then paid
   * in full when billed again (resent, or corrected): a rejection on demand, for tests and demos
   * (`ROC_SIMULATOR_REJECT=F280000003:R006,…` with npm start). Outside the random mix.
   */
  rejectFirst?: Record<string, string>;
  /** A seed object whose optional `facturation` block gives the mix: { partiel, rejet, motifs, graine, delaiRspMs }. */
  seed?: { facturation?: { partiel?: number; rejet?: number; motifs?: string[]; graine?: number; delaiRspMs?: number } };
  now?: () => Date;
  /** One line per event, without patient data. */
  log?: (line: string) => void;
}

export interface BillingRefusal {
  at: string;
  channel: 'smtp' | 'drop';
  /** Transport code (DECRYPT_FAILED…), DRE-ES quarantine code (format, totals…), DUPLICATE_FILE, OTHER_AMC, NO_ATTACHMENT. */
  code: string;
  reason: string;
  /** The raw file kept in the archive, when there was one. */
  kept?: string;
}

export interface BillingSideStats {
  received: number;
  filesAccepted: number;
  filesRefused: number;
  lotsAcknowledged: number;
  invoices: number;
  /** Invoices that failed the engagement checks, by reason code. */
  invalid: Record<string, number>;
  paid: number;
  partiallyPaid: number;
  rejected: number;
  claimedCents: number;
  paidCents: number;
  arlSent: number;
  rspSent: number;
  /** ARLs the bridge sent back for our RSP files. */
  arlReceived: number;
  /** Answers that could not be delivered (no channel configured, or the send failed). */
  undelivered: number;
  /** Engagement numbers longer than the DRE-ES field: matched on FINESS + invoice number only. */
  engagementNumberTooLong: number;
  /** The latest refusals (at most 100). */
  refusals: BillingRefusal[];
}

export interface RunningBillingSide {
  /** 0 when there is no mailbox. */
  smtpPort: number;
  dropDir: string;
  archiveDir: string;
  stats(): BillingSideStats;
  /** Looks at the drop directory now. */
  scan(): Promise<void>;
  /** Resolves when no answer is pending (the RSP timers fired and everything was sent). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

type Channel = 'smtp' | 'drop';

const ENGAGEMENT_FIELD = DRE_ES.byName.get('invoice')?.fields.find((f) => f.name === 'engagement')?.length ?? 20;
const REFUSAL_LABELS: Record<string, [string, string]> = {
  format: ['FORM', 'Fichier non conforme au format DRE-ES'],
  truncated: ['TRON', 'Fichier tronque'],
  structure: ['STRU', 'Structure du fichier incorrecte'],
  totals: ['TOTX', 'Totaux ou compteurs incoherents'],
  duplicate: ['DOUB', 'Facture en double dans le fichier'],
  DUPLICATE_FILE: ['DFIC', 'Fichier deja recu'],
  OTHER_AMC: ['AMCI', 'Organisme destinataire inconnu ici'],
};

const iso = (d: Date) => d.toISOString().slice(0, 10);
const compact = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14);

export async function startBillingSide(opts: BillingSideOptions): Promise<RunningBillingSide> {
  const now = opts.now ?? (() => new Date());
  const log = opts.log ?? (() => undefined);
  const fact = opts.seed?.facturation ?? {};
  const mix = {
    partial: opts.mix?.partial ?? fact.partiel ?? 0.08,
    rejected: opts.mix?.rejected ?? fact.rejet ?? 0.07,
    reasons: opts.mix?.reasons ?? fact.motifs ?? ['R001', 'R006', 'R007'],
  };
  if (!(mix.partial >= 0 && mix.rejected >= 0 && mix.partial + mix.rejected <= 1))
    throw new Error('billing side: the mix shares must be ≥ 0 and add up to ≤ 1');
  if (!mix.reasons.length) throw new Error('billing side: the mix needs at least one rejection reason');
  const rnd = mulberry32(opts.mix?.seed ?? fact.graine ?? 1);
  const rejectedOnce = new Set<string>();
  const rspDelayMs = opts.rspDelayMs ?? fact.delaiRspMs ?? 2000;
  const dropDir = opts.dropDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'roc-amc-drop-'));
  fs.mkdirSync(dropDir, { recursive: true });
  const archiveDir = opts.archiveDir ?? path.join(dropDir, 'archive');
  fs.mkdirSync(archiveDir, { recursive: true });
  const inbox = new DropDirectory(dropDir);
  const outbox = opts.bridge.dropDir ? new DropDirectory(opts.bridge.dropDir) : undefined;
  const sender = opts.bridge.smtp ? new SmtpSender(opts.bridge.smtp) : undefined;
  const amcs = opts.amcs ? new Set(opts.amcs) : undefined;

  const stats: BillingSideStats = {
    received: 0,
    filesAccepted: 0,
    filesRefused: 0,
    lotsAcknowledged: 0,
    invoices: 0,
    invalid: {},
    paid: 0,
    partiallyPaid: 0,
    rejected: 0,
    claimedCents: 0,
    paidCents: 0,
    arlSent: 0,
    rspSent: 0,
    arlReceived: 0,
    undelivered: 0,
    engagementNumberTooLong: 0,
    refusals: [],
  };
  const accepted = new Set<string>(); // emitter|amc|file number
  const arlSeq = new Map<string, number>();
  const rspSeq = new Map<string, number>();
  /** RSP timers and the release of their idle() promise. */
  const timers = new Map<NodeJS.Timeout, () => void>();
  const pending = new Set<Promise<void>>();
  let archived = 0;
  let closed = false;

  const track = (p: Promise<void>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  const next = (m: Map<string, number>, k: string) => {
    const n = (m.get(k) ?? 0) + 1;
    m.set(k, n);
    return n;
  };
  const refuse = (channel: Channel, code: string, reason: string, kept?: string) => {
    stats.filesRefused++;
    stats.refusals.push({ at: now().toISOString(), channel, code, reason, ...(kept ? { kept } : {}) });
    if (stats.refusals.length > 100) stats.refusals.shift();
    log(`billing: refused (${channel}) ${code}: ${reason}`);
  };
  const keep = (data: Buffer, hint: string): string => {
    const name = `${compact(now())}-${String(++archived).padStart(6, '0')}-${hint.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60)}`;
    const p = path.join(archiveDir, name);
    fs.writeFileSync(p, data, { mode: 0o640 });
    return p;
  };

  /** Seal and send one answer file (ARL or RSP) to the bridge by the channel the DRE-ES came by. */
  async function deliver(channel: Channel, kind: 'ARL' | 'RSP', amc: string, numero: number, file: Buffer): Promise<boolean> {
    const name = `${kind}${amc}${String(numero).padStart(8, '0')}`;
    const useSmtp = channel === 'smtp' ? !!sender : !outbox && !!sender;
    try {
      const sealed = sealEdiConsent(file, {
        recipientCertPem: opts.bridge.certPem,
        cipher: opts.bridge.cipher,
        signer: opts.signer,
        filename: `${name}.Z`,
        now: now(),
      });
      if (useSmtp && sender && opts.bridge.smtp) {
        await sender.send({
          to: opts.bridge.smtp.to,
          subject: `${kind}/${amc}/${numero}/${compact(now())}`,
          smime: sealed,
          filename: `${name}.p7m`,
        });
      } else if (outbox) {
        await outbox.write(`${name}.p7m`, sealed);
      } else {
        stats.undelivered++;
        log(`billing: no channel to send ${kind} ${numero} of ${amc} back`);
        return false;
      }
    } catch (e) {
      stats.undelivered++;
      log(`billing: sending ${kind} ${numero} of ${amc} failed: ${e instanceof BillingTransportError ? e.message : 'error'}`);
      return false;
    }
    if (kind === 'ARL') stats.arlSent++;
    else stats.rspSent++;
    return true;
  }

  function sendArl(channel: Channel, amc: string, emitter: string, acks: ArlAck[]): void {
    const numero = next(arlSeq, amc);
    const arl = writeArl({ emitter: amc, recipient: emitter, arlNumber: numero, date: iso(now()), acks });
    track(deliver(channel, 'ARL', amc, numero, arl).then(() => undefined));
  }

  /** The file header of a file readDreEs refused, when it can be read: whom to send the negative ARL. */
  function headerOf(data: Buffer): { emitter: string; amc: string; fileNumber: number } | undefined {
    try {
      const first = data.toString('latin1', 0, DRE_ES.recordLength);
      const r = decodeRecord(DRE_ES, first, 1);
      if (r.record !== 'fileHeader') return undefined;
      return { emitter: String(r.values.emitterFiness), amc: String(r.values.amc), fileNumber: Number(r.values.fileNumber) };
    } catch {
      return undefined;
    }
  }

  function negative(channel: Channel, head: { emitter: string; amc: string; fileNumber: number }, code: string): void {
    const [reasonCode, reasonLabel] = REFUSAL_LABELS[code] ?? ['TECH', 'Fichier refuse'];
    sendArl(channel, head.amc, head.emitter, [
      {
        fileKind: 'DREES',
        fileNumber: head.fileNumber,
        lotNumber: 0,
        positive: false,
        reasonCode,
        reasonLabel,
        invoiceCount: 0,
        amountCents: 0,
      },
    ]);
  }

  function checkInvoice(
    file: DreFileRead,
    finess: string,
    inv: DreInvoice,
  ): { ok: true; engagement: Engagement } | { ok: false; reason: string } {
    const held = opts.engagements.forInvoice(finess, inv.number);
    const amcCents = inv.lines.reduce((s, l) => s + l.amcCents, 0);
    if (!held) return { ok: false, reason: 'R003' };
    const e = held.engagement;
    if (e.numeroAmc !== file.amc) return { ok: false, reason: 'R003' };
    if (e.etat === 'FACTURE') return { ok: false, reason: 'R005' };
    if (e.etat !== 'ACTIF') return { ok: false, reason: 'R003' };
    if (e.numero.length <= ENGAGEMENT_FIELD) {
      if (inv.engagement !== e.numero) return { ok: false, reason: 'R003' };
    } else stats.engagementNumberTooLong++;
    if (toCents(e.montantAmc) !== amcCents) return { ok: false, reason: 'R004' };
    return { ok: true, engagement: e };
  }

  /** One received sealed file, from either channel. */
  function handle(channel: Channel, sealed: Buffer, hint: string): void {
    stats.received++;
    const kept = keep(sealed, hint);
    let data: Buffer;
    try {
      data = openEdiConsent(sealed, {
        certPem: opts.certPem,
        keyPem: opts.keyPem,
        trustedSignerCaPem: opts.trustedSignerCaPem,
        requireSignature: opts.requireSignature,
        now: now(),
      }).file;
    } catch (e) {
      const err = e instanceof BillingTransportError ? e : new BillingTransportError('MALFORMED', 'cannot be opened');
      return refuse(channel, err.code, err.message, kept);
    }
    if (data.subarray(0, 6).toString('latin1') === '000ARL') {
      // the bridge's ARL for one of our RSP files: kept in the archive, nothing to answer
      stats.arlReceived++;
      log(`billing: ARL received (${channel})`);
      return;
    }
    const read = readDreEs(data);
    if (!read.ok) {
      refuse(channel, read.code, read.reason, kept);
      const head = headerOf(data);
      if (head) negative(channel, head, read.code);
      return;
    }
    const file = read.value;
    const head = { emitter: file.emitter, amc: file.amc, fileNumber: file.numero };
    if (amcs && !amcs.has(file.amc)) {
      refuse(channel, 'OTHER_AMC', `DRE-ES file ${file.numero} of ${file.emitter} is for AMC ${file.amc}, not served here`, kept);
      return negative(channel, head, 'OTHER_AMC');
    }
    const key = `${file.emitter}|${file.amc}|${file.numero}`;
    if (accepted.has(key)) {
      refuse(channel, 'DUPLICATE_FILE', `DRE-ES file ${file.numero} of ${file.emitter} for ${file.amc} was already received`, kept);
      return negative(channel, head, 'DUPLICATE_FILE');
    }
    accepted.add(key);
    stats.filesAccepted++;
    const acks: ArlAck[] = file.lots.map((lot) => ({
      fileKind: 'DREES',
      fileNumber: file.numero,
      lotNumber: lot.number,
      positive: true,
      invoiceCount: lot.invoices.length,
      amountCents: lot.invoices.reduce((s, i) => s + i.lines.reduce((t, l) => t + l.amcCents, 0), 0),
    }));
    stats.lotsAcknowledged += acks.length;
    sendArl(channel, file.amc, file.emitter, acks);
    const byFiness = new Map<string, ReturnInput[]>();
    const date = iso(now());
    const rspNumero = next(rspSeq, file.amc);
    const payRef = `VIR${date.slice(2).replace(/-/g, '')}${String(rspNumero % 1000).padStart(3, '0')}`;
    for (const lot of file.lots) {
      let list = byFiness.get(lot.finess);
      if (!list) byFiness.set(lot.finess, (list = []));
      for (const inv of lot.invoices) {
        stats.invoices++;
        const claimed = inv.lines.reduce((s, l) => s + l.amcCents, 0);
        stats.claimedCents += claimed;
        const base = {
          invoiceNumber: inv.number,
          lotNumber: lot.number,
          fileNumber: file.numero,
          invoiceDate: inv.invoiceDate,
          engagement: inv.engagement,
          claimedCents: claimed,
        };
        const check = checkInvoice(file, lot.finess, inv);
        if (!check.ok) {
          stats.invalid[check.reason] = (stats.invalid[check.reason] ?? 0) + 1;
          stats.rejected++;
          list.push({ kind: 'rejected', ...base, reason: check.reason });
          continue;
        }
        const wanted = opts.rejectFirst?.[inv.number.trim()];
        if (wanted !== undefined) {
          if (!rejectedOnce.has(inv.number.trim())) {
            rejectedOnce.add(inv.number.trim());
            stats.rejected++;
            list.push({ kind: 'rejected', ...base, reason: wanted });
            continue;
          }
          opts.engagements.markInvoiced(check.engagement.numero);
          stats.paid++;
          stats.paidCents += claimed;
          list.push({ kind: 'paid', ...base, paidCents: claimed, paymentReference: payRef, paymentDate: date });
          continue;
        }
        const x = rnd();
        if (x < mix.rejected) {
          // a rejected invoice leaves its engagement active: the hospital may cancel it (DEL) and bill a corrected one
          stats.rejected++;
          list.push({ kind: 'rejected', ...base, reason: mix.reasons[Math.floor(rnd() * mix.reasons.length)] });
        } else {
          opts.engagements.markInvoiced(check.engagement.numero);
          const paid = x < mix.rejected + mix.partial ? Math.round(claimed * 0.8) : claimed;
          if (paid < claimed) stats.partiallyPaid++;
          else stats.paid++;
          stats.paidCents += paid;
          list.push({ kind: 'paid', ...base, paidCents: paid, paymentReference: payRef, paymentDate: date });
        }
      }
    }
    const rsp = writeRsp({
      amc: file.amc,
      numero: rspNumero,
      date,
      recipients: [...byFiness].map(([finess, returns]) => ({ finess, returns })),
    });
    log(
      `billing: DRE-ES file ${file.numero} of ${file.emitter} for ${file.amc}: ${file.lots.length} lot(s), ${file.invoiceCount} invoice(s); RSP ${rspNumero} in ${rspDelayMs} ms`,
    );
    let release: () => void = () => undefined;
    track(new Promise<void>((resolve) => (release = resolve)));
    const t = setTimeout(() => {
      timers.delete(t);
      track(deliver(channel, 'RSP', file.amc, rspNumero, rsp).then(() => undefined));
      release();
    }, rspDelayMs);
    timers.set(t, release);
  }

  function safely(channel: Channel, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      refuse(channel, 'INTERNAL', e instanceof BillingTransportError ? e.message : 'the file could not be processed');
    }
  }

  // ---- channels --------------------------------------------------------------------------------

  let receiver: SmtpReceiver | undefined;
  let smtpPort = 0;
  if (opts.smtp !== false) {
    receiver = new SmtpReceiver();
    receiver.on('error', () => undefined);
    const started = await receiver.start({
      host: '127.0.0.1',
      port: 0,
      ...(opts.smtp ?? {}),
      onMessage: (m: ReceivedMessage) => {
        const files = m.attachments.filter((a) => /pkcs7-mime/i.test(a.contentType) || /\.p7m$/i.test(a.filename ?? ''));
        if (!files.length) return refuse('smtp', 'NO_ATTACHMENT', 'a message without an S/MIME file');
        for (const a of files) safely('smtp', () => handle('smtp', a.content, a.filename ?? 'smime.p7m'));
      },
    });
    smtpPort = started.port;
  }

  let scanning: Promise<void> | undefined;
  const scan = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (!scanning) {
      scanning = (async () => {
        try {
          for (const name of await inbox.list()) {
            let c;
            try {
              c = await inbox.claim(name);
            } catch (e) {
              refuse(
                'drop',
                e instanceof BillingTransportError ? e.code : 'OTHER',
                e instanceof BillingTransportError ? e.message : `${name} cannot be read`,
              );
              continue;
            }
            if (c) safely('drop', () => handle('drop', c.data, c.name));
          }
        } finally {
          scanning = undefined;
        }
      })();
    }
    return scanning;
  };
  const poll = setInterval(() => void scan().catch(() => undefined), opts.pollMs ?? 500);
  poll.unref();

  return {
    smtpPort,
    dropDir,
    archiveDir,
    stats: () => ({ ...stats, invalid: { ...stats.invalid }, refusals: [...stats.refusals] }),
    scan,
    idle: async () => {
      while (pending.size || scanning) await Promise.all([...pending, scanning]);
    },
    close: async () => {
      closed = true;
      clearInterval(poll);
      for (const [t, release] of timers) {
        clearTimeout(t);
        release(); // an RSP not yet due is dropped with the simulator
      }
      timers.clear();
      await scanning;
      await receiver?.close();
      await Promise.allSettled([...pending]); // answers in flight finish (or time out)
      sender?.close();
    },
  };
}
