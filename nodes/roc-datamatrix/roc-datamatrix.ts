/**
 * roc-datamatrix: the attestation de tiers payant's DataMatrix, as read by a hand scanner (text)
 * or photographed (PNG/JPEG Buffer), turned into `msg.roc.attestation` by lib/datamatrix.
 *
 * Output 1: `msg.roc.attestation` = { status: 'OK', source, ...AttestationLue }, and `msg.roc.amc`
 * (numéro AMC, first type de convention, CSR) when the dossier has none yet.
 * Output 2: `msg.roc.attestation` = { status: 'KO', code, reason, source, raw?, … } (reading.ts):
 * the input could not be read as an attestation; `reason` is a French sentence for the clerk.
 * The status shows the last numéro AMC read (never the adhérent number or anything else).
 *
 * Images are decoded in worker threads (lib/datamatrix/pool.ts), off the event loop: the pool is
 * shared by every roc-datamatrix node, created at the first image, sized by ROC_IMAGE_WORKERS,
 * ROC_IMAGE_QUEUE, ROC_IMAGE_TIMEOUT_S, ROC_IMAGE_WORKER_HEAP_MB (and the pixel budget by
 * ROC_IMAGE_MAX_MEGAPIXELS; docs/desk-images.md), and
 * closed when the last node closes (redeploy, shutdown).
 */
import type { NodeAPI, Node, NodeDef, NodeMessage } from '../common/red';
import {
  acquireSharedDecodePool,
  configureSharedDecodePool,
  decodePoolOptionsFromEnv,
  readAttestation,
  releaseSharedDecodePool,
} from '../../lib/datamatrix';
import { bufferText, maxPixelsFromEnv, refusal, statusFor } from './reading';

export = function register(RED: NodeAPI): void {
  function RocDatamatrixNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    configureSharedDecodePool(decodePoolOptionsFromEnv(process.env));
    acquireSharedDecodePool();
    const maxPixels = maxPixelsFromEnv(process.env);
    this.on('close', (_removed: boolean, done: () => void) => {
      releaseSharedDecodePool().then(done, done);
    });

    this.on('input', (msg: NodeMessage, send, done) => {
      if (msg.roc !== undefined && msg.roc !== null && (typeof msg.roc !== 'object' || Array.isArray(msg.roc))) {
        this.status({ fill: 'red', shape: 'ring', text: RED._('roc-datamatrix.status.invalidDossier') });
        done(new Error(RED._('roc-datamatrix.errors.invalidDossier')));
        return;
      }
      const roc = (msg.roc ??= {}) as Record<string, unknown>;
      const venue = roc.venue as Record<string, unknown> | undefined;
      const admissionDate = venue && typeof venue.dateEntree === 'string' ? venue.dateEntree : undefined;
      let input = msg.payload as string | Buffer;
      if (Buffer.isBuffer(input)) input = bufferText(input) ?? input;

      readAttestation(input, { admissionDate, maxPixels }).then(
        (r) => {
          this.status(statusFor(RED, r));
          if (r.ok) {
            const a = r.attestation;
            roc.attestation = { status: 'OK', source: r.source, ...a };
            if (roc.amc === undefined || roc.amc === null)
              roc.amc = { numeroAmc: a.numeroAmc, typeConvention: a.typesConvention[0], csr: a.csr };
            send([msg, null]);
          } else {
            roc.attestation = refusal(r);
            send([null, msg]);
          }
          done();
        },
        (err: Error) => {
          // readAttestation never rejects by contract: a bug guard so a message never hangs.
          this.status({ fill: 'red', shape: 'ring', text: RED._('roc-datamatrix.status.internal') });
          done(new Error(RED._('roc-datamatrix.errors.internal', { error: err?.name ?? 'Error' })));
        },
      );
    });
  }
  RED.nodes.registerType('roc-datamatrix', RocDatamatrixNode);
};
