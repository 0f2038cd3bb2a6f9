/**
 * roc-dre-es: bills the AMC share of engaged dossiers as DRE-ES files. Thin adapter over
 * lib/billing (release check, DRE-ES writer, AMO notices) and the journal (invoice billing states,
 * gapless file numbers, files), with the dossier moved through lib/dossier (DRE_ENVOYEE).
 *
 * Input, told apart by what it carries:
 * - an AMO payment notice: JSON (POST /roc/amo-payment) `msg.payload = { cle | finessGeographique +
 *   numeroVenue, factureNumero, montantAmo, datePaiement }`, or HL7 (`msg.payload` an ER7 text or
 *   Buffer: BAR^P05 [profile], lib/billing/amo.ts) → the invoice is "AMO paid", then re-examined;
 * - an invoice to bill: `msg.roc.dossier.cle` (roc-dossier's outputs) or `msg.payload.cle` /
 *   `finessGeographique + numeroVenue`, with an optional claim `msg.payload.montantAmc` (euros) →
 *   released (ready, waits for its batch), pending with its reason, or refused;
 * - `msg.topic = "flush"`: write the batches now.
 * Every `scheduleSeconds` (and when an AMC has `batchSize` invoices ready) the ready invoices go
 * out: one file per destination AMC, a lot per FINESS géographique, numbered by the journal in the
 * transaction that records it, handed to the outbox, then each dossier ENGAGE → FACTURE_AMC.
 * Files left written by a stop (crash, SIGKILL) are sent again at start, under the same name.
 *
 * Outputs: 1 invoices (msg.roc.billing per invoice whose billing state changed) · 2 files
 * (msg.roc.billingFile per file sent) · 3 answer to the HTTP caller (POST /roc/amo-payment).
 * Admin: GET /roc/billing/reconciliation?from=&to=&amc=&format=json|csv&delay=.
 */
import * as path from 'path';
import type { NodeAPI, Node, NodeDef, NodeMessage } from '../common/red';
import { leaseJournal, num } from '../common/journal';
import type { Lease } from '../../lib/store';
import type { SqliteJournal } from '../../lib/store/sqlite';
import type { InvoiceBilling } from '../../lib/store/journal';
import { readAmoPaymentHl7, readAmoPaymentJson, eurosToCents, type AmoReading } from '../../lib/billing/amo';
import { releaseCheck, dreFile, dreFileName, type ReleaseVerdict } from '../../lib/billing/release';
import { writeDreEs } from '../../lib/billing/dre-es';
import { DirectoryOutbox, type BillingOutbox } from '../../lib/billing/outbox';
import { applyBillingEvent } from '../../lib/billing/dossier-events';
import { reconciliation } from '../../lib/billing/ledger';
import { summaryToCsv } from '../../lib/billing/reconcile';
import { systemClock, type Clock } from '../../lib/dossier/schedule';
import type { DossierRecord } from '../../lib/dossier/dossier';
import { operationsAct, operationsRead } from '../../lib/security/access';
import { billingJournals } from '../common/billing';
import { isCorrected, rejectedItem, resendRefusal } from '../../lib/billing/rejected';

interface ResendOutcome {
  status: number;
  body: Record<string, unknown>;
}

interface RocDreEsNode extends Node {
  journal?: SqliteJournal;
  flush?: () => Promise<void>;
  ageingDays?: number;
  resendRejected?: (key: string) => Promise<ResendOutcome>;
  resendFile?: (amc: string, numero: number) => Promise<ResendOutcome>;
}

/**
 * Transport failures (lib/billing/transport/smime.ts codes) that refuse a file rather than leave it
 * to be sent again: the recipient's certificate expired, not yet valid, or unusable.
 */
const REFUSING_TRANSPORT_CODES: readonly string[] = ['CERT_EXPIRED', 'CERT_INVALID'];

/** The deployed roc-dre-es nodes (POST /roc/billing/rejected/:key/resend acts through one). */
const dreEsNodes = new Map<string, RocDreEsNode>();

/** Settings the lead's runtime may inject: the outbox (S/MIME + SMTP) and a clock (tests). */
interface RocBillingSettings {
  outbox?: BillingOutbox;
  clock?: Clock;
}

const KEY_RE = /^[A-Za-z0-9-]{1,20}\/[VN]\/[A-Za-z0-9._-]{1,40}$/;
const FINESS_RE = /^(\d{9}|2[AB]\d{7})$/;
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

function keyOf(msg: NodeMessage): { key?: string; claim?: number; badClaim?: boolean } {
  const roc = (msg.roc ?? {}) as { dossier?: { cle?: unknown } };
  const body = (msg.payload && typeof msg.payload === 'object' && !Buffer.isBuffer(msg.payload) ? msg.payload : {}) as Record<
    string,
    unknown
  >;
  const s = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
  let key = s(roc.dossier?.cle) ?? s(body.cle);
  if (!key && s(body.finessGeographique) && s(body.numeroVenue)) key = `${s(body.finessGeographique)}/V/${s(body.numeroVenue)}`;
  const out: { key?: string; claim?: number; badClaim?: boolean } = {};
  if (key && KEY_RE.test(key)) out.key = key;
  if (body.montantAmc !== undefined) {
    const c = eurosToCents(body.montantAmc);
    if (c === undefined) out.badClaim = true;
    else out.claim = c;
  }
  return out;
}

export = function register(RED: NodeAPI): void {
  function RocDreEs(this: RocDreEsNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this; // eslint-disable-line @typescript-eslint/no-this-alias -- used in callbacks
    const injected = ((RED as unknown as { settings?: Record<string, unknown> }).settings?.rocBilling ?? {}) as RocBillingSettings;
    const clock: Clock = injected.clock ?? systemClock;
    const emitter = String(def.emitterFiness ?? '').trim();
    const outDir = String(def.outboxDir ?? '').trim();
    const fail = (key: string, subs: Record<string, unknown> = {}) => {
      node.status({ fill: 'red', shape: 'ring', text: RED._(`roc-dre-es.status.config`) });
      node.error(RED._(key, subs));
      node.on('input', (_m, _s, done) => done(new Error(RED._(key, subs))));
    };
    if (!FINESS_RE.test(emitter)) return fail('roc-dre-es.errors.emitter');
    if (!injected.outbox && !outDir) return fail('roc-dre-es.errors.outbox');
    let lease: Lease<SqliteJournal> | undefined;
    try {
      lease = leaseJournal(RED, def, {});
    } catch (e) {
      return fail('roc-dre-es.errors.noJournal', { reason: (e as Error).message });
    }
    const journal = lease.journal;
    const outbox: BillingOutbox = injected.outbox ?? new DirectoryOutbox(path.resolve(outDir));
    const policy = { waitForAmoPayment: !(def.waitForAmoPayment === false || def.waitForAmoPayment === 'false') };
    const batchSize = Math.floor(num(def.batchSize, 100, 1, 10_000));
    const scheduleMs = num(def.scheduleSeconds, 60, 0.2, 86_400) * 1000;
    const mode: 'R' | 'T' = def.mode === 'T' ? 'T' : 'R';
    node.journal = journal;
    node.ageingDays = Math.floor(num(def.ageingDays, 12, 1, 365));
    billingJournals.set(node.id, { journal, ageingDays: node.ageingDays });
    dreEsNodes.set(node.id, node);
    const today = () => clock.now().toISOString().slice(0, 10);

    const counts = { ready: 0, pending: 0, refused: 0, files: 0, sent: 0 };
    let lastFile = '-';
    const showStatus = (fill: 'green' | 'yellow' | 'red' = 'green') =>
      node.status({ fill, shape: 'dot', text: RED._('roc-dre-es.status.counts', { ...counts, last: lastFile }) });
    showStatus();

    const sendInvoice = (msg: NodeMessage | undefined, billing: Record<string, unknown>) => {
      const m: NodeMessage = msg ? { ...msg } : {};
      delete m.req;
      delete m.res;
      m.roc = { ...((msg?.roc as Record<string, unknown>) ?? {}), billing };
      node.send([m, null, null]);
    };
    const answer = (msg: NodeMessage, status: number, body: Record<string, unknown>) => {
      msg.statusCode = status;
      msg.payload = body;
      node.send([null, null, msg]);
    };
    const view = (v: ReleaseVerdict, key: string, numero: string | undefined): Record<string, unknown> => ({
      state: v.state,
      key,
      ...(numero ? { factureNumero: numero } : {}),
      ...(v.amc ? { amc: v.amc } : {}),
      ...(v.state === 'ready' ? { amcCents: v.amcCents, engagement: v.engagement } : { code: v.code, reason: v.reason }),
    });

    /** The release check for one dossier's invoice, recorded in the journal. */
    const examine = async (key: string, claim?: number): Promise<{ verdict: ReleaseVerdict; numero?: string; changed: boolean }> => {
      const d = await journal.loadDossier(key);
      if (!d) {
        const verdict: ReleaseVerdict = { state: 'pending', code: 'NO_INVOICE', reason: 'dossier inconnu du pont' };
        return { verdict, changed: false };
      }
      const numero = d.facture?.numero;
      let prior = numero ? await journal.getInvoiceBilling(key, numero) : undefined;
      if ((prior?.state === 'rejected' || prior?.state === 'lot-refused') && isCorrected(d, prior)) {
        // corrected under the same number after the AMC's rejection (or its file's refusal): a new
        // engagement (DEL + CLC) replaced the billed one, the invoice is billed again (→ pending → …)
        prior = await journal.reopenInvoice(key, prior.number);
        sendInvoice(undefined, { state: 'pending', key, factureNumero: prior.number, code: 'CORRECTED', reason: prior.reason });
      }
      let verdict = releaseCheck(d, prior, policy, { claimAmcCents: claim, today: today() });
      if (verdict.state === 'ready') {
        // the invoice must fit the layout on its own: a value the file cannot carry is refused now, not at batch time
        try {
          writeDreEs(dreFile(emitter, verdict.amc, 1, today(), [{ finess: emitter, invoice: verdict.invoice }], mode).file);
        } catch (e) {
          verdict = {
            state: 'refused',
            code: 'INCOMPLETE',
            reason: `DRE-ES : ${(e as Error).message}`,
            amc: verdict.amc,
            finess: verdict.finess,
          };
        }
      }
      if (!numero) return { verdict, changed: false };
      if (prior && !['pending', 'refused', 'ready'].includes(prior.state)) return { verdict, numero, changed: false };
      const changed = !prior || prior.state !== verdict.state || (verdict.state !== 'ready' && prior.reason !== verdict.reason);
      if (changed)
        await journal.putInvoiceBilling({
          key,
          number: numero,
          state: verdict.state,
          ...(verdict.state === 'ready'
            ? { amcCents: verdict.amcCents, engagement: verdict.engagement, invoiceDate: verdict.invoiceDate, reason: undefined }
            : { reason: verdict.reason }),
          ...(verdict.amc ? { amc: verdict.amc } : {}),
          ...(verdict.finess ? { finess: verdict.finess } : {}),
        });
      if (changed) {
        if (verdict.state === 'ready') counts.ready++;
        else if (verdict.state === 'pending') counts.pending++;
        else counts.refused++;
      }
      return { verdict, numero, changed };
    };

    /** Sends a recorded file, marks it sent, moves its dossiers. */
    const deliver = async (fileId: number) => {
      const f = await journal.getBillingFile(fileId, { bytes: true });
      if (!f?.bytes) return;
      try {
        await outbox.send({ name: f.name, bytes: f.bytes, amc: f.amc });
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (!code || !REFUSING_TRANSPORT_CODES.includes(code)) throw e; // SMTP down…: stays WRITTEN, sent again later
        // the file cannot go out as it stands (recipient certificate expired or unusable): refused, kept
        const refused = await journal.refuseBillingFile(fileId, { code, label: (e as Error).message }, clock.now());
        counts.refused += f.invoiceCount;
        lastFile = `${f.amc} n°${f.numero} refusé`;
        node.warn(RED._('roc-dre-es.warn.fileRefused', { amc: f.amc, numero: f.numero, reason: (e as Error).message }));
        node.send([
          null,
          { roc: { billingFile: { state: refused.state, amc: f.amc, numero: f.numero, name: f.name, reason: refused.reason } } },
          null,
        ]);
        showStatus('red');
        return;
      }
      const sent = await journal.markBillingFileSent(fileId, clock.now());
      counts.files++;
      lastFile = `${f.amc} n°${f.numero}`;
      node.send([
        null,
        {
          roc: {
            billingFile: {
              state: sent.state,
              amc: f.amc,
              numero: f.numero,
              name: f.name,
              invoiceCount: f.invoiceCount,
              amcCents: f.amcCents,
            },
          },
        },
        null,
      ]);
      const invoices = await journal.listInvoiceBilling({ fileId, states: ['sent'] });
      for (const inv of invoices) {
        const moved = await applyBillingEvent(journal, inv.key, 'DRE_ENVOYEE', clock);
        if (moved.refused) node.warn(RED._('roc-dre-es.warn.dossier', { key: inv.key, reason: moved.refused }));
        counts.sent++;
        sendInvoice(undefined, {
          state: 'sent',
          key: inv.key,
          factureNumero: inv.number,
          amc: f.amc,
          fileNumber: f.numero,
          lotNumber: inv.lotNumber,
          amcCents: inv.amcCents,
          dossier: { cle: inv.key, etat: moved.etat },
        });
      }
    };

    /** One file for up to batchSize ready invoices of one AMC. */
    const writeBatch = async (amc: string, ready: InvoiceBilling[]) => {
      const entries: Array<{
        key: string;
        number: string;
        finess: string;
        invoice: Extract<ReleaseVerdict, { state: 'ready' }>['invoice'];
      }> = [];
      for (const inv of ready) {
        const d = (await journal.loadDossier(inv.key)) as DossierRecord | undefined;
        const v = d ? releaseCheck(d, inv, policy, { today: today() }) : undefined;
        if (!d || !v || v.state !== 'ready' || d.facture?.numero !== inv.number || v.amc !== amc) {
          // the dossier changed since it was released: examined again, stays out of this file
          const again = await examine(inv.key);
          if (again.changed) sendInvoice(undefined, view(again.verdict, inv.key, again.numero));
          continue;
        }
        // The lot's FINESS géographique is the establishment's (the emitter's): the one whose CLC
        // obtained the engagement (roc-establishment), which the AMC matches the invoice against —
        // not the GAP site's FINESS of the dossier key.
        entries.push({ key: inv.key, number: inv.number, finess: emitter, invoice: v.invoice });
      }
      if (!entries.length) return;
      const date = today();
      // lot numbers: one lot per FINESS géographique, in the order dreFile gives them
      const { lots } = dreFile(emitter, amc, 0, date, entries);
      const rec = await journal.writeBillingFile({
        emitter,
        amc,
        invoices: entries.map((e) => ({ key: e.key, number: e.number, finess: e.finess, lotNumber: lots.get(e.finess)! })),
        // runs inside the journal's transaction, with the number it allocates
        build: (numero: number) => {
          const { file } = dreFile(emitter, amc, numero, date, entries, mode);
          const bytes = writeDreEs(file);
          let lineCount = 0;
          let amcCents = 0;
          let totalCents = 0;
          for (const e of entries)
            for (const l of e.invoice.lines) {
              lineCount++;
              amcCents += l.amcCents;
              totalCents += l.amoCents + l.amcCents + l.patientCents;
            }
          return { name: dreFileName(emitter, amc, numero), bytes, invoiceCount: entries.length, lineCount, amcCents, totalCents };
        },
      });
      await deliver(rec.id);
    };

    let chain: Promise<unknown> = Promise.resolve();
    let closed = false;
    /** One flush at a time: resend files left written, re-examine the pending, write the batches. */
    const flush = (onlyAmc?: string): Promise<void> => {
      const run = chain.then(async () => {
        if (closed) return;
        for (const f of await journal.listBillingFiles({ states: ['WRITTEN'] })) if (f.emitter === emitter) await deliver(f.id);
        if (!onlyAmc) {
          for (const inv of await journal.listInvoiceBilling({ states: ['pending'] })) {
            const d = await journal.loadDossier(inv.key);
            if (d?.facture && d.facture.numero !== inv.number) {
              // an amended invoice took another number: this one will never be billed as it stands
              const reason = RED._('roc-dre-es.reason.replaced', { numero: d.facture.numero });
              await journal.putInvoiceBilling({ key: inv.key, number: inv.number, state: 'refused', reason });
              sendInvoice(undefined, { state: 'refused', key: inv.key, factureNumero: inv.number, code: 'REPLACED', reason });
            }
            const r = await examine(inv.key);
            if (r.changed) sendInvoice(undefined, view(r.verdict, inv.key, r.numero));
          }
        }
        const ready = await journal.listInvoiceBilling({ states: ['ready'], ...(onlyAmc ? { amc: onlyAmc } : {}) });
        const byAmc = new Map<string, InvoiceBilling[]>();
        for (const i of ready) if (i.amc) byAmc.set(i.amc, [...(byAmc.get(i.amc) ?? []), i]);
        for (const [amc, list] of byAmc) {
          if (onlyAmc && list.length < batchSize) continue;
          for (let i = 0; i < list.length; i += batchSize) await writeBatch(amc, list.slice(i, i + batchSize));
        }
        counts.ready = (await journal.listInvoiceBilling({ states: ['ready'] })).length;
        showStatus();
      });
      chain = run.catch(() => undefined);
      return run as Promise<void>;
    };
    node.flush = () => flush();

    /**
     * One invoice sent again, unchanged (same number, same engagement), into the next DRE-ES: a
     * rejected one (908R) when the rejection's action lets it (RESEND_ACTIONS), a lot-refused one
     * (its file refused before it left, or its lot refused by a negative ARL) once the operator
     * fixed the cause; never while a correction is under way. The dossier REJETE or FACTURE_AMC →
     * ENGAGE (RENVOI_FACTURE; a file refused before it left never moved it), the invoice → pending,
     * then examined as any other. Runs inside the chain. `number`: the invoice expected (a file's).
     */
    const resendOne = async (key: string, number?: string): Promise<ResendOutcome> => {
      const d = await journal.loadDossier(key);
      const numero = number ?? d?.facture?.numero;
      const inv = numero ? await journal.getInvoiceBilling(key, numero) : undefined;
      if (!d || !inv || (inv.state !== 'rejected' && inv.state !== 'lot-refused'))
        return { status: 404, body: { erreur: RED._('roc-dre-es.resend.notRejected') } };
      const refuse = (reason: string): ResendOutcome => ({ status: 409, body: { erreur: reason, factureNumero: inv.number } });
      const why = resendRefusal(d, inv);
      if (why) return refuse(why);
      if (d.etat !== 'ENGAGE') {
        const moved = await applyBillingEvent(journal, key, 'RENVOI_FACTURE', clock);
        if (moved.refused) return refuse(moved.refused);
      }
      await journal.reopenInvoice(key, inv.number);
      const r = await examine(key);
      const billing = view(r.verdict, key, r.numero);
      sendInvoice(undefined, billing);
      return { status: 200, body: { statut: 'RENVOYEE', cle: key, factureNumero: inv.number, billing } };
    };

    /** POST /roc/billing/rejected/:key/resend: the dossier's rejected or lot-refused invoice (resendOne). */
    node.resendRejected = (key: string) => {
      const run = chain.then(async (): Promise<ResendOutcome> => {
        const o = await resendOne(key);
        const b = o.body.billing as { state?: string; amc?: string } | undefined;
        if (b?.state === 'ready' && b.amc) await maybeFlush(b.amc);
        return o;
      });
      chain = run.catch(() => undefined);
      return run;
    };

    /**
     * POST /roc/billing/files/:amc/:numero/resend: every invoice of a REFUSED file still waiting
     * (lot-refused) sent again (resendOne each), into the next file under a new number; the refused
     * file stays REFUSED in the journal, with its number and bytes.
     */
    node.resendFile = (amc: string, numero: number) => {
      const run = chain.then(async (): Promise<ResendOutcome> => {
        const pad = (a: string) => a.padStart(10, '0');
        const f = (await journal.listBillingFiles({ limit: 10_000 })).find(
          (x) => x.numero === numero && x.emitter === emitter && pad(x.amc) === pad(amc),
        );
        if (!f) return { status: 404, body: { erreur: RED._('roc-dre-es.resend.noFile') } };
        const ref = { amc, numero };
        if (f.state !== 'REFUSED')
          return { status: 409, body: { erreur: RED._('roc-dre-es.resend.fileNotRefused', { state: f.state }), ...ref } };
        const waiting = await journal.listInvoiceBilling({ fileId: f.id, states: ['lot-refused'], limit: 100_000 });
        if (!waiting.length) return { status: 409, body: { erreur: RED._('roc-dre-es.resend.fileEmpty'), ...ref } };
        const renvoyees: Array<Record<string, unknown>> = [];
        const refusees: Array<Record<string, unknown>> = [];
        for (const inv of waiting) {
          const o = await resendOne(inv.key, inv.number);
          if (o.status === 200) renvoyees.push({ cle: inv.key, factureNumero: inv.number, billing: o.body.billing });
          else refusees.push({ cle: inv.key, factureNumero: inv.number, erreur: o.body.erreur });
        }
        if (renvoyees.length) await maybeFlush(amc);
        return {
          status: renvoyees.length ? 200 : 409,
          body: { statut: renvoyees.length ? 'RENVOYE' : 'REFUSE', ...ref, renvoyees, refusees },
        };
      });
      chain = run.catch(() => undefined);
      return run;
    };

    const handle = async (msg: NodeMessage): Promise<void> => {
      const p = msg.payload;
      // 1. AMO payment notice (HL7 or JSON)
      const text = typeof p === 'string' ? p : Buffer.isBuffer(p) ? p.toString('utf8') : undefined;
      const isJsonNotice = p && typeof p === 'object' && !Buffer.isBuffer(p) && 'montantAmo' in (p as object);
      if ((text && /^\s*MSH/.test(text)) || isJsonNotice) {
        const r: AmoReading = isJsonNotice ? readAmoPaymentJson(p) : readAmoPaymentHl7(text!);
        if (!r.ok) {
          node.warn(RED._('roc-dre-es.warn.amoRefused', { reason: r.errors.join(' ; ') }));
          return answer(msg, 400, { erreur: RED._('roc-dre-es.errors.amo'), problemes: r.errors });
        }
        const rec = await journal.recordAmoPayment({
          key: r.value.key,
          number: r.value.factureNumero,
          amoCents: r.value.amoCents,
          paidAt: r.value.paidAt,
        });
        const d = await journal.loadDossier(r.value.key);
        let billing: Record<string, unknown> = { state: rec.state, key: rec.key, factureNumero: rec.number, amoPaidAt: rec.amoPaidAt };
        if (d?.facture?.numero === r.value.factureNumero) {
          const e = await examine(r.value.key);
          billing = { ...view(e.verdict, r.value.key, e.numero), amoPaidAt: rec.amoPaidAt };
          if (e.changed) sendInvoice(msg, billing);
          if (e.verdict.state === 'ready' && e.verdict.amc) await maybeFlush(e.verdict.amc);
        }
        return answer(msg, 200, { statut: 'AMO_PAYE', billing });
      }
      // 2. an invoice to bill
      const k = keyOf(msg);
      if (!k.key) throw new Error(RED._('roc-dre-es.errors.noKey'));
      if (k.badClaim) throw new Error(RED._('roc-dre-es.errors.claim'));
      const r = await examine(k.key, k.claim);
      const billing = view(r.verdict, k.key, r.numero);
      sendInvoice(msg, billing);
      showStatus(r.verdict.state === 'refused' ? 'yellow' : 'green');
      if (r.verdict.state === 'ready' && r.verdict.amc) await maybeFlush(r.verdict.amc);
    };

    /** At the batch size, the AMC's file goes out (scheduled after the current input: never awaited inside the chain). */
    const maybeFlush = async (amc: string) => {
      const n = (await journal.listInvoiceBilling({ states: ['ready'], amc, limit: batchSize })).length;
      if (n >= batchSize) void flush(amc).catch((e: Error) => node.warn(RED._('roc-dre-es.warn.flush', { reason: e.message })));
    };

    node.on('input', (msg, _send, done) => {
      // one thing at a time with the batches: a release never races a file being written
      const run = msg.topic === 'flush' ? flush() : chain.then(() => handle(msg));
      if (msg.topic !== 'flush') chain = run.catch(() => undefined);
      run.then(
        () => done(),
        (e: Error) => {
          node.status({ fill: 'red', shape: 'ring', text: RED._('roc-dre-es.status.error') });
          if (msg.res) answer(msg, 500, { erreur: e.message });
          done(new Error(RED._('roc-dre-es.errors.failed', { reason: e.message })));
        },
      );
    });

    /** After a stop between marking a file sent and moving its dossiers: the dossiers still ENGAGE move now. */
    const catchUp = () =>
      (chain = chain
        .then(async () => {
          for (const inv of await journal.listInvoiceBilling({ states: ['sent', 'acknowledged'], limit: 100_000 })) {
            if (closed) return;
            const d = await journal.loadDossier(inv.key);
            if (d?.etat !== 'ENGAGE' || d.facture?.numero !== inv.number) continue;
            const moved = await applyBillingEvent(journal, inv.key, 'DRE_ENVOYEE', clock);
            if (moved.refused) node.warn(RED._('roc-dre-es.warn.dossier', { key: inv.key, reason: moved.refused }));
          }
        })
        .catch((e: Error) => node.warn(RED._('roc-dre-es.warn.flush', { reason: e.message }))));

    // start: files left written by a stop go out again (same name), dossiers left behind catch up; then on schedule
    void flush().catch((e: Error) => node.warn(RED._('roc-dre-es.warn.flush', { reason: e.message })));
    void catchUp();
    const timer =
      def.schedule === false || def.schedule === 'false'
        ? undefined
        : setInterval(() => {
            flush().catch((e: Error) => node.warn(RED._('roc-dre-es.warn.flush', { reason: e.message })));
          }, scheduleMs);
    timer?.unref();

    node.on('close', (_removed, done) => {
      if (timer) clearInterval(timer);
      billingJournals.delete(node.id);
      dreEsNodes.delete(node.id);
      const l = lease;
      lease = undefined;
      void chain
        .then(() => {
          closed = true;
          return l ? l.release() : undefined;
        })
        .then(
          () => done(),
          () => done(),
        );
    });
  }

  RED.nodes.registerType('roc-dre-es', RocDreEs as unknown as (this: Node, def: NodeDef) => void);

  type Res = { status(n: number): Res; json(b: unknown): void; set(h: string, v: string): Res; send(b: string): void };
  type Req = { query: Record<string, string | undefined>; params?: Record<string, string | undefined> };
  RED.httpAdmin.get('/roc/billing/reconciliation', operationsRead(RED.auth), (req: Req, res: Res) => {
    const n = [...billingJournals.values()][0];
    if (!n) return res.status(503).json({ erreur: RED._('roc-dre-es.errors.noNode') });
    const q = req.query;
    const bad = (x: string | undefined, re: RegExp) => x !== undefined && !re.test(x);
    if (
      bad(q.from, DAY_RE) ||
      bad(q.to, DAY_RE) ||
      bad(q.amc, /^\d{1,10}$/) ||
      bad(q.format, /^(json|csv)$/) ||
      bad(q.delay, /^\d{1,3}$/) ||
      bad(q.at, DAY_RE)
    )
      return res.status(400).json({ erreur: RED._('roc-dre-es.errors.badQuery') });
    const injected = ((RED as unknown as { settings?: Record<string, unknown> }).settings?.rocBilling ?? {}) as RocBillingSettings;
    const at = q.at ?? (injected.clock ?? systemClock).now().toISOString().slice(0, 10);
    n.journal.listInvoiceBilling({ ...(q.from ? { sentFrom: q.from } : {}), ...(q.to ? { sentTo: q.to } : {}), limit: 100_000 }).then(
      (invoices) => {
        const s = reconciliation(invoices, {
          at,
          delayDays: q.delay ? Number(q.delay) : n.ageingDays,
          ...(q.from ? { from: q.from } : {}),
          ...(q.to ? { to: q.to } : {}),
          ...(q.amc ? { amc: q.amc.padStart(10, '0') } : {}),
        });
        if (q.format === 'csv') res.status(200).set('Content-Type', 'text/csv; charset=utf-8').send(summaryToCsv(s));
        else res.status(200).json(s);
      },
      (e: Error) => res.status(400).json({ erreur: e.message }),
    );
  });

  // The rejected invoices (908R) and those of a refused file (lot-refused) waiting for an operator
  // (viewer and above), oldest return first.
  RED.httpAdmin.get('/roc/billing/rejected', operationsRead(RED.auth), (req: Req, res: Res) => {
    const n = [...billingJournals.values()][0];
    if (!n) return res.status(503).json({ erreur: RED._('roc-dre-es.errors.noNode') });
    const q = req.query;
    const bad = (x: string | undefined, re: RegExp) => x !== undefined && !re.test(x);
    if (bad(q.limit, /^\d{1,3}$/) || bad(q.offset, /^\d{1,6}$/) || bad(q.amc, /^\d{1,10}$/))
      return res.status(400).json({ erreur: RED._('roc-dre-es.errors.badQuery') });
    const limit = Math.min(500, Math.max(1, Number(q.limit ?? 50)));
    const offset = Number(q.offset ?? 0);
    const run = async () => {
      const rejected = await n.journal.listInvoiceBilling({
        states: ['rejected', 'lot-refused'],
        ...(q.amc ? { amc: q.amc.padStart(10, '0') } : {}),
        limit: 100_000,
      });
      const items = [];
      for (const inv of rejected) {
        const item = rejectedItem(inv, await n.journal.loadDossier(inv.key));
        if (item) items.push(item);
      }
      const day = (i: { settledAt?: string; acknowledgedAt?: string }) => i.settledAt ?? i.acknowledgedAt ?? '';
      items.sort((a, b) => day(a).localeCompare(day(b)) || a.cle.localeCompare(b.cle));
      return { total: items.length, offset, limit, items: items.slice(offset, offset + limit) };
    };
    run().then(
      (body) => res.status(200).json(body),
      (e: Error) => res.status(500).json({ erreur: e.message }),
    );
  });

  // An operator sends a rejected or lot-refused invoice again, unchanged (operator and admin; audited).
  const resendGuard = operationsAct(RED.auth, 'billing.resend', (req) => ({ venue: req.params?.key, node: req.query?.node }));
  RED.httpAdmin.post('/roc/billing/rejected/:key/resend', ...resendGuard, (req: Req, res: Res) => {
    const key = req.params?.key ?? '';
    if (!KEY_RE.test(key)) return res.status(400).json({ erreur: RED._('roc-dre-es.resend.badKey') });
    const only = req.query.node;
    const node = only ? dreEsNodes.get(only) : [...dreEsNodes.values()][0];
    if (!node?.resendRejected) return res.status(503).json({ erreur: RED._('roc-dre-es.resend.noNode') });
    node.resendRejected(key).then(
      (o) => res.status(o.status).json(o.body),
      (e: Error) => res.status(500).json({ erreur: e.message }),
    );
  });

  // An operator sends again every invoice of a refused file (operator and admin; audited).
  const resendFileGuard = operationsAct(RED.auth, 'billing.resend-file', (req) => ({
    type: 'DREES',
    id: `${req.params?.amc ?? ''}/${req.params?.numero ?? ''}`,
    node: req.query?.node,
  }));
  RED.httpAdmin.post('/roc/billing/files/:amc/:numero/resend', ...resendFileGuard, (req: Req, res: Res) => {
    const amc = req.params?.amc ?? '';
    const numero = req.params?.numero ?? '';
    if (!/^\d{1,10}$/.test(amc) || !/^\d{1,8}$/.test(numero)) return res.status(400).json({ erreur: RED._('roc-dre-es.resend.badFile') });
    const only = req.query.node;
    const node = only ? dreEsNodes.get(only) : [...dreEsNodes.values()][0];
    if (!node?.resendFile) return res.status(503).json({ erreur: RED._('roc-dre-es.resend.noNode') });
    node.resendFile(amc.padStart(10, '0'), Number(numero)).then(
      (o) => res.status(o.status).json(o.body),
      (e: Error) => res.status(500).json({ erreur: e.message }),
    );
  });
};
