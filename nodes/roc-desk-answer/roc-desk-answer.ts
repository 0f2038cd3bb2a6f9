/**
 * roc-desk-answer: the dossier as the desk flow left it (attestation, annuaire, IDB, SIM, or what
 * the clerk must complete) → the answer of POST /desk/scan for an `http response` node: verdict,
 * title, reason and advice in the clerk's words (lib/desk/answer.ts), AMC, attestation, rights,
 * quote. The status shows the verdict and its code, never patient data.
 */
import type { NodeAPI, Node, NodeDef, NodeMessage } from '../common/red';
import { deskAnswer } from '../../lib/desk';

const FILL = { OK: 'green', KO: 'yellow', LECTURE: 'yellow', SAISIE: 'yellow', TECHNIQUE: 'red' } as const;

export = function register(RED: NodeAPI): void {
  function RocDeskAnswerNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);

    this.on('input', (msg: NodeMessage, send, done) => {
      const answer = deskAnswer(msg.roc, msg.desk);
      const g = answer.guichet;
      msg.payload = answer;
      msg.statusCode = 200;
      msg.headers = { 'Cache-Control': 'no-store' };
      const seconds = typeof g.dureeMs === 'number' ? ` · ${(g.dureeMs / 1000).toFixed(1)} s` : '';
      this.status({
        fill: FILL[g.verdict],
        shape: g.verdict === 'OK' ? 'dot' : 'ring',
        text: RED._(`roc-desk-answer.status.${g.verdict}`, { code: g.code ?? '' }).trim() + seconds,
      });
      send(msg);
      done();
    });
  }
  RED.nodes.registerType('roc-desk-answer', RocDeskAnswerNode);
};
