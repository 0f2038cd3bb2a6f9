/** Building the simulator's SOAP answers: header, OK, the AMC's KO, SOAP Fault. */
import { codec, type OperationName } from '../../lib/sel/codec';
import { messageFor } from '../../lib/sel/catalogue';
import { buildFault } from '../../lib/sel/soap';
import type { Answer, Delay, Obj, SimContext } from './context';

function stripAction(m: ReturnType<typeof messageFor>) {
  return { code: m.code, groupe: m.groupe, severite: m.severite, libelle: m.libelle };
}

/** A catalogue message as the AMC sends it (cached when the catalogue's libelle is kept). */
export function msg(ctx: SimContext, code: string, libelle?: string): Obj {
  if (libelle) return stripAction(messageFor(code, { libelle }));
  let m = ctx.msgCache.get(code);
  if (!m) ctx.msgCache.set(code, (m = stripAction(messageFor(code))));
  return m;
}

export function header(ctx: SimContext, p: Obj) {
  return {
    requestId: String((p.enTete as Obj | undefined)?.requestId ?? ''),
    responseId: `R${ctx.tag}${(++ctx.responseSeq).toString(36).toUpperCase().padStart(8, '0')}`,
    horodatage: new Date().toISOString(),
  };
}

export function ok(op: OperationName, payload: Obj, delay: Delay = 'none'): Answer {
  return {
    status: 200,
    body: codec.encodeResponse(op, payload),
    delay,
    op,
    statut: 'OK',
    code: '0000',
  };
}

export function ko(
  ctx: SimContext,
  op: OperationName,
  p: Obj,
  code: string,
  libelle?: string,
  delay: Delay = 'none',
  extra: Obj = {},
): Answer {
  return {
    status: 200,
    body: codec.encodeResponse(op, { enTete: header(ctx, p), statut: 'KO', messages: [msg(ctx, code, libelle)], ...extra }),
    delay,
    op,
    statut: 'KO',
    code,
  };
}

export function fault(status: number, code: 'Sender' | 'Receiver', reason: string): Answer {
  return {
    status,
    body: buildFault(code, reason),
    delay: 'none',
    code: `fault:${code}`,
  };
}

export function delayOf(incident: string | undefined): Delay {
  return incident === 'SUSPENDU' ? 'hang' : incident === 'LENT' ? 'slow' : 'none';
}
