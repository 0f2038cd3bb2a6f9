/**
 * The one adapter behind roc-annuaire, roc-idb, roc-sim, roc-clc and roc-del: read the dossier on
 * msg.roc, call the service through the establishment's client, write the result on
 * msg.roc.<service>, route OK to output 1 and KO to output 2, show the outcome and latency in the
 * status (never patient data), and hand technical failures to catch nodes.
 */
import type { NodeAPI, Node, NodeDef, NodeMessage, NodeStatus } from './red';
import type { EstablishmentNode } from './establishment-node';
import type { RocDossier, RocService, ServiceResult } from '../../lib/model/dossier';
import { emitNodeEvent, emitServiceAnswer } from '../../lib/events/emitters';

const STATUS_EVERY_MS = 250;

/**
 * `msg.error.code` of the error a service node raises for a technical KO (AMC unreachable,
 * timeout, unreadable answer…), as catch nodes see it; the result on msg.roc.<service> also says
 * `technical: true`. A flow routes on either, never on the error's text.
 */
export const TECHNICAL_KO_CODE = 'ROC_TECHNICAL_KO';

/**
 * The node's status after a call. Status and log texts go through Node-RED's i18n (RED._): they
 * follow the runtime's language (settings `lang`, from ROC_LANG in the shipped settings.js; else
 * the OS locale), in English or French (nodes/<type>/locales). Errors handed to catch nodes keep
 * the library's wording (data), wrapped in the node's words.
 */
export function statusFor(RED: NodeAPI, type: string, result: ServiceResult, certificate?: EstablishmentNode['certificate']): NodeStatus {
  const ms = Math.round(result.latencyMs);
  const cert =
    certificate && certificate.level !== 'ok'
      ? ` · ${certificate.level === 'expired' ? RED._(`${type}.status.certExpired`) : RED._(`${type}.status.certDaysLeft`, { days: certificate.daysLeft })}`
      : '';
  if (result.status === 'OK') return { fill: 'green', shape: 'dot', text: RED._(`${type}.status.ok`, { ms }) + cert };
  const code = result.messages[0]?.code ?? 'KO';
  if (result.technical) return { fill: 'red', shape: 'ring', text: RED._(`${type}.status.koTechnical`, { code, ms }) + cert };
  return { fill: 'yellow', shape: 'ring', text: RED._(`${type}.status.ko`, { code, ms }) + cert };
}

function idleStatus(RED: NodeAPI, type: string, est: EstablishmentNode | undefined): NodeStatus {
  if (!est) return { fill: 'red', shape: 'ring', text: RED._(`${type}.status.noEstablishment`) };
  if (!est.client) return { fill: 'red', shape: 'ring', text: RED._(`${type}.status.invalidEstablishment`) };
  const c = est.certificate;
  if (c?.level === 'expired')
    return { fill: 'red', shape: 'ring', text: RED._(`${type}.status.certificateExpired`, { date: c.notAfter.slice(0, 10) }) };
  if (c?.level === 'warning')
    return { fill: 'yellow', shape: 'ring', text: RED._(`${type}.status.certificateExpiring`, { days: c.daysLeft }) };
  return {};
}

export function registerServiceNode(RED: NodeAPI, type: string, service: RocService): void {
  function RocServiceNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const est = RED.nodes.getNode(String(def.establishment ?? '')) as EstablishmentNode | undefined;
    this.status(idleStatus(RED, type, est));

    // At hundreds of dossiers per second the editor must not receive a status event per message:
    // show at most one every STATUS_EVERY_MS, always ending on the latest outcome.
    let lastStatusAt = 0;
    // The status text is only built for the outcomes actually shown.
    let pendingResult: ServiceResult | undefined;
    let pendingCert: EstablishmentNode['certificate'];
    let statusTimer: NodeJS.Timeout | undefined;
    const showStatus = (result: ServiceResult, cert: EstablishmentNode['certificate']) => {
      const now = Date.now();
      if (now - lastStatusAt >= STATUS_EVERY_MS && !statusTimer) {
        lastStatusAt = now;
        this.status(statusFor(RED, type, result, cert));
        return;
      }
      pendingResult = result;
      pendingCert = cert;
      statusTimer ??= setTimeout(
        () => {
          statusTimer = undefined;
          lastStatusAt = Date.now();
          if (pendingResult) this.status(statusFor(RED, type, pendingResult, pendingCert));
          pendingResult = undefined;
          pendingCert = undefined;
        },
        STATUS_EVERY_MS - Math.min(STATUS_EVERY_MS, now - lastStatusAt),
      );
    };
    this.on('close', (_removed, done) => {
      if (statusTimer) clearTimeout(statusTimer);
      statusTimer = undefined;
      done();
    });

    this.on('input', (msg: NodeMessage, send, done) => {
      const client = est?.client;
      if (!client) {
        const reason = est
          ? RED._(`${type}.errors.invalidEstablishment`, { errors: est.configErrors.join(' ; ') })
          : RED._(`${type}.errors.noEstablishment`);
        this.status({ fill: 'red', shape: 'ring', text: reason.slice(0, 60) });
        done(new Error(reason));
        return;
      }
      const roc = msg.roc;
      if (!roc || typeof roc !== 'object' || Array.isArray(roc)) {
        this.status({ fill: 'red', shape: 'ring', text: RED._(`${type}.status.noDossier`) });
        done(new Error(RED._(`${type}.errors.noDossier`, { service: service.toUpperCase() })));
        return;
      }
      client.call(service, roc as RocDossier).then(
        (result) => {
          (roc as Record<string, unknown>)[service] = result;
          emitServiceAnswer(type, this.id, service, result, roc, client.establishment.finessGeographique);
          showStatus(result, est.certificate);
          send(result.status === 'OK' ? [msg, null] : [null, msg]);
          if (result.technical) {
            // Catch nodes tell a technical KO by msg.error.code (or msg.roc.<service>.technical),
            // never by this text, which is for people.
            const err = Object.assign(
              new Error(
                RED._(`${type}.errors.technical`, {
                  service: service.toUpperCase(),
                  reason: result.reason ?? result.messages[0]?.libelle ?? RED._(`${type}.errors.failed`),
                }),
              ),
              {
                code: TECHNICAL_KO_CODE,
              },
            );
            done(err);
          } else done();
        },
        (err: Error) => {
          // The client never rejects by contract; this is a bug guard so a message never hangs.
          this.status({ fill: 'red', shape: 'ring', text: RED._(`${type}.status.internal`) });
          emitNodeEvent(type, this.id, 'failed', { service, code: 'INTERNAL' });
          done(err);
        },
      );
    });
  }
  RED.nodes.registerType(type, RocServiceNode);
}
