/**
 * DossierEngine.askAgain: the message browser's "resend from this service exchange". A request
 * still awaited (lost) goes again with its request id (the AMC answers it once); an exchange
 * already answered is asked with a new id; CLC is never asked while an engagement lives, DEL only
 * when one is awaited. The store is a map that keeps JSON and checks majLe, as the journal does.
 */
import { DossierEngine, DossierError, type DossierStorePort } from '../../lib/dossier/engine';
import type { DossierRecord } from '../../lib/dossier/dossier';
import { admission, facture, result, TestClock, FINESS_GEO } from './fixtures';

class MapStore implements DossierStorePort {
  readonly rows = new Map<string, string>();
  async loadDossier(key: string): Promise<DossierRecord | undefined> {
    await Promise.resolve();
    const j = this.rows.get(key);
    return j ? (JSON.parse(j) as DossierRecord) : undefined;
  }
  async saveDossier(d: DossierRecord, expected?: string): Promise<void> {
    await Promise.resolve();
    const prior = this.rows.get(d.key);
    if (expected !== undefined && prior && (JSON.parse(prior) as DossierRecord).majLe !== expected) throw new Error('CONFLICT');
    this.rows.set(d.key, JSON.stringify(d));
  }
}

const KEY = `${FINESS_GEO}/V/V2026110001`;

function setup() {
  let ids = 0;
  const store = new MapStore();
  const clock = TestClock.at('2026-11-20T08:30:00Z');
  const engine = new DossierEngine(store, { clock, newRequestId: () => `RQ${++ids}`, inFlightTimeoutMs: 60_000 });
  return { store, clock, engine };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DossierError);
    return (e as DossierError).code;
  }
  throw new Error('not refused');
}

describe('DossierEngine.askAgain', () => {
  it('a lost IDB request goes again with the same request id; an answered one with a new id', async () => {
    const { engine, clock, store } = setup();
    const a = await engine.onMessage(admission('A01'), {});
    const lost = a.requests[0];
    clock.advanceMinutes(5);
    const again = await engine.askAgain(KEY, 'idb');
    expect(again.requests).toEqual([{ service: 'idb', requestId: lost.requestId, repeat: true }]);
    const saved = (await store.loadDossier(KEY))!;
    expect(saved.enCours.idb).toEqual({ requestId: lost.requestId, at: clock.now().toISOString(), perduLe: expect.any(String) });
    expect(Date.parse(saved.enCours.idb!.perduLe!)).toBe(clock.now().getTime() + 60_000);

    await engine.onResult(KEY, result('idb', 'OK', { requestId: lost.requestId, dateValidite: '2026-11-30' }));
    const fresh = await engine.askAgain(KEY, 'idb');
    expect(fresh.requests).toEqual([{ service: 'idb', requestId: 'RQ2' }]);
    expect((await store.loadDossier(KEY))!.enCours.idb?.requestId).toBe('RQ2');
    // the answer to the new request is recorded like any other
    const r = await engine.onResult(KEY, result('idb', 'OK', { requestId: 'RQ2', dateValidite: '2026-11-30' }));
    expect(r.dossier.enCours.idb).toBeUndefined();
    expect(r.dossier.echanges.map((x) => x.requestId)).toEqual([lost.requestId, 'RQ2']);
  });

  it('CLC: refused without an invoice or while an engagement lives; a lost CLC keeps its id and invoice', async () => {
    const { engine } = setup();
    const a = await engine.onMessage(admission('A01'), {});
    expect(await refusal(engine.askAgain(KEY, 'clc'))).toBe('NOT_ASKABLE');
    await engine.onResult(KEY, result('idb', 'OK', { requestId: a.requests[0].requestId, dateValidite: '2026-11-30' }));
    const inv = await engine.onMessage(admission('P03'), {}, facture());
    const clcAgain = await engine.askAgain(KEY, 'clc');
    expect(clcAgain.requests).toEqual([
      { service: 'clc', requestId: inv.requests[0].requestId, repeat: true, factureNumero: 'F2026-000481' },
    ]);
    await engine.onResult(KEY, result('clc', 'OK', { requestId: inv.requests[0].requestId, engagement: { numero: 'E1' } }));
    expect(await refusal(engine.askAgain(KEY, 'clc'))).toBe('NOT_ASKABLE');
  });

  it('DEL: only an awaited DEL is asked again (same id, same engagement); none awaited is refused', async () => {
    const { engine } = setup();
    const a = await engine.onMessage(admission('A01'), {});
    expect(await refusal(engine.askAgain(KEY, 'del'))).toBe('NOT_ASKABLE');
    await engine.onResult(KEY, result('idb', 'OK', { requestId: a.requests[0].requestId, dateValidite: '2026-11-30' }));
    const inv = await engine.onMessage(admission('P03'), {}, facture());
    await engine.onResult(KEY, result('clc', 'OK', { requestId: inv.requests[0].requestId, engagement: { numero: 'E1' } }));
    const cancel = await engine.onMessage(admission('A11'), {});
    const del = await engine.askAgain(KEY, 'del');
    expect(del.requests).toEqual([
      { service: 'del', requestId: cancel.requests[0].requestId, repeat: true, engagement: { numero: 'E1', motif: 'ANNULATION' } },
    ]);
  });

  it('an unknown dossier is NOT_FOUND', async () => {
    const { engine } = setup();
    expect(await refusal(engine.askAgain(KEY, 'idb'))).toBe('NOT_FOUND');
  });
});
