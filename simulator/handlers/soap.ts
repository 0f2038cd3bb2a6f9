/**
 * One SOAP request to an answer: decode, check the operation against the route, replay a
 * duplicate (same operation, access point, FINESS and request id), else the service's handler.
 */
import { codec, type OperationName } from '../../lib/sel/codec';
import { SoapError } from '../../lib/sel/soap';
import type { AccessPoint } from '../seed';
import { fault } from './answer';
import { annuaire } from './annuaire';
import type { Answer, Obj, SimContext } from './context';
import { clc, del, idb, sim } from './sel';

export type Route = { kind: 'annuaire' } | { kind: 'sel'; ap: AccessPoint | undefined; svc: OperationName };

export function handleSoap(ctx: SimContext, route: Route, body: Buffer): Answer {
  const { stats, replay } = ctx;
  let decoded: { op: OperationName; payload: Obj };
  try {
    decoded = codec.decodeRequest(body, ctx.maxRequestBytes);
  } catch (err) {
    stats.faults++;
    if (err instanceof SoapError) return fault(400, 'Sender', `Requête refusée : ${err.message}`);
    return fault(500, 'Receiver', 'Erreur interne du simulateur');
  }
  const { op, payload } = decoded;
  const expected: OperationName = route.kind === 'annuaire' ? 'annuaire' : route.svc;
  if (op !== expected) {
    stats.faults++;
    return fault(400, 'Sender', `Requête refusée : une requête ${op.toUpperCase()} a été envoyée au service ${expected.toUpperCase()}`);
  }
  stats[op]++;
  const enTete = payload.enTete as Obj;
  const ap = route.kind === 'sel' ? route.ap?.id : undefined;
  const key = `${op}|${ap ?? '*'}|${String(enTete.finessJuridique)}|${String(enTete.requestId)}`;
  const seen = replay.get(key);
  if (seen) {
    seen.requestId = String(enTete.requestId);
    stats.duplicates++;
    return seen;
  }
  let answer: Answer;
  try {
    switch (op) {
      case 'annuaire':
        answer = annuaire(ctx, payload);
        break;
      case 'idb':
        answer = idb(ctx, ap, payload);
        break;
      case 'sim':
        answer = sim(ctx, ap, payload);
        break;
      case 'clc':
        answer = clc(ctx, ap, payload);
        break;
      default:
        answer = del(ctx, ap, payload);
    }
  } catch (err) {
    stats.faults++;
    if (err instanceof SoapError) return fault(500, 'Receiver', `Réponse impossible à construire : ${err.message}`);
    return fault(500, 'Receiver', 'Erreur interne du simulateur');
  }
  answer.requestId = String(enTete.requestId);
  if (ctx.duplicateWindow > 0) {
    if (replay.size >= ctx.duplicateWindow) replay.delete(replay.keys().next().value as string);
    replay.set(key, answer);
  }
  return answer;
}
