'use strict';
/* global setTimeout */
/**
 * Child process of test/e2e/answers-crash.test.ts (plain JS on the compiled library, which the
 * test global setup builds): the GAP intake and the answer path of the shipped flow, without
 * Node-RED — MllpListener (journal, ACK after commit, per-venue dispatch) → an IDB and a SIM
 * result → two answers (buildAnswer) → MllpAnswerSender.enqueue with the answer key roc-mllp-out
 * computes → after
 * `delay × n` ms (the n-th message handed out) the message is completed. The test SIGKILLs it
 * between the two, restarts it, and counts the GAP's answers.
 *
 * Prints: `PORT <port>`, `ENQ <journalId> <SERVICE> <answerId> <new|existing> <MSH-10>` (one per
 * service), `DONE <journalId>`.
 * Usage: node answers-crash-child.js <journal file> <GAP port> <delay ms>
 */
const path = require('path');
const root = path.join(__dirname, '..', '..');
const dist = (p) => require(path.join(root, 'dist', 'lib', p));
const { MllpListener } = dist('gap/mllp-listener.js');
const { MllpAnswerSender, answerKeyOf } = dist('gap/mllp-sender.js');
const { buildAnswer } = dist('hl7/answer.js');

const [file, gapPort, delayText] = process.argv.slice(2);
const delay = Number(delayText);
let handedOut = 0;

const idb = {
  service: 'idb',
  status: 'OK',
  technical: false,
  messages: [],
  requestId: 'REQ-CRASH',
  latencyMs: 120,
  attempts: 1,
  at: '2026-11-20T08:15:00Z',
  couverture: { numeroContrat: 'CT-2026-0042', periodes: [{ debut: '2026-01-01', fin: '2026-12-31' }], domaines: ['HOSPITALISATION'] },
  consignes: [],
};
const sim = {
  service: 'sim',
  status: 'OK',
  technical: false,
  messages: [],
  requestId: 'REQ-CRASH-SIM',
  latencyMs: 140,
  attempts: 1,
  at: '2026-11-20T08:15:01Z',
  montants: { totalFacture: 3452.4, totalAmo: 2761.92, totalAmc: 690.48, resteACharge: 0 },
  lignes: [],
  consignes: [],
};

let sender;
const listener = new MllpListener(
  { host: '127.0.0.1', port: 0, journalFile: file, processingTimeoutMs: 0 },
  (m) => {
    const n = ++handedOut;
    const roc = { admission: m.intake.admission, idb, sim };
    const rec = m.record;
    const answers = ['idb', 'sim'].map((service) => {
      const answer = buildAnswer(roc, { service, charset: 'utf8' });
      const answerKey = answerKeyOf({
        journalId: m.journalId,
        sender: [rec.sendingApplication, rec.sendingFacility].filter(Boolean).join('/'),
        controlId: rec.controlId,
        service: answer.service,
        outcome: answer.technical ? `${answer.status}-T` : answer.status,
      });
      return sender.enqueue(answer.bytes, answer.orderingKey, m.journalId, answerKey).then((r) => {
        process.stdout.write(
          `ENQ ${m.journalId} ${answer.service.toUpperCase()} ${r.id} ${r.existing ? 'existing' : 'new'} ${answer.controlId}\n`,
        );
      });
    });
    Promise.all(answers).then(
      () => {
        setTimeout(() => {
          listener.complete(m.journalId).then(
            () => process.stdout.write(`DONE ${m.journalId}\n`),
            (e) => process.stderr.write(`complete: ${e.message}\n`),
          );
        }, delay * n);
      },
      (e) => process.stderr.write(`enqueue: ${e.message}\n`),
    );
  },
  (t) => process.stderr.write(`listener: ${t}\n`),
);
sender = new MllpAnswerSender({
  journal: listener.journal,
  destination: `mllp:127.0.0.1:${gapPort}`,
  host: '127.0.0.1',
  port: Number(gapPort),
  ackTimeoutMs: 5000,
  reconnect: { minMs: 20, maxMs: 200 },
});
sender.on('fault', (e) => process.stderr.write(`sender: ${e.message}\n`));
listener.start().then(
  () => {
    sender.start();
    process.stdout.write(`PORT ${listener.port}\n`);
  },
  (e) => {
    process.stderr.write(`start: ${e.message}\n`);
    process.exit(2);
  },
);
