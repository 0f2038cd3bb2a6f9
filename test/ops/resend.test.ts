/**
 * lib/ops/resend: which stage of a message to play again, read from a real journal (SQLite in a
 * temp dir): the query checked, the admission mapped from the stored bytes (no patient data in
 * the refusals), a service only for a message with a dossier, an answer only when it belongs to the
 * message and is not on its way already.
 */
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SqliteJournal } from '../../lib/store/sqlite';
import { parseStage, planStageResend, ResendRefused } from '../../lib/ops/resend';
import { dossierKey, newDossier } from '../../lib/dossier/dossier';
import { receive } from '../../lib/hl7/intake';
import { adt } from '../store/fixtures';
import { encodeGapMessage, gapDay } from '../../simulator/gap-day';
import type { InboundInput } from '../../lib/store/journal';

let dir: string;
let j: SqliteJournal;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'roc-ops-resend-'));
  j = new SqliteJournal({ file: path.join(dir, 'journal.db'), retentionDays: 0, purgeIntervalMs: 0 });
});
afterEach(async () => {
  await j.close();
  rmSync(dir, { recursive: true, force: true });
});

async function refused(p: Promise<unknown> | (() => unknown)): Promise<{ status: number; message: string }> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(ResendRefused);
    return { status: (e as ResendRefused).status, message: (e as Error).message };
  }
  throw new Error('not refused');
}

describe('parseStage', () => {
  it('reads the stage, the service and the answer; message by default', () => {
    expect(parseStage({})).toEqual({ stage: 'message' });
    expect(parseStage({ stage: 'admission' })).toEqual({ stage: 'admission' });
    expect(parseStage({ stage: 'service', service: 'CLC' })).toEqual({ stage: 'service', service: 'clc' });
    expect(parseStage({ stage: 'answer', answer: '12' })).toEqual({ stage: 'answer', answer: 12 });
  });
  it.each([
    [{ stage: 'perdu' }],
    [{ stage: 'service' }],
    [{ stage: 'service', service: 'annuaire' }],
    [{ stage: 'answer', answer: '0' }],
    [{ stage: 'answer', answer: '1e3' }],
  ])('refuses %j with 400', async (q) => {
    expect((await refused(() => parseStage(q))).status).toBe(400);
  });
});

describe('planStageResend', () => {
  it('admission: the mapped admission of the stored bytes, for the venue dossier', async () => {
    const s = await j.append(adt('RS-1', '250100421'));
    const plan = await planStageResend(j, s.id, { stage: 'admission' });
    const key = dossierKey(receive(adt('RS-1', '250100421').raw).admission!)!.key;
    expect(plan).toMatchObject({ stage: 'admission', key, roc: { action: 'IDB', admission: { event: 'A01' } } });
  });

  it('service: only when the venue has a dossier; an unknown message is 404', async () => {
    const s = await j.append(adt('RS-2', '250100422'));
    expect((await refused(planStageResend(j, s.id, { stage: 'service', service: 'idb' }))).status).toBe(404);
    const key = dossierKey(receive(adt('RS-2', '250100422').raw).admission!)!;
    await j.saveDossier(newDossier(key.key, key.source, new Date()));
    expect(await planStageResend(j, s.id, { stage: 'service', service: 'idb' })).toEqual({
      stage: 'service',
      key: key.key,
      service: 'idb',
    });
    expect((await refused(planStageResend(j, 99999, { stage: 'admission' }))).status).toBe(404);
  });

  it('an invoice (DFT^P03) for a venue without dossier: 409 before the engine refuses it; with its dossier, played again', async () => {
    const m = [...gapDay({ messages: 300, venues: 8, seed: 5, controlIdPrefix: 'RS-DFT-', invoices: true })].find(
      (x) => x.messageType === 'DFT',
    )!;
    const raw = encodeGapMessage(m);
    const a = receive(raw).admission!;
    const input: InboundInput = {
      raw,
      channel: 'mllp:2575',
      controlId: a.controlId,
      event: `${a.messageType}^${a.event}`,
      orderingKey: a.orderingKey,
    };
    const s = await j.append(input);
    expect((await refused(planStageResend(j, s.id, { stage: 'admission' }))).status).toBe(409);
    const key = dossierKey(a)!;
    await j.saveDossier(newDossier(key.key, key.source, new Date()));
    expect(await planStageResend(j, s.id, { stage: 'admission' })).toMatchObject({
      stage: 'admission',
      key: key.key,
      roc: { action: 'INVOICE' },
    });
  });

  it('an identity update (A31) has no admission for the dossier: 409, and the refusal names no patient', async () => {
    const s = await j.append(adt('RS-3', '250100423', { event: 'A31' }));
    const r = await refused(planStageResend(j, s.id, { stage: 'admission' }));
    expect(r.status).toBe(409);
    expect(r.message).not.toMatch(/481516|25010042/);
  });

  it('answer: in error → requeued; acknowledged or cancelled → a copy; queued or sent → 409; another message’s → 404', async () => {
    const s = await j.append(adt('RS-4', '250100424'));
    const other = await j.append(adt('RS-5', '250100425'));
    const dest = 'mllp:127.0.0.1:2576';
    const a = await j.enqueue({ destination: dest, orderingKey: 'PV1-19:250100424', inboundId: s.id, payload: Buffer.from('MSH|A') });
    expect((await refused(planStageResend(j, s.id, { stage: 'answer', answer: a.id }))).status).toBe(409);
    expect((await refused(planStageResend(j, other.id, { stage: 'answer', answer: a.id }))).status).toBe(404);
    await j.take(dest);
    expect((await refused(planStageResend(j, s.id, { stage: 'answer', answer: a.id }))).status).toBe(409);
    await j.acked(a.id);
    const copy = await planStageResend(j, s.id, { stage: 'answer', answer: a.id });
    expect(copy).toMatchObject({ stage: 'answer', action: 'copy', answer: { id: a.id, state: 'ACKED' } });
    expect(copy.stage === 'answer' && copy.answer.payload?.toString()).toBe('MSH|A');

    const b = await j.enqueue({
      destination: dest,
      orderingKey: 'PV1-19:250100424',
      inboundId: s.id,
      payload: Buffer.from('MSH|B'),
      maxAttempts: 1,
    });
    await j.take(dest);
    expect((await j.sendFailed(b.id, 'refused', new Date())).state).toBe('ERROR');
    expect(await planStageResend(j, s.id, { stage: 'answer', answer: b.id })).toMatchObject({ stage: 'answer', action: 'requeue' });
    await j.cancel(b.id);
    expect(await planStageResend(j, s.id, { stage: 'answer', answer: b.id })).toMatchObject({ stage: 'answer', action: 'copy' });
  });
});
