/**
 * roc-hl7-admission: a PAM-FR message (msg.payload, ER7 text, usually from roc-mllp-in) →
 * msg.roc.admission, the dossier parts (amc, beneficiaire, assureAmo, venue) and msg.roc.action
 * (the event's ROC meaning), routed to one of six outputs: check rights (IDB), cancel (DEL),
 * compute (CLC, and the GAP's invoices: DFT^P03, meaning INVOICE, with msg.roc.facture), update
 * (and the GAP's AMO payment notices: BAR^P05, meaning AMO_PAYMENT, with msg.roc.amoPayment; see
 * docs/amo-payments.md), identity, ignored. The site's coverage mapping (where its GAP puts the convention type and the
 * CSR) is a node property; empty = the annuaire decides.
 */
import type { NodeAPI, Node, NodeDef, NodeMessage } from '../common/red';
import { parseEr7, Er7Error } from '../../lib/hl7/er7';
import { admissionToDossier, parseAdmission, type CoverageMapping } from '../../lib/hl7/pamfr';
import { charsetFromMsh18 } from '../../lib/hl7/charset';
import type { RocMeaning } from '../../lib/hl7/profile';
import type { Facture } from '../../lib/model/dossier';
import type { AdmissionInvoice } from '../../lib/model/invoice';

/**
 * Output index per ROC meaning. An invoice (DFT^P03) leaves by the CLC output ("calcul"); an AMO
 * payment notice (BAR^P05) by the update output (3), with msg.roc.action = 'AMO_PAYMENT'.
 */
const OUTPUT_OF: Readonly<Record<RocMeaning, number>> = {
  IDB: 0,
  DEL: 1,
  CLC: 2,
  UPDATE: 3,
  IDENTITY: 4,
  IGNORE: 5,
  INVOICE: 2,
  AMO_PAYMENT: 3,
};

/** The GAP's invoice as the CLC input wants it (msg.roc.facture): the lines without their amount. */
function factureOf(inv: AdmissionInvoice): Facture {
  const f: Facture = {
    numero: inv.numero,
    lignes: inv.lignes.map((l) => {
      const { montant: _montant, ...ligne } = l;
      return ligne;
    }),
  };
  if (inv.dateFacture) f.dateFacture = inv.dateFacture;
  return f;
}
const FIELD_PATH = /^[A-Z][A-Z0-9]{2}(\[\d+\])?[-.]\d+(\[\d+\])?(\.\d+){0,2}$/;

export = function register(RED: NodeAPI): void {
  function RocHl7AdmissionNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this; // eslint-disable-line @typescript-eslint/no-this-alias -- used in callbacks
    const mapping: CoverageMapping = {};
    const configErrors: string[] = [];
    for (const k of ['typeConvention', 'csr'] as const) {
      const v = String(def[k] ?? '').trim();
      if (!v) continue;
      if (FIELD_PATH.test(v)) mapping[k] = v;
      else configErrors.push(RED._('roc-hl7-admission.errors.fieldPath', { field: k }));
    }
    if (configErrors.length) node.status({ fill: 'red', shape: 'ring', text: configErrors[0].slice(0, 60) });
    const counts: Record<RocMeaning, number> = { IDB: 0, DEL: 0, CLC: 0, UPDATE: 0, IDENTITY: 0, IGNORE: 0, INVOICE: 0, AMO_PAYMENT: 0 };
    let lastStatusAt = 0;

    node.on('input', (msg: NodeMessage, send, done) => {
      if (configErrors.length) {
        done(new Error(RED._('roc-hl7-admission.errors.config', { errors: configErrors.join(' ; ') })));
        return;
      }
      const text = msg.payload;
      if (typeof text !== 'string' || !text) {
        node.status({ fill: 'red', shape: 'ring', text: RED._('roc-hl7-admission.status.noPayload') });
        done(new Error(RED._('roc-hl7-admission.errors.noPayload')));
        return;
      }
      const hl7 = (msg.hl7 ?? {}) as Record<string, unknown>;
      let result;
      try {
        const message = parseEr7(text);
        const charset = typeof hl7.charset === 'string' ? (hl7.charset as never) : charsetFromMsh18(message.get('MSH-18'));
        result = parseAdmission(message, { coverageMapping: mapping, charset });
      } catch (e) {
        const where =
          e instanceof Er7Error && e.location ? ` (${e.location.segment ?? ''}${e.location.field ? '-' + e.location.field : ''})` : '';
        node.status({ fill: 'red', shape: 'ring', text: RED._('roc-hl7-admission.status.unreadable', { where }) });
        done(
          new Error(
            RED._('roc-hl7-admission.errors.unreadable', {
              where,
              reason: e instanceof Er7Error ? e.message : RED._('roc-hl7-admission.errors.internal'),
            }),
          ),
        );
        return;
      }
      const a = result.admission;
      if (!a || result.errors.length) {
        const first = result.errors[0];
        const where = first?.location ? ` ${first.location.segment}-${first.location.field ?? ''}` : '';
        msg.roc = { ...(msg.roc ?? {}), action: 'IGNORE', errors: result.errors };
        done(new Error(RED._('roc-hl7-admission.errors.refused', { ref: `${first?.code ?? '207'}${where}` })));
        return;
      }
      const roc: Record<string, unknown> = { ...(msg.roc ?? {}) };
      delete roc.failed;
      Object.assign(roc, admissionToDossier(a));
      roc.admission = a;
      if (a.facture) roc.facture = factureOf(a.facture);
      if (a.amoPayment) roc.amoPayment = { ...a.amoPayment };
      roc.action = result.meaning;
      msg.roc = roc;
      counts[result.meaning]++;
      const now = Date.now();
      if (now - lastStatusAt > 500) {
        lastStatusAt = now;
        node.status({
          fill: 'green',
          shape: 'dot',
          text: RED._('roc-hl7-admission.status.counts', {
            event: a.event,
            meaning: result.meaning,
            idb: counts.IDB,
            del: counts.DEL,
            clc: counts.CLC + counts.INVOICE,
          }),
        });
      }
      const out: (NodeMessage | null)[] = [null, null, null, null, null, null];
      out[OUTPUT_OF[result.meaning]] = msg;
      send(out);
      done();
    });
  }
  RED.nodes.registerType('roc-hl7-admission', RocHl7AdmissionNode);
};
