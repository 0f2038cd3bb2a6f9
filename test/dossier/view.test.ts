/** The dossier's timeline (lib/dossier/view.ts): latencies printed to the millisecond. */
import { newDossier, type DossierRecord } from '../../lib/dossier/dossier';
import { dossierView } from '../../lib/dossier/view';

describe('dossierView timeline', () => {
  it('prints an exchange latency rounded to the millisecond (not 185.48506600 ms)', () => {
    const d: DossierRecord = newDossier('750100125|V26004812', 'PV1-19', '2026-03-02T08:14:00.000Z', '750100125');
    d.echanges.push(
      { at: '2026-03-02T08:14:01.000Z', service: 'idb', status: 'OK', latencyMs: 185.485066 } as DossierRecord['echanges'][number],
      {
        at: '2026-03-02T08:14:02.000Z',
        service: 'clc',
        status: 'KO',
        code: '6001',
        latencyMs: 1203.5,
      } as DossierRecord['echanges'][number],
    );
    const texts = dossierView(d)
      .chronologie.filter((e) => e.kind === 'ECHANGE')
      .map((e) => e.texte);
    expect(texts).toEqual(['IDB OK · 185 ms', 'CLC KO (6001) · 1204 ms']);
    // the raw value stays in the entry for whoever wants it
    expect(dossierView(d).chronologie.find((e) => e.kind === 'ECHANGE')?.latencyMs).toBe(185.485066);
  });
});
