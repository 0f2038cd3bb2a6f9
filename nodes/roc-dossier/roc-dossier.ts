/**
 * roc-dossier: one ROC dossier per venue, kept in the journal (roc-journal), from admission to
 * engagement, cancellation, re-check and renewal. Thin adapter over lib/dossier (DossierEngine,
 * plan): it tells what came in, sends what the engine asks on the output of each service, and
 * runs the clock (due re-checks, IDB renewals, requests lost in a crash).
 *
 * Input, told apart by msg.roc:
 * - a service's answer: msg.roc.dossier.requete (set by this node) and msg.roc.<service>;
 * - a GAP message: msg.roc.admission (roc-hl7-admission, roc-hprim-in), with `facture` for DFT^P03;
 * - an invoice (POST /roc/invoice): msg.payload = { cle | finessGeographique + numeroVenue | nda, facture, totaux? }.
 *
 * Outputs: 1 IDB (through the annuaire) · 2 SIM · 3 CLC · 4 DEL · 5 answer to the GAP
 * (roc-mllp-out) · 6 answer to the HTTP caller · 7 done (back to roc-mllp-in).
 * Admin: GET /roc/dossiers, GET /roc/dossiers/:key (patient data masked).
 */
import type { NodeAPI, Node, NodeDef, NodeMessage } from '../common/red';
import { leaseJournal, num } from '../common/journal';
import type { Lease } from '../../lib/store';
import type { SqliteJournal } from '../../lib/store/sqlite';
import {
  DossierEngine,
  DossierError,
  outcomeOf,
  type DossierContexte,
  type DossierStorePort,
  type EngineResult,
} from '../../lib/dossier/engine';
import { OUTPUTS, plan, type Origin } from '../../lib/dossier/routing';
import { checkInvoice, type InvoiceLine, type InvoiceTotals } from '../../lib/dossier/invoice';
import { checkRecheckSettings, systemClock, type Clock, type RecheckSettings } from '../../lib/dossier/schedule';
import { dossierView } from '../../lib/dossier/view';
import type { DossierRecord } from '../../lib/dossier/dossier';
import type { Admission } from '../../lib/model/admission';
import type { Facture, OnlineService } from '../../lib/model/dossier';
import { operationsRead, hasPermission } from '../../lib/security/access';
import { PATIENT_UNMASK } from '../../lib/security/users';
import { emitNodeEvent } from '../../lib/events/emitters';

interface RocDossierNode extends Node {
  engine?: DossierEngine;
  journal?: SqliteJournal;
  /** The message browser's "resend from this stage" (nodes/common/ops.ts). */
  replay?: {
    /** A mapped admission (msg.roc of roc-hl7-admission) handed to the engine, no parse, no GAP message attached. */
    admission(roc: Record<string, unknown>): Promise<void>;
    /** The dossier asks `service` again (same request id when it is awaited, else a new one). */
    service(key: string, service: OnlineService): Promise<{ requestId: string; repeat: boolean }>;
  };
}

const active = new Map<string, RocDossierNode>();
/** Due dossiers taken per scan: a backlog is asked again over several scans, not in one burst. */
const MAX_DUE_PER_SCAN = 50;
const KEY_RE = /^[A-Za-z0-9-]{1,20}\/[VN]\/[A-Za-z0-9._-]{1,40}$/;

/** The dossier operations of the journal (lib/store): the engine's store port. */
function storeOf(j: SqliteJournal): DossierStorePort & { dueDossiers(now: Date, limit: number): Promise<DossierRecord[]> } {
  return j as unknown as DossierStorePort & { dueDossiers(now: Date, limit: number): Promise<DossierRecord[]> };
}

function parseBackoff(text: unknown): number[] | undefined {
  const s = String(text ?? '').trim();
  if (!s) return undefined;
  const parts = s.split(/[\s,;]+/).map(Number);
  return parts.every((n) => Number.isFinite(n) && n > 0) ? parts : [];
}

export = function register(RED: NodeAPI): void {
  function RocDossier(this: RocDossierNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this; // eslint-disable-line @typescript-eslint/no-this-alias -- used in callbacks
    const injected = ((RED as unknown as { settings?: Record<string, unknown> }).settings?.rocDossier ?? {}) as { clock?: Clock };
    const clock: Clock = injected.clock ?? systemClock;

    const recheck: RecheckSettings = {
      backoffMinutes: parseBackoff(def.backoffMinutes) ?? [1, 5, 15, 60],
      thenEveryMinutes: num(def.thenEveryMinutes, 60, 1, 1440),
      daysAfterDischarge: num(def.daysAfterDischarge, 7, 0, 365),
      // dossiers an outage hit together are asked again over a fifth of the delay, not in one burst
      spread: 0.2,
    };
    const configError = checkRecheckSettings(recheck);
    if (configError) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('roc-dossier.status.config') });
      node.error(RED._('roc-dossier.errors.config', { reason: configError }));
      node.on('input', (_m, _s, done) => done(new Error(RED._('roc-dossier.errors.config', { reason: configError }))));
      return;
    }
    let lease: Lease<SqliteJournal> | undefined;
    try {
      lease = leaseJournal(RED, def, {});
    } catch (e) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('roc-dossier.status.noJournal') });
      node.error(RED._('roc-dossier.errors.noJournal', { reason: (e as Error).message }));
      node.on('input', (_m, _s, done) => done(new Error(RED._('roc-dossier.errors.noJournal', { reason: (e as Error).message }))));
      return;
    }
    const journal = lease.journal;
    const store = storeOf(journal);
    const engine = new DossierEngine(store, {
      clock,
      recheck,
      site: { simOnPreAdmission: def.simOnPreAdmission === true || def.simOnPreAdmission === 'true' },
      inFlightTimeoutMs: num(def.inFlightSeconds, 120, 1, 86_400) * 1000,
      renewalLeadHours: num(def.renewalLeadHours, 0, 0, 240),
    });
    node.engine = engine;
    node.journal = journal;
    active.set(node.id, node);
    const tariffs = { forfaitJournalier: num(def.forfaitJournalier, 20, 0, 1000) };

    const counts = { messages: 0, answers: 0, requests: 0, refused: 0 };
    let lastStatusAt = 0;
    const showStatus = (res?: EngineResult) => {
      const now = Date.now();
      if (now - lastStatusAt < 250 && res) return;
      lastStatusAt = now;
      const fill = res?.refused || res?.manual.length ? 'yellow' : 'green';
      node.status({
        fill,
        shape: 'dot',
        text: RED._('roc-dossier.status.counts', { ...counts, etat: res?.dossier.etat ?? '-' }),
      });
    };
    showStatus();

    /** Sends the engine's result: one message per emission, on its output. */
    const emit = (msg: NodeMessage | undefined, res: EngineResult, origin: Origin, resultOf?: OnlineService | 'annuaire') => {
      const rocIn = (msg?.roc ?? {}) as Record<string, unknown>;
      const emissions = plan(res, rocIn, origin, { tariffs, resultOf });
      emitNodeEvent('roc-dossier', node.id, 'state', {
        state: res.dossier.etat,
        code: res.refused ? 'REFUSED' : res.event,
        dossierKey: res.key,
      });
      counts.requests += res.requests.length;
      if (res.refused) {
        counts.refused++;
        node.warn(RED._('roc-dossier.warn.refused', { key: res.key, reason: res.refused }));
      }
      for (const m of res.manual) node.warn(RED._('roc-dossier.warn.manual', { key: res.key, reason: m }));
      for (const e of emissions) {
        const out: (NodeMessage | null)[] = OUTPUTS.map(() => null);
        let m: NodeMessage;
        if (msg && e.keepOrigin) {
          m = msg;
        } else {
          m = { _msgid: undefined };
          if (msg) {
            for (const [k, v] of Object.entries(msg))
              if (k !== 'req' && k !== 'res' && k !== 'roc' && k !== 'payload' && k !== '_msgid') m[k] = v;
            if (m.hl7 && typeof m.hl7 === 'object') {
              const h = { ...(m.hl7 as Record<string, unknown>) };
              delete h.journalId;
              m.hl7 = h;
            }
          }
          delete m._msgid;
        }
        m.roc = JSON.parse(JSON.stringify(e.roc)) as Record<string, unknown>;
        if (e.output === 'http') {
          m.payload = m.roc;
          if (m.statusCode === undefined) m.statusCode = 200;
        }
        out[OUTPUTS.indexOf(e.output)] = m;
        node.send(out);
      }
      showStatus(res);
    };

    const httpError = (msg: NodeMessage, status: number, body: Record<string, unknown>) => {
      const out: (NodeMessage | null)[] = OUTPUTS.map(() => null);
      msg.statusCode = status;
      msg.payload = body;
      out[OUTPUTS.indexOf('http')] = msg;
      node.send(out);
    };

    const handle = async (msg: NodeMessage): Promise<void> => {
      const roc = (msg.roc && typeof msg.roc === 'object' ? msg.roc : {}) as Record<string, unknown>;
      const hl7 = (msg.hl7 ?? {}) as Record<string, unknown>;
      const origin: Origin = { gap: hl7.journalId !== undefined, http: msg.res !== undefined };
      const dossier = roc.dossier as { cle?: unknown; requete?: { service?: unknown; requestId?: unknown } } | undefined;
      // 1. a service's answer
      if (dossier?.requete && typeof dossier.cle === 'string') {
        const asked = { service: String(dossier.requete.service) as OnlineService, requestId: String(dossier.requete.requestId) };
        const outcome = outcomeOf(roc, asked, clock.now());
        if (!outcome) throw new DossierError(RED._('roc-dossier.errors.noResult', { service: asked.service.toUpperCase() }), 'BAD_RESULT');
        counts.answers++;
        const r = roc[asked.service] as { status?: unknown } | undefined;
        const resultOf = r && (r.status === 'OK' || r.status === 'KO') ? asked.service : 'annuaire';
        emit(msg, await engine.onResult(dossier.cle, outcome), origin, resultOf);
        return;
      }
      // 2. a GAP message
      const admission = roc.admission as (Admission & { facture?: Facture & { totaux?: InvoiceTotals } }) | undefined;
      if (admission && typeof admission === 'object') {
        // An AMO payment notice (BAR^P05, docs/amo-payments.md) is not a dossier event: it belongs to
        // roc-dre-es. Passed on untouched by the "done" output, msg.roc.amoPayment set.
        if ((admission.meaning as string) === 'AMO_PAYMENT' || (admission as { amoPayment?: unknown }).amoPayment !== undefined) {
          const out: (NodeMessage | null)[] = OUTPUTS.map(() => null);
          if (roc.amoPayment === undefined) msg.roc = { ...roc, amoPayment: (admission as { amoPayment?: unknown }).amoPayment };
          out[OUTPUTS.indexOf('done')] = msg;
          node.send(out);
          return;
        }
        counts.messages++;
        const ctx: DossierContexte = { admission };
        for (const k of ['amc', 'beneficiaire', 'assureAmo', 'venue'] as const)
          if (roc[k] && typeof roc[k] === 'object') (ctx as Record<string, unknown>)[k] = roc[k];
        const facture = (roc.facture as Facture | undefined) ?? admission.facture;
        const isInvoice = (admission.meaning as string) === 'INVOICE' || (admission as { messageType?: string }).messageType === 'DFT';
        try {
          emit(msg, await engine.onMessage(admission, ctx, isInvoice ? stripTotals(facture) : undefined), origin);
        } catch (e) {
          if (e instanceof DossierError && (e.code === 'UNKNOWN_VENUE' || e.code === 'NO_KEY')) {
            // Told by the intake's ACK already (AE); the GAP message is done, never held.
            node.warn(RED._('roc-dossier.warn.refusedMessage', { reason: e.message }));
            node.status({ fill: 'yellow', shape: 'ring', text: RED._('roc-dossier.status.unknownVenue') });
            const out: (NodeMessage | null)[] = OUTPUTS.map(() => null);
            msg.roc = { ...roc, dossier: { refus: e.message } };
            out[OUTPUTS.indexOf(origin.http ? 'http' : 'done')] = msg;
            node.send(out);
            return;
          }
          throw e;
        }
        return;
      }
      // 3. an invoice (POST /roc/invoice)
      const body = msg.payload as Record<string, unknown> | undefined;
      if (body && typeof body === 'object' && !Array.isArray(body) && body.facture && typeof body.facture === 'object') {
        const key = invoiceKey(body);
        if (!key) return httpError(msg, 400, { erreur: RED._('roc-dossier.errors.noKey') });
        const f = body.facture as Facture & { lignes?: unknown };
        const lignes = Array.isArray(f.lignes) ? (f.lignes as InvoiceLine[]) : [];
        const issues = checkInvoice(
          {
            numero: typeof f.numero === 'string' ? f.numero : undefined,
            lignes: lignes.map((l) => ({ ...l, montant: typeof l.montant === 'number' ? l.montant : round2(l.quantite * l.prixUnitaire) })),
          },
          body.totaux as InvoiceTotals | undefined,
        );
        if (issues.length)
          return httpError(msg, 400, { erreur: RED._('roc-dossier.errors.invoice'), problemes: issues.map((i) => i.message) });
        counts.messages++;
        try {
          emit(
            msg,
            await engine.onInvoice(key, {
              numero: f.numero,
              ...(f.dateFacture ? { dateFacture: f.dateFacture } : {}),
              lignes: lignes.map(stripMontant),
            }),
            origin,
          );
        } catch (e) {
          if (e instanceof DossierError && e.code === 'UNKNOWN_VENUE') return httpError(msg, 404, { erreur: e.message });
          throw e;
        }
        return;
      }
      throw new DossierError(RED._('roc-dossier.errors.unknownInput'), 'BAD_RESULT');
    };

    node.replay = {
      admission: (roc) => handle({ roc, hl7: {} } as unknown as NodeMessage),
      service: async (key, service) => {
        const res = await engine.askAgain(key, service);
        counts.messages++;
        emit(undefined, res, { gap: false, http: false });
        const r = res.requests[0];
        return { requestId: r.requestId, repeat: r.repeat === true };
      },
    };

    node.on('input', (msg, _send, done) => {
      handle(msg).then(
        () => done(),
        (e: Error) => {
          node.status({ fill: 'red', shape: 'ring', text: RED._('roc-dossier.status.error') });
          const err = new Error(RED._('roc-dossier.errors.failed', { reason: e.message }));
          (err as Error & { code?: string }).code = e instanceof DossierError ? `ROC_DOSSIER_${e.code}` : 'ROC_DOSSIER_STORE';
          done(err);
        },
      );
    });

    // The clock: due re-checks, IDB renewals, requests lost in flight.
    const scanMs = num(def.scanSeconds, 30, 0.2, 3600) * 1000;
    let scanning = false;
    let reportedDue = -1;
    let closed = false;
    const scan = async () => {
      if (scanning || closed) return;
      scanning = true;
      try {
        const due = await store.dueDossiers(clock.now(), MAX_DUE_PER_SCAN);
        if (due.length !== reportedDue)
          emitNodeEvent('roc-dossier', node.id, 'queue', { queue: 'recheck', queueDepth: (reportedDue = due.length) });
        for (const d of due) {
          if (closed) break;
          try {
            emit(undefined, await engine.onDue(d.key), { gap: false, http: false });
          } catch (e) {
            node.warn(RED._('roc-dossier.warn.due', { key: d.key, reason: (e as Error).message }));
          }
        }
      } catch (e) {
        node.warn(RED._('roc-dossier.warn.scan', { reason: (e as Error).message }));
      } finally {
        scanning = false;
      }
    };
    const timer = def.clock === false || def.clock === 'false' ? undefined : setInterval(() => void scan(), scanMs);
    timer?.unref();
    (node as unknown as { scan: () => Promise<void> }).scan = scan;

    node.on('close', (_removed, done) => {
      closed = true;
      if (timer) clearInterval(timer);
      active.delete(node.id);
      const l = lease;
      lease = undefined;
      void (l ? l.release() : Promise.resolve()).then(
        () => done(),
        () => done(),
      );
    });
  }

  RED.nodes.registerType('roc-dossier', RocDossier as unknown as (this: Node, def: NodeDef) => void);

  type Res = { status(n: number): Res; json(b: unknown): void };
  type Req = {
    params: Record<string, string>;
    query: Record<string, string | undefined>;
    user?: { permissions?: string | string[] } | null;
    authInfo?: { scope?: string | string[] };
  };
  const journalOf = (): SqliteJournal | undefined => [...active.values()].find((n) => n.journal)?.journal;

  RED.httpAdmin.get('/roc/dossiers', operationsRead(RED.auth), (req: Req, res: Res) => {
    const j = journalOf() as unknown as { listDossiers?: (q: Record<string, unknown>) => Promise<unknown> } | undefined;
    if (!j?.listDossiers) return res.status(503).json({ erreur: RED._('roc-dossier.errors.noNode') });
    const q = req.query;
    const etat = q.etat ? String(q.etat).split(',').filter(Boolean) : undefined;
    const bad = (x: string | undefined, re: RegExp) => x !== undefined && !re.test(x);
    if (bad(q.from, /^\d{4}-\d{2}-\d{2}$/) || bad(q.to, /^\d{4}-\d{2}-\d{2}$/) || bad(q.amc, /^\d{1,10}$/) || bad(q.limit, /^\d{1,3}$/)) {
      return res.status(400).json({ erreur: RED._('roc-dossier.errors.badQuery') });
    }
    j.listDossiers({
      ...(etat ? { etat } : {}),
      ...(q.amc ? { numeroAmc: q.amc.padStart(10, '0') } : {}),
      ...(q.from ? { from: q.from } : {}),
      ...(q.to ? { to: q.to } : {}),
      ...(q.venue ? { venue: String(q.venue).slice(0, 40) } : {}),
      ...(q.flagged === 'true' ? { flagged: true } : {}),
      ...(q.limit ? { limit: Number(q.limit) } : {}),
      ...(q.after ? { after: String(q.after).slice(0, 200) } : {}),
    }).then(
      (page) => res.json(page),
      (e: Error) => res.status(400).json({ erreur: e.message }),
    );
  });

  RED.httpAdmin.get('/roc/dossiers/:key', operationsRead(RED.auth), (req: Req, res: Res) => {
    const key = decodeURIComponent(String(req.params.key ?? ''));
    if (!KEY_RE.test(key)) return res.status(400).json({ erreur: RED._('roc-dossier.errors.badKey') });
    const j = journalOf();
    if (!j) return res.status(503).json({ erreur: RED._('roc-dossier.errors.noNode') });
    const unmask = req.query.unmask === '1' && (!req.user || hasPermission(req.authInfo?.scope ?? req.user.permissions, PATIENT_UNMASK));
    storeOf(j)
      .loadDossier(key)
      .then(
        (d) => (d ? res.json(dossierView(d, { unmask })) : res.status(404).json({ erreur: RED._('roc-dossier.errors.notFound') })),
        (e: Error) => res.status(500).json({ erreur: e.message }),
      );
  });
};

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function stripMontant(l: object): Facture['lignes'][number] {
  const out = { ...(l as Record<string, unknown>) };
  delete out.montant;
  return out as unknown as Facture['lignes'][number];
}

/** The invoice as the dossier keeps it (no totals, no per-line amount: CLC computes). */
function stripTotals(f: (Facture & { totaux?: unknown }) | undefined): Facture | undefined {
  if (!f) return undefined;
  const out: Facture = { numero: f.numero, lignes: f.lignes.map(stripMontant) };
  if (f.dateFacture) out.dateFacture = f.dateFacture;
  return out;
}

/** POST /roc/invoice: the dossier key from `cle`, or FINESS géographique + venue number (else NDA). */
function invoiceKey(b: Record<string, unknown>): string | undefined {
  const s = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
  const cle = s(b.cle);
  if (cle) return KEY_RE.test(cle) ? cle : undefined;
  const finess = s(b.finessGeographique) ?? '-';
  const venue = s(b.numeroVenue);
  const nda = s(b.numeroDossier) ?? s(b.nda);
  const k = venue ? `${finess}/V/${venue}` : nda ? `${finess}/N/${nda}` : undefined;
  return k && KEY_RE.test(k) ? k : undefined;
}
