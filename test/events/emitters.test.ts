/**
 * No patient identifier through any emitter: the nodes' one-line calls are fed the dossiers of the
 * simulator's seeded patients (NIR, names, birth dates, venue and NDA) — as msg.roc, as result
 * texts, and even where a code should be — and no event carries any of them.
 */
import { events } from '../../lib/events/bus';
import { emitNodeEvent, emitServiceAnswer } from '../../lib/events/emitters';
import type { RocEvent } from '../../lib/events/schema';
import { beneficiaires, dossierFor } from '../support/dossiers';
import { expectNoPatientData, identifiersFromDossier, mergeIdentifiers } from '../support/patient-data';

const SERVICES = ['annuaire', 'idb', 'sim', 'clc', 'del'] as const;

describe('emitters', () => {
  let seen: RocEvent[];
  let off: () => void;
  beforeEach(() => {
    seen = [];
    off = events.subscribe((e) => seen.push(e));
  });
  afterEach(() => off());

  it('the ROC service nodes: answered OK/KO with code, latency and AMC; the patient stays out', () => {
    const patients = beneficiaires.slice(0, 8).map((b) => b.id);
    const ids = mergeIdentifiers(...patients.map((id) => identifiersFromDossier(dossierFor(id))));
    for (const id of patients) {
      const roc = { ...dossierFor(id, { facture: 'F2026-001' }), dossier: { cle: `750100125/V/V${id}001` } };
      const b = roc.beneficiaire!;
      for (const service of SERVICES) {
        const result = {
          status: service === 'sim' ? 'KO' : 'OK',
          technical: false,
          latencyMs: 87.25,
          // what an AMC may write in a libellé: the patient's name (never read by the emitter)
          messages: [
            { code: service === 'sim' ? 'BR-RIGHTS-CLOSED' : '0000', libelle: `Droits de ${b.nom} ${b.prenom} né le ${b.dateNaissance}` },
          ],
          reason: `NIR ${b.nir}${b.cleNir}`,
        };
        emitServiceAnswer(`roc-${service}`, 'node-1', service, result, roc, '750100125');
      }
    }
    expect(seen).toHaveLength(patients.length * SERVICES.length);
    expect(seen[0]).toMatchObject({
      node: 'roc-annuaire',
      event: 'answered',
      service: 'annuaire',
      outcome: 'OK',
      code: '0000',
      latencyMs: 87.3,
      finess: '750100125',
    });
    expect(seen[0].amc).toMatch(/^\d{10}$/);
    expect(seen.every((e) => /^[0-9a-f]{24}$/.test(e.dossier ?? ''))).toBe(true);
    const text = seen.map((e) => JSON.stringify(e));
    expectNoPatientData(text, ids);
    for (const id of patients) expect(text.join('\n')).not.toMatch(new RegExp(`V${id}001|NDA${id}2026`));
  });

  it('roc-mllp-in, roc-mllp-out, roc-dossier: patient data given in any field is dropped', () => {
    const d = dossierFor(beneficiaires[0].id);
    const b = d.beneficiaire!;
    const ids = identifiersFromDossier(d);
    for (const node of ['roc-mllp-in', 'roc-mllp-out', 'roc-dossier']) {
      for (const event of ['received', 'acknowledged', 'sent', 'failed', 'queue', 'state'] as const) {
        for (const bad of [`${b.nir}${b.cleNir}`, b.nir, b.nom, b.prenom, b.dateNaissance, b.dateNaissance.replace(/-/g, '')]) {
          emitNodeEvent(node, 'n-1', event, {
            code: bad,
            state: bad,
            queue: bad,
            service: bad,
            finess: bad,
            dossierKey: bad,
            attempts: bad,
            outcome: bad,
            queueDepth: 3,
          });
        }
      }
    }
    expect(seen.length).toBeGreaterThan(0);
    expectNoPatientData(
      seen.map((e) => JSON.stringify(e)),
      ids,
    );
    expect(seen.every((e) => e.code === undefined && e.state === undefined && e.dossier === undefined && e.queueDepth === 3)).toBe(true);
  });
});
