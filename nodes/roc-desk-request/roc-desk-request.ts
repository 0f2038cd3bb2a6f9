/**
 * roc-desk-request: what the admission desk page posts (POST /desk/scan) → the scan for
 * roc-datamatrix in msg.payload, the dossier on msg.roc (beneficiaire, venue, quote lines priced
 * with the site's tariffs), or on msg.desk.saisie what the clerk must complete. lib/desk does the
 * work; this adapter reads the settings, moves the message and shows the outcome (never patient data).
 */
import type { NodeAPI, Node, NodeDef, NodeMessage } from '../common/red';
import { buildDossier, checkTariffs, parseDeskRequest, type DeskState, type UploadedFile } from '../../lib/desk';

export = function register(RED: NodeAPI): void {
  function RocDeskRequestNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const { tariffs, errors } = checkTariffs({
      forfaitJournalier: def.forfaitJournalier,
      chambreParticuliere: def.chambreParticuliere,
      tauxAmoGhs: def.tauxAmoGhs,
    });
    if (errors.length) this.status({ fill: 'red', shape: 'ring', text: RED._('roc-desk-request.status.tariffs') });
    else this.status({});

    this.on('input', (msg: NodeMessage, send, done) => {
      if (errors.length) {
        done(new Error(`${RED._('roc-desk-request.errors.tariffs')} (${errors.join(' ; ')})`));
        return;
      }
      const req = msg.req as { files?: unknown } | undefined;
      const files = req && Array.isArray(req.files) ? (req.files as UploadedFile[]) : [];
      const request = parseDeskRequest(msg.payload, files);
      const desk: DeskState = { t0: Date.now() };
      msg.payload = request.scan;
      msg.desk = desk;
      // roc-datamatrix compares the attestation's validity with the entry date.
      const roc: Record<string, unknown> = {};
      if (typeof request.sejour.dateEntree === 'string') roc.venue = { dateEntree: request.sejour.dateEntree };
      const outcome = buildDossier(request, { tariffs, numeroDevis: `DEVIS-${msg._msgid ?? ''}` });
      if (outcome.ok) {
        Object.assign(roc, outcome.dossier);
        if (outcome.devisVide) desk.devisVide = true;
        this.status({ fill: 'green', shape: 'dot', text: RED._('roc-desk-request.status.complete') });
      } else {
        desk.saisie = outcome.saisie;
        this.status({ fill: 'yellow', shape: 'ring', text: RED._('roc-desk-request.status.incomplete', { count: outcome.saisie.length }) });
      }
      msg.roc = roc;
      send(msg);
      done();
    });
  }
  RED.nodes.registerType('roc-desk-request', RocDeskRequestNode);
};
