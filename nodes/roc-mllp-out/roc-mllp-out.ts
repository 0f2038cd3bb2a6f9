/**
 * Node `roc-mllp-out`: answers the GAP with the ROC results. msg.roc → lib/hl7 buildAnswer()
 * (ADT^Z80 + ZRC) → the journal's outbound queue → MllpAnswerSender (one persistent connection,
 * ACK matched on MSA-2, bounded retries, error queue, per-venue order).
 *
 * Output 1: the message once its answer is acknowledged (msg.roc.gapAnswer). Output 2 (optional):
 * answers that reached the error queue. Answers resumed after a restart come out without the
 * original msg (only msg.roc.gapAnswer). A message answered already (the same inbound message,
 * service and outcome: msg.hl7.journalId / controlId, processed again after a crash) is not answered
 * twice: the existing answer's result comes out (msg.roc.gapAnswer.existing). Admin: GET /roc/outbound/errors, POST
 * /roc/outbound/resend/:id, POST /roc/outbound/cancel/:id.
 */
import type tls from 'node:tls';
import type { NodeAPI, Node, NodeDef, NodeMessage, NodeStatus } from '../common/red';
import { MLLP_OUT_MIGRATIONS, migrate } from '../common/migrate';
import { journalOptionsOf, leaseJournal } from '../common/journal';
import type { Lease } from '../../lib/store';
import { buildAnswer, billingReturnOf, AnswerError, type AnswerService } from '../../lib/hl7/answer';
import { contextFill } from '../../lib/dossier/routing';
import type { ContextRecord } from '../../lib/dossier/engine';
import type { Hl7Charset } from '../../lib/hl7/profile';
import type { SqliteJournal } from '../../lib/store/sqlite';
import { JournalError, type OutboundRecord } from '../../lib/store/journal';
import { MllpAnswerSender, answerKeyOf, controlIdOf, type GapAnswerResult, type SendOutcome } from '../../lib/gap/mllp-sender';
import { operationsAct, operationsRead } from '../../lib/security/access';
import { emitNodeEvent } from '../../lib/events/emitters';
import { auditAction } from '../../lib/security/audit';
import { maskOrderingKey } from '../../lib/dossier/view';
import { unmaskAsked } from '../common/ops';

const CHARSETS: readonly Hl7Charset[] = ['iso-8859-15', 'latin1', 'utf8', 'windows-1252'];
const SERVICES = ['idb', 'sim', 'clc', 'del'];
const STATUS_EVERY_MS = 250;
/** Original messages kept in memory to be sent on once acknowledged (beyond: a bare result). */
const MAX_PENDING_MSGS = 10_000;

interface RocMllpOutNode extends Node {
  sender?: MllpAnswerSender;
  journal?: SqliteJournal;
}

interface Registered {
  node: RocMllpOutNode;
  sender: MllpAnswerSender;
}
const active = new Map<string, Registered>();

function num(v: unknown, def: number, min: number, max: number): number {
  const n = Number(v);
  if (v === undefined || v === '' || !Number.isFinite(n)) return def;
  return Math.min(max, Math.max(min, n));
}

function errorView(nodeId: string, r: OutboundRecord, unmask = false) {
  return {
    id: r.id,
    node: nodeId,
    destination: r.destination,
    orderingKey: unmask ? r.orderingKey : maskOrderingKey(r.orderingKey),
    attempts: r.attempts,
    lastError: r.lastError,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

interface Req {
  params: Record<string, string>;
  query: Record<string, string | undefined>;
}
interface Res {
  status(n: number): Res;
  json(v: unknown): void;
}

function registerAdmin(RED: NodeAPI): void {
  const read = operationsRead(RED.auth);
  const write = (verb: 'resend' | 'cancel') => operationsAct(RED.auth, verb, (req) => ({ id: req.params?.id, node: req.query?.node }));
  // An IPP ordering key (PID-3:<IPP>) is masked unless an admin asks ?unmask=1 (audited).
  RED.httpAdmin.get('/roc/outbound/errors', read, (req: Req, res: Res) => {
    const unmask = unmaskAsked(req, res, { list: 'outbound.errors' });
    if (unmask === undefined) return;
    const only = req.query.node;
    const list = [...active.entries()].filter(([id]) => !only || id === only);
    Promise.all(list.map(([id, r]) => r.sender.errors().then((rows) => rows.map((x) => errorView(id, x, unmask))))).then(
      (all) => {
        if (unmask) auditAction(req as never, 'unmask', { list: 'outbound.errors' }, 'ok', 200);
        res.json(all.flat());
      },
      (e: Error) => res.status(500).json({ error: e.message }),
    );
  });
  const act = (verb: 'resend' | 'cancel') => async (req: Req, res: Res) => {
    const id = Number(req.params.id);
    if (!Number.isInteger(id) || id < 1) {
      res.status(400).json({ error: `identifiant invalide : ${String(req.params.id).slice(0, 20)}` });
      return;
    }
    const only = req.query.node;
    const list = [...active.entries()].filter(([nid]) => !only || nid === only);
    for (const [nid, r] of list) {
      const journal = r.node.journal;
      const rec = journal ? await journal.getOutbound(id).catch(() => undefined) : undefined;
      if (!rec || rec.destination !== r.sender.destination) continue;
      try {
        if (verb === 'resend') await r.sender.resend(id);
        else await r.sender.cancel(id);
        res.json({ id, node: nid, state: verb === 'resend' ? 'QUEUED' : 'CANCELLED' });
      } catch (e) {
        const code = e instanceof JournalError && e.code === 'BAD_STATE' ? 409 : 500;
        res.status(code).json({ error: (e as Error).message });
      }
      return;
    }
    res.status(404).json({ error: `réponse ${id} introuvable dans les files des nœuds roc-mllp-out` });
  };
  RED.httpAdmin.post('/roc/outbound/resend/:id', ...write('resend'), act('resend'));
  RED.httpAdmin.post('/roc/outbound/cancel/:id', ...write('cancel'), act('cancel'));
}

export = function register(RED: NodeAPI): void {
  function RocMllpOut(this: RocMllpOutNode, saved: NodeDef) {
    RED.nodes.createNode(this, saved);
    const def = migrate(saved, MLLP_OUT_MIGRATIONS) as NodeDef;
    const host = String(def.host ?? '').trim();
    const port = Number(def.port);
    const charset = (CHARSETS as string[]).includes(String(def.charset)) ? (def.charset as Hl7Charset) : 'iso-8859-15';
    const service = SERVICES.includes(String(def.service)) ? (def.service as AnswerService) : undefined;
    const twoOutputs = Number(def.outputs ?? 2) >= 2;
    if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
      this.status({ fill: 'red', shape: 'ring', text: RED._('roc-mllp-out.status.badAddress') });
      this.error(RED._('roc-mllp-out.log.badAddress'));
      this.on('input', (_msg, _send, done) => done(new Error(RED._('roc-mllp-out.errors.badAddress'))));
      return;
    }
    let tlsOptions: tls.ConnectionOptions | undefined;
    if (def.usetls) {
      // Node-RED's tls-config node (certificates, CA, servername); without one: the system CAs.
      const tlsNode = RED.nodes.getNode(String(def.tls ?? '')) as { addTLSOptions?: (o: object) => object } | undefined;
      tlsOptions = (tlsNode?.addTLSOptions?.({}) as tls.ConnectionOptions | undefined) ?? {};
    }
    const destination = `mllp:${host}:${port}`;
    const maxAttempts = Math.round(num(def.maxAttempts, 5, 1, 100));
    let lease: Lease<SqliteJournal>;
    try {
      // The shared journal (roc-journal config node, or the implicit one of the file named by the
      // 0.1 setting): its other users may be live senders, so only this destination's answers
      // left SENT are queued again, by sender.start().
      const backoff = { baseMs: num(def.retryBase, 2, 0.01, 3600) * 1000, factor: 2, maxMs: num(def.retryMax, 300, 0.01, 86400) * 1000 };
      lease = leaseJournal(
        RED,
        def,
        journalOptionsOf(def, (e) => this.warn(RED._('roc-mllp-out.log.fault', { text: e.message }))),
        { maxAttempts, backoff },
      );
      this.journal = lease.journal;
      // The retry delay is the journal's: set by the node that opened it (see docs/journal.md).
      if (lease.journal.backoffMs(1) !== Math.round(backoff.baseMs) || lease.journal.backoffMs(64) !== Math.round(backoff.maxMs)) {
        this.warn(
          RED._('roc-mllp-out.log.sharedBackoff', { first: lease.journal.backoffMs(1) / 1000, max: lease.journal.backoffMs(64) / 1000 }),
        );
      }
    } catch (e) {
      this.status({ fill: 'red', shape: 'ring', text: RED._('roc-mllp-out.status.journalUnreachable') });
      this.error(
        RED._('roc-mllp-out.log.journalUnreachable', { file: String(def.journalFile ?? def.dbPath ?? ''), reason: (e as Error).message }),
      );
      this.on('input', (_msg, _send, done) => done(new Error(RED._('roc-mllp-out.errors.journalUnreachable'))));
      return;
    }
    const journal = this.journal;
    const sender = new MllpAnswerSender({
      journal,
      destination,
      host,
      port,
      tls: tlsOptions,
      maxAttempts,
      ackTimeoutMs: num(def.ackTimeout, 10, 0.01, 600) * 1000,
      window: Math.round(num(def.window, 1, 1, 100)),
      reconnect: { minMs: num(def.reconnectMin, 0.2, 0.01, 60) * 1000, maxMs: num(def.reconnectMax, 30, 0.01, 3600) * 1000 },
    });
    this.sender = sender;
    active.set(this.id, { node: this, sender });

    // ---- status (throttled: at most one refresh every STATUS_EVERY_MS)
    let statusTimer: NodeJS.Timeout | undefined;
    let closed = false;
    const refresh = () => {
      if (statusTimer || closed) return;
      statusTimer = setTimeout(() => {
        statusTimer = undefined;
        if (closed) return;
        sender.counts().then(
          (c) => {
            if (closed) return;
            emitNodeEvent('roc-mllp-out', this.id, 'queue', { queue: 'outbound', queueDepth: c.queued + c.sent });
            emitNodeEvent('roc-mllp-out', this.id, 'queue', { queue: 'error', queueDepth: c.error });
            const parts = [RED._(sender.isConnected ? 'roc-mllp-out.status.connected' : 'roc-mllp-out.status.disconnected')];
            if (c.queued + c.sent) parts.push(RED._('roc-mllp-out.status.queued', { n: c.queued + c.sent }));
            if (c.error) parts.push(RED._('roc-mllp-out.status.inError', { n: c.error }));
            const s: NodeStatus = c.error
              ? { fill: 'red', shape: 'dot', text: parts.join(' · ') }
              : sender.isConnected
                ? { fill: 'green', shape: 'dot', text: parts.join(' · ') }
                : { fill: 'yellow', shape: 'ring', text: parts.join(' · ') };
            this.status(s);
          },
          () => undefined,
        );
      }, STATUS_EVERY_MS);
    };
    sender.on('change', refresh);
    sender.on('connected', refresh);
    sender.on('disconnected', refresh);
    sender.on('fault', (e: Error) => this.warn(RED._('roc-mllp-out.log.fault', { text: e.message })));

    // ---- outcomes → outputs
    // Per answer, the messages waiting for its outcome (more than one when a message processed
    // again joined an answer still in the queue).
    const pending = new Map<number, Array<{ msg: NodeMessage; service: string; existing?: boolean }>>();
    let pendingCount = 0;
    sender.on('outcome', (o: SendOutcome) => {
      if (o.kind === 'retry') return;
      const waiting = pending.get(o.record.id);
      pending.delete(o.record.id);
      pendingCount -= waiting?.length ?? 0;
      if (o.kind === 'acked') emitNodeEvent('roc-mllp-out', this.id, 'acknowledged', { code: o.ackCode, attempts: o.record.attempts });
      else emitNodeEvent('roc-mllp-out', this.id, 'failed', { code: 'ERROR_QUEUE', attempts: o.record.attempts });
      if (o.kind === 'error') {
        this.warn(
          RED._('roc-mllp-out.log.errorQueue', { id: o.record.id, controlId: o.controlId, attempts: o.record.attempts, reason: o.reason }),
        );
      }
      for (const p of waiting ?? [undefined]) emitOutcome(o, p);
    });
    const emitOutcome = (o: SendOutcome, p: { msg: NodeMessage; service: string; existing?: boolean } | undefined) => {
      const result: GapAnswerResult = {
        state: o.kind === 'acked' ? 'ACKED' : 'ERROR',
        id: o.record.id,
        destination,
        controlId: o.controlId,
        orderingKey: o.record.orderingKey,
        attempts: o.record.attempts,
      };
      if (p?.service) result.service = p.service;
      if (p?.existing) result.existing = true;
      if (o.kind === 'acked') result.ackCode = o.ackCode;
      else result.error = o.reason;
      const msg: NodeMessage = p?.msg ?? { roc: {} };
      if (!msg.roc || typeof msg.roc !== 'object') msg.roc = {};
      msg.roc.gapAnswer = result;
      if (o.kind === 'acked') this.send(twoOutputs ? [msg, null] : msg);
      else this.send(twoOutputs ? [null, msg] : msg);
    };

    /**
     * A billing return (msg.roc.billing from roc-rsp) carries the dossier key only: the GAP's
     * identifiers (IPP, NDA, venue) come from the dossier's context in the journal, the engagement
     * and the AMC share billed from the invoice's billing record. Nothing is added to msg.
     */
    const billingRoc = async (msg: NodeMessage): Promise<{ roc: unknown; ref?: string }> => {
      const b = billingReturnOf(msg.roc);
      if (!b) return { roc: msg.roc };
      const key = typeof b.key === 'string' ? b.key : '';
      const d = key ? ((await journal.loadDossier(key)) as ContextRecord | undefined) : undefined;
      if (!d) throw new AnswerError(RED._('roc-mllp-out.errors.billingDossier'), 'NO_DOSSIER');
      const inv = await journal.getInvoiceBilling(key, b.factureNumero);
      const file = ((msg.roc as Record<string, unknown>).billing as { file?: { hash?: unknown; amc?: unknown; numero?: unknown } }).file;
      const fileRef = typeof file?.hash === 'string' ? file.hash : `${String(file?.amc ?? '')}/${String(file?.numero ?? '')}`;
      const roc = contextFill({ ...(msg.roc as Record<string, unknown>) }, d.contexte);
      roc.billing = {
        ...b,
        ...(inv?.amcCents !== undefined ? { amcCents: inv.amcCents } : {}),
        ...(inv?.engagement ? { engagement: inv.engagement } : {}),
        ...(inv?.settledAt ? { settledAt: inv.settledAt } : {}),
        ...(b.amc ? {} : d.couverture?.numeroAmc ? { amc: d.couverture.numeroAmc } : {}),
      };
      // one answer per settlement: the same return processed again is not answered twice
      return { roc, ref: `RSP:${fileRef}:${b.factureNumero}` };
    };

    this.on('input', (msg, _send, done) => {
      billingRoc(msg).then(
        (r) => answerWith(msg, r.roc, r.ref, done),
        (e: Error) => {
          const reason = e instanceof AnswerError ? e.message : RED._('roc-mllp-out.errors.internal', { reason: e.message });
          this.status({ fill: 'red', shape: 'ring', text: reason.slice(0, 60) });
          done(new Error(RED._('roc-mllp-out.errors.answer', { reason })));
        },
      );
    });

    const answerWith = (msg: NodeMessage, roc: unknown, billingRef: string | undefined, done: (err?: Error) => void) => {
      let answer;
      try {
        answer = buildAnswer(roc, {
          service: billingRef ? 'rsp' : service,
          charset,
          sendingApplication: String(def.sendingApplication ?? '').trim() || undefined,
          sendingFacility: String(def.sendingFacility ?? '').trim() || undefined,
          receivingApplication: String(def.receivingApplication ?? '').trim() || undefined,
          receivingFacility: String(def.receivingFacility ?? '').trim() || undefined,
        });
      } catch (e) {
        const reason = e instanceof AnswerError ? e.message : RED._('roc-mllp-out.errors.internal', { reason: (e as Error).message });
        this.status({ fill: 'red', shape: 'ring', text: reason.slice(0, 60) });
        done(new Error(RED._('roc-mllp-out.errors.answer', { reason })));
        return;
      }
      const hl7 = (msg.hl7 ?? {}) as Record<string, unknown>;
      const admission = ((msg.roc as Record<string, unknown> | undefined)?.admission ?? {}) as Record<string, unknown>;
      const inboundId = Number(hl7.journalId);
      const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
      const answerKey = billingRef
        ? answerKeyOf({ sender: answer.orderingKey, controlId: billingRef, service: answer.service, outcome: answer.status })
        : answerKeyOf({
            journalId: Number.isInteger(inboundId) && inboundId > 0 ? inboundId : undefined,
            sender: str(hl7.sender) ?? [str(admission.sendingApplication), str(admission.sendingFacility)].filter(Boolean).join('/'),
            controlId: str(hl7.controlId) ?? str(admission.controlId),
            service: answer.service,
            outcome: answer.technical ? `${answer.status}-T` : answer.status,
          });
      const svc = answer.service.toUpperCase();
      sender
        .enqueue(answer.bytes, answer.orderingKey, Number.isInteger(inboundId) && inboundId > 0 ? inboundId : undefined, answerKey)
        .then(
          (rec) => {
            if (rec.existing && rec.state !== 'QUEUED' && rec.state !== 'SENT') {
              // Answered already (processed again after a crash): say how, send nothing new.
              void journal.getOutbound(rec.id, { payload: true }).then(
                (full) => {
                  const result: GapAnswerResult = {
                    state: rec.state,
                    id: rec.id,
                    destination,
                    controlId: full?.payload?.length ? controlIdOf(full.payload) : '',
                    orderingKey: rec.orderingKey,
                    service: svc,
                    attempts: rec.attempts,
                    existing: true,
                  };
                  if (rec.state === 'ERROR' && rec.lastError) result.error = rec.lastError;
                  if (!msg.roc || typeof msg.roc !== 'object') msg.roc = {};
                  msg.roc.gapAnswer = result;
                  if (rec.state === 'ACKED' || !twoOutputs) this.send(twoOutputs ? [msg, null] : msg);
                  else this.send([null, msg]);
                  done();
                },
                (e: Error) => done(new Error(RED._('roc-mllp-out.errors.journalUnreadable', { reason: e.message }))),
              );
              return;
            }
            if (!rec.existing) emitNodeEvent('roc-mllp-out', this.id, 'sent', { service: answer.service, outcome: answer.status });
            if (pendingCount < MAX_PENDING_MSGS) {
              const list = pending.get(rec.id) ?? [];
              list.push({ msg, service: svc, existing: rec.existing === true });
              pending.set(rec.id, list);
              pendingCount++;
            }
            done();
          },
          (e: Error) => {
            this.status({ fill: 'red', shape: 'ring', text: RED._('roc-mllp-out.status.journalWriteFailed') });
            done(new Error(RED._('roc-mllp-out.errors.enqueueFailed', { reason: e.message })));
          },
        );
    };

    this.on('close', (_removed, done) => {
      closed = true;
      if (statusTimer) clearTimeout(statusTimer);
      active.delete(this.id);
      sender.close();
      pending.clear();
      pendingCount = 0;
      lease.release().then(
        () => done(),
        () => done(),
      );
    });

    this.status({ fill: 'yellow', shape: 'ring', text: RED._('roc-mllp-out.status.connecting') });
    sender.start();
    refresh();
  }

  RED.nodes.registerType('roc-mllp-out', RocMllpOut as unknown as (this: Node, def: NodeDef) => void);
  registerAdmin(RED);
};
