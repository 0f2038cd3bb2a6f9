/**
 * "Resend from this stage" in the message browser (POST /roc/ops/messages/:id/resend?stage=…):
 * which stage of a message to play again, and what it takes. Pure: reads the journal, decides;
 * the runtime (nodes/common/ops.ts) acts on the decision with the live nodes.
 *
 *   stage=message              the raw input, re-injected into the intake (a new journal entry)
 *   stage=admission            the mapped admission, handed to the dossier engine (no parse, no
 *                              new journal entry, no GAP message attached)
 *   stage=service&service=idb  the dossier asks that service again: the same request id when the
 *                              request is still awaited (lost), else a new one
 *   stage=answer&answer=<id>   the answer to the GAP sent again: an answer in error is queued
 *                              again; one acknowledged or cancelled is queued again as a copy
 */
import type { OutboundRecord } from '../store/journal';
import { receive } from '../hl7/intake';
import { admissionToDossier } from '../hl7/pamfr';
import { dossierKey } from '../dossier/dossier';
import type { OnlineService } from '../model/dossier';
import type { OpsJournal } from './messages';

export const RESEND_STAGES = ['message', 'admission', 'service', 'answer'] as const;
export type ResendStage = (typeof RESEND_STAGES)[number];
const SERVICES: readonly OnlineService[] = ['idb', 'sim', 'clc', 'del'];

export type StageResend =
  | { stage: 'message' }
  | { stage: 'admission'; key: string; roc: Record<string, unknown> }
  | { stage: 'service'; key: string; service: OnlineService }
  | { stage: 'answer'; answer: OutboundRecord; action: 'requeue' | 'copy' };

export class ResendRefused extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'ResendRefused';
  }
}

/** The stage asked in the query string (`stage`, `service`, `answer`); throws ResendRefused(400). */
export function parseStage(q: Record<string, unknown>): { stage: ResendStage; service?: OnlineService; answer?: number } {
  const stage = q.stage === undefined || q.stage === '' ? 'message' : String(q.stage);
  if (!(RESEND_STAGES as readonly string[]).includes(stage)) {
    throw new ResendRefused(400, `étape inconnue : ${stage.slice(0, 20)} (message, admission, service ou answer)`);
  }
  if (stage === 'service') {
    const service = String(q.service ?? '').toLowerCase();
    if (!(SERVICES as readonly string[]).includes(service)) throw new ResendRefused(400, 'service à redemander : idb, sim, clc ou del');
    return { stage, service: service as OnlineService };
  }
  if (stage === 'answer') {
    const a = String(q.answer ?? '');
    if (!/^\d{1,15}$/.test(a) || !Number(a)) throw new ResendRefused(400, 'réponse à renvoyer : answer=<numéro de la réponse>');
    return { stage, answer: Number(a) };
  }
  return { stage: stage as ResendStage };
}

/**
 * What resending message `id` from `asked` takes, read from the journal; throws ResendRefused
 * (404: no such message or answer; 409: nothing to play again at that stage). The `message` stage
 * is checked by the intake itself (state, retention) and passes through.
 */
export async function planStageResend(
  journal: OpsJournal,
  id: number,
  asked: { stage: ResendStage; service?: OnlineService; answer?: number },
): Promise<StageResend> {
  if (asked.stage === 'message') return { stage: 'message' };
  if (asked.stage === 'answer') {
    const a = await journal.getOutbound(asked.answer!, { payload: true });
    if (!a || a.inboundId !== id) throw new ResendRefused(404, `réponse ${asked.answer} absente pour le message ${id}`);
    if (a.state === 'ERROR') return { stage: 'answer', answer: a, action: 'requeue' };
    if (a.state === 'ACKED' || a.state === 'CANCELLED') {
      if (!a.payload || !a.payload.length) throw new ResendRefused(409, `réponse ${a.id} effacée par la rétention : plus rien à renvoyer`);
      return { stage: 'answer', answer: a, action: 'copy' };
    }
    throw new ResendRefused(409, `réponse ${a.id} encore en cours d’envoi (${a.state})`);
  }
  const rec = await journal.get(id, { raw: true });
  if (!rec) throw new ResendRefused(404, `message ${id} absent du journal`);
  if (!rec.raw || !rec.raw.length) throw new ResendRefused(409, `message ${id} effacé par la rétention : plus rien à renvoyer`);
  const intake = receive(rec.raw);
  const a = intake.admission;
  if (!a || intake.meaning === 'IGNORE' || intake.meaning === 'IDENTITY' || intake.meaning === 'AMO_PAYMENT') {
    throw new ResendRefused(409, `message ${id} sans admission pour le dossier (${intake.meaning})`);
  }
  const key = dossierKey(a)?.key;
  if (!key) throw new ResendRefused(409, `message ${id} sans numéro de venue ni NDA : pas de dossier`);
  if (asked.stage === 'admission') {
    // an invoice needs its venue's dossier (the engine refuses it otherwise): said here, before
    if (intake.meaning === 'INVOICE' && !(await journal.loadDossier(key))) {
      throw new ResendRefused(409, `facture du message ${id} pour une venue sans dossier : rien à rejouer`);
    }
    return { stage: 'admission', key, roc: { ...admissionToDossier(a), admission: a, action: intake.meaning } };
  }
  const d = await journal.loadDossier(key);
  if (!d) throw new ResendRefused(404, `pas de dossier pour le message ${id}`);
  return { stage: 'service', key, service: asked.service! };
}
