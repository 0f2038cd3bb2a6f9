/**
 * The nodes' one-line calls: each builds an event input from what the node has at hand and emits
 * it on the process-wide bus. Only codes, numbers and the dossier key (turned into an opaque id by
 * the bus) are taken; the rest of the message (patient, coverage, invoice) is never read.
 */
import { events } from './bus';

interface ResultLike {
  status?: unknown;
  technical?: unknown;
  latencyMs?: unknown;
  messages?: Array<{ code?: unknown }>;
}

function dossierKeyOf(roc: unknown): unknown {
  const d = (roc as { dossier?: { cle?: unknown } } | undefined)?.dossier;
  return d && typeof d === 'object' ? d.cle : undefined;
}

/** A ROC service node got its answer (OK or KO, with its first code, latency and AMC). */
export function emitServiceAnswer(node: string, nodeId: string, service: string, result: ResultLike, roc: unknown, finess?: string): void {
  if (!events.subscriberCount) return;
  const amc = (roc as { amc?: { numeroAmc?: unknown } } | undefined)?.amc?.numeroAmc;
  events.emit({
    node,
    nodeId,
    event: 'answered',
    service,
    outcome: result.status,
    technical: result.technical === true,
    code: result.messages?.[0]?.code,
    latencyMs: result.latencyMs,
    amc,
    finess,
    dossierKey: dossierKeyOf(roc),
  });
}

/** Anything else a node reports: `received`, `acknowledged` (code), `sent`, `failed` (code), `queue`, `state`. */
export function emitNodeEvent(
  node: string,
  nodeId: string,
  event: 'received' | 'acknowledged' | 'sent' | 'failed' | 'queue' | 'state',
  fields: {
    code?: unknown;
    outcome?: unknown;
    queue?: string;
    queueDepth?: number;
    dossierKey?: unknown;
    state?: unknown;
    attempts?: unknown;
    service?: unknown;
    finess?: unknown;
  } = {},
): void {
  if (!events.subscriberCount) return;
  events.emit({ node, nodeId, event, ...fields });
}
