/**
 * roc-rsp: reads the AMC's return files (RSP: 578R paid, 908R rejected [profile]) and the ARLs the
 * AMC sends for our DRE-ES files, from a drop directory it polls or from `msg.payload` (a Buffer:
 * the SMTP receiver the runtime wires). Thin adapter over lib/billing (readRsp, planReturns,
 * readArl, writeArl) and the journal (files seen by hash, invoice settlements), with the dossiers
 * moved through lib/dossier (RSP_PAYE / RSP_PAYE_PARTIEL / RSP_REJET).
 *
 * A file is never processed twice (its SHA-256 in the journal, recorded with its settlements in one
 * transaction). A file whose counts or totals do not add up, truncated or out of format is
 * quarantined: kept raw (journal + quarantine/ directory), answered with a negative ARL, no
 * invoice touched. A line for an unknown invoice, another FINESS, an amount that is not the one
 * billed, an invoice already settled… is refused with its reason; the other lines apply.
 *
 * Outputs: 1 one message per invoice settled (msg.roc.billing: state paid | partially-paid |
 * rejected, with the reason label from lib/billing/reasons.json) · 2 refused or quarantined
 * (msg.roc.billing: state refused | quarantined | duplicate, code, reason) · 3 ARL received for a
 * DRE-ES file (msg.roc.billingFile).
 */
import { createHash } from 'crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'fs';
import * as path from 'path';
import type { NodeAPI, Node, NodeDef, NodeMessage } from '../common/red';
import { leaseJournal, num } from '../common/journal';
import type { Lease } from '../../lib/store';
import type { SqliteJournal } from '../../lib/store/sqlite';
import { readRsp } from '../../lib/billing/rsp';
import { readArl, writeArl } from '../../lib/billing/arl';
import { peekRspHeader, planReturns, rspAck } from '../../lib/billing/returns';
import { DirectoryOutbox, type BillingInbox, type BillingOutbox } from '../../lib/billing/outbox';
import { applyBillingEvent, type BillingEvent } from '../../lib/billing/dossier-events';
import { systemClock, type Clock } from '../../lib/dossier/schedule';
import { billingJournals } from '../common/billing';

interface RocRspNode extends Node {
  process?: (bytes: Buffer, name?: string) => Promise<void>;
  poll?: () => Promise<void>;
}

const FINESS_RE = /^(\d{9}|2[AB]\d{7})$/;
const EVENT: Record<string, BillingEvent> = { paid: 'RSP_PAYE', 'partially-paid': 'RSP_PAYE_PARTIEL', rejected: 'RSP_REJET' };

export = function register(RED: NodeAPI): void {
  function RocRsp(this: RocRspNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this; // eslint-disable-line @typescript-eslint/no-this-alias -- used in callbacks
    const injected = ((RED as unknown as { settings?: Record<string, unknown> }).settings?.rocBilling ?? {}) as {
      outbox?: BillingOutbox;
      clock?: Clock;
      inbox?: BillingInbox;
    };
    const clock: Clock = injected.clock ?? systemClock;
    const emitter = String(def.emitterFiness ?? '').trim();
    const finessList = String(def.finess ?? '')
      .split(/[\s,;]+/)
      .filter(Boolean);
    const inDir = String(def.inputDir ?? '').trim();
    const outDir = String(def.outboxDir ?? '').trim();
    const fail = (key: string, subs: Record<string, unknown> = {}) => {
      node.status({ fill: 'red', shape: 'ring', text: RED._('roc-rsp.status.config') });
      node.error(RED._(key, subs));
      node.on('input', (_m, _s, done) => done(new Error(RED._(key, subs))));
    };
    if (!FINESS_RE.test(emitter) || finessList.some((f) => !FINESS_RE.test(f))) return fail('roc-rsp.errors.finess');
    if (!injected.outbox && !outDir) return fail('roc-rsp.errors.outbox');
    let lease: Lease<SqliteJournal> | undefined;
    try {
      lease = leaseJournal(RED, def, {});
    } catch (e) {
      return fail('roc-rsp.errors.noJournal', { reason: (e as Error).message });
    }
    const journal = lease.journal;
    billingJournals.set(node.id, { journal, ageingDays: 12 });
    const outbox: BillingOutbox = injected.outbox ?? new DirectoryOutbox(path.resolve(outDir));
    const counts = { files: 0, paid: 0, rejected: 0, refused: 0, quarantined: 0 };
    const showStatus = (fill: 'green' | 'yellow' = 'green') =>
      node.status({ fill, shape: 'dot', text: RED._('roc-rsp.status.counts', counts) });
    showStatus();
    const today = () => clock.now().toISOString().slice(0, 10);

    const problem = (billing: Record<string, unknown>) => {
      node.send([null, { roc: { billing } }, null]);
    };

    const sendArl = async (amc: string, arlNumber: number, ack: ReturnType<typeof rspAck>) => {
      const bytes = writeArl({ emitter, recipient: amc, arlNumber, date: today(), acks: [ack] });
      const name = `ARL_${emitter}_${amc}_RSP${String(ack.fileNumber).padStart(8, '0')}_${String(arlNumber).padStart(6, '0')}.arl`;
      await outbox.send({ name, bytes, amc });
    };

    /** One received file (RSP or ARL). Returns where the raw file belongs: processed or quarantine. */
    const processFile = async (bytes: Buffer, name?: string): Promise<'processed' | 'quarantine'> => {
      const hash = createHash('sha256').update(bytes).digest('hex');
      const fileInfo = { hash, ...(name ? { name } : {}) };
      const seen = await journal.getRspFile(hash);
      if (seen) {
        counts.refused++;
        problem({
          state: 'duplicate',
          code: 'duplicate',
          reason: RED._('roc-rsp.reason.duplicate', { at: seen.receivedAt }),
          file: fileInfo,
        });
        node.warn(RED._('roc-rsp.warn.duplicate', { hash: hash.slice(0, 12) }));
        return 'quarantine';
      }
      counts.files++;
      // an ARL from the AMC for one of our DRE-ES files
      if (bytes.subarray(0, 6).toString('latin1') === '000ARL') {
        const arl = readArl(bytes);
        if (!arl.ok) {
          await journal.recordRspFile({ hash, state: 'QUARANTINED', reason: arl.reason, bytes });
          counts.quarantined++;
          problem({ state: 'quarantined', code: arl.code, reason: arl.reason, file: fileInfo });
          return 'quarantine';
        }
        const rec = await journal.recordRspFile({
          hash,
          amc: arl.value.emitter.trim(),
          numero: arl.value.arlNumber,
          state: 'PROCESSED',
          bytes,
        });
        if (rec.duplicate) return 'quarantine';
        const byFile = new Map<number, typeof arl.value.acks>();
        for (const a of arl.value.acks.filter((x) => x.fileKind === 'DREES'))
          byFile.set(a.fileNumber, [...(byFile.get(a.fileNumber) ?? []), a]);
        for (const [numero, acks] of byFile) {
          try {
            const f = await journal.acknowledgeBillingFile(
              { emitter: arl.value.recipient.trim(), amc: arl.value.emitter.trim(), numero },
              acks,
              clock.now(),
            );
            node.send([
              null,
              null,
              {
                roc: {
                  billingFile: { state: f.state, amc: f.amc, numero: f.numero, name: f.name, ...(f.reason ? { reason: f.reason } : {}) },
                },
              },
            ]);
          } catch (e) {
            counts.refused++;
            problem({ state: 'refused', code: 'unknown-file', reason: (e as Error).message, file: fileInfo });
          }
        }
        return 'processed';
      }
      const read = readRsp(bytes);
      if (!read.ok) {
        const head = peekRspHeader(bytes);
        const rec = await journal.recordRspFile({ hash, ...head, state: 'QUARANTINED', reason: read.reason, bytes });
        counts.quarantined++;
        problem({ state: 'quarantined', code: read.code, reason: read.reason, file: { ...fileInfo, ...head } });
        node.warn(RED._('roc-rsp.warn.quarantined', { code: read.code, reason: read.reason }));
        if (head.amc)
          await sendArl(head.amc, rec.record.id, rspAck(head.numero ?? 0, { code: read.code }, { invoiceCount: 0, amountCents: 0 }));
        showStatus('yellow');
        return 'quarantine';
      }
      const rsp = read.value;
      const invoices = await journal.listInvoiceBilling({ amc: rsp.amc, limit: 100_000 });
      const plan = planReturns(rsp, invoices, { at: rsp.date, ...(finessList.length ? { finess: finessList } : {}) });
      const rec = await journal.recordRspFile({
        hash,
        amc: rsp.amc,
        numero: rsp.numero,
        state: 'PROCESSED',
        bytes,
        settlements: plan.settlements,
      });
      if (rec.duplicate) return 'quarantine';
      await sendArl(
        rsp.amc,
        rec.record.id,
        rspAck(rsp.numero, undefined, { invoiceCount: rsp.totals.invoiceCount, amountCents: rsp.totals.paidCents }),
      );
      const file = { ...fileInfo, amc: rsp.amc, numero: rsp.numero };
      for (const l of plan.lines) {
        if (l.outcome === 'refused') {
          counts.refused++;
          problem({
            state: 'refused',
            code: l.code,
            reason: l.reason,
            factureNumero: l.invoiceNumber,
            amc: l.amc,
            finess: l.finess,
            line: l.line,
            file,
          });
          continue;
        }
        const moved = await applyBillingEvent(journal, l.key, EVENT[l.outcome], clock);
        if (moved.refused) node.warn(RED._('roc-rsp.warn.dossier', { key: l.key, reason: moved.refused }));
        if (l.outcome === 'rejected') counts.rejected++;
        else counts.paid++;
        node.send([
          {
            roc: {
              billing: {
                state: l.outcome,
                key: l.key,
                factureNumero: l.invoiceNumber,
                amc: l.amc,
                finess: l.finess,
                paidCents: l.paidCents,
                differenceCents: l.differenceCents,
                ...(l.paymentReference ? { paymentReference: l.paymentReference } : {}),
                ...(l.reason ? { reason: l.reason } : {}),
                ...(l.notes.length ? { notes: l.notes } : {}),
                file,
                dossier: { cle: l.key, etat: moved.etat, ...(moved.manual.length ? { manuel: moved.manual } : {}) },
              },
            },
          },
          null,
          null,
        ]);
      }
      showStatus(plan.lines.some((l) => l.outcome === 'refused') ? 'yellow' : 'green');
      return 'processed';
    };

    let chain: Promise<unknown> = Promise.resolve();
    let closed = false;
    const serial = <T>(fn: () => Promise<T>): Promise<T> => {
      const run = chain.then(fn);
      chain = run.catch(() => undefined);
      return run;
    };
    node.process = (bytes, name) => serial(() => processFile(bytes, name)).then(() => undefined);

    /** The drop directory: each regular file (not hidden) once, then moved to processed/ or quarantine/. */
    const poll = () =>
      serial(async () => {
        if (closed || !inDir) return;
        if (!existsSync(inDir)) mkdirSync(inDir, { recursive: true, mode: 0o700 });
        for (const n of readdirSync(inDir).sort()) {
          if (closed) break;
          if (n.startsWith('.')) continue;
          const p = path.join(inDir, n);
          if (!statSync(p).isFile()) continue;
          const bytes = readFileSync(p);
          let where: 'processed' | 'quarantine';
          try {
            where = await processFile(bytes, n);
          } catch (e) {
            node.warn(RED._('roc-rsp.warn.failed', { reason: (e as Error).message }));
            continue; // stays in place, taken again at the next poll
          }
          const dest = path.join(inDir, where);
          mkdirSync(dest, { recursive: true, mode: 0o700 });
          const target = existsSync(path.join(dest, n)) ? path.join(dest, `${n}.${Date.now()}`) : path.join(dest, n);
          renameSync(p, target);
        }
      });
    node.poll = poll;
    const unsubscribe = injected.inbox?.subscribe((f) => serial(() => processFile(f.bytes, f.name)).then(() => undefined));

    node.on('input', (msg: NodeMessage, _send, done) => {
      const p = msg.payload;
      const bytes = Buffer.isBuffer(p) ? p : typeof p === 'string' ? Buffer.from(p, 'latin1') : undefined;
      if (!bytes) return done(new Error(RED._('roc-rsp.errors.payload')));
      const name = typeof msg.filename === 'string' ? path.basename(msg.filename) : undefined;
      serial(() => processFile(bytes, name)).then(
        () => done(),
        (e: Error) => {
          node.status({ fill: 'red', shape: 'ring', text: RED._('roc-rsp.status.error') });
          done(new Error(RED._('roc-rsp.errors.failed', { reason: e.message })));
        },
      );
    });

    // start: invoices settled by a file whose dossier moves a stop interrupted move now
    void serial(async () => {
      const settled = await journal.listInvoiceBilling({ states: ['paid', 'partially-paid', 'rejected'], limit: 100_000 });
      for (const inv of settled) {
        if (closed) return;
        const d = await journal.loadDossier(inv.key);
        if (d?.etat !== 'FACTURE_AMC' || d.facture?.numero !== inv.number) continue;
        const moved = await applyBillingEvent(journal, inv.key, EVENT[inv.state], clock);
        if (moved.refused) node.warn(RED._('roc-rsp.warn.dossier', { key: inv.key, reason: moved.refused }));
      }
    }).catch((e: Error) => node.warn(RED._('roc-rsp.warn.failed', { reason: e.message })));

    const pollMs = num(def.pollSeconds, 30, 0.2, 86_400) * 1000;
    const timer = inDir
      ? setInterval(() => {
          poll().catch((e: Error) => node.warn(RED._('roc-rsp.warn.failed', { reason: e.message })));
        }, pollMs)
      : undefined;
    timer?.unref();

    node.on('close', (_removed, done) => {
      if (timer) clearInterval(timer);
      unsubscribe?.();
      billingJournals.delete(node.id);
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

  RED.nodes.registerType('roc-rsp', RocRsp as unknown as (this: Node, def: NodeDef) => void);
};
