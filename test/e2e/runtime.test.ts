/**
 * End to end: the runtime started as `npm start` starts it (compiled code, settings.js, the
 * shipped flows/roc-bridge.json, the embedded AMC simulator over mutual TLS), driven over real
 * HTTP like a GAP or a desk would, then stopped with SIGINT like Ctrl-C.
 */
import { startRuntimeProcess, postJson, type StartedRuntime } from '../support/runtime';
import { beneficiaires, dossierFor } from '../support/dossiers';
import { expectNoPatientData, identifiersOf, mergeIdentifiers, processOutput } from '../support/patient-data';

let rt: StartedRuntime;

beforeAll(async () => {
  rt = await startRuntimeProcess();
}, 60000);

afterAll(async () => {
  if (rt) await rt.stop();
});

const FACTURE = (id: string) => `FAC-2026-E2E-${id}`;

/** Expected outcome per seeded scenario: where the chain stops and with which code. */
const EXPECTED: Record<string, { stop: 'annuaire' | 'idb' | 'clc'; code?: string; technical?: boolean; check?: (roc: any) => void }> = {
  'droits-ok': { stop: 'clc' },
  'droits-ok-adherent': { stop: 'clc' },
  'adherent-obligatoire': { stop: 'idb', code: '6005' },
  'beneficiaire-inconnu': { stop: 'idb', code: '6001' },
  'droits-fermes': { stop: 'idb', code: '6002' },
  'non-eligible': { stop: 'idb', code: '6003' },
  'priorite-garantie': { stop: 'idb', code: '6006' },
  'verifier-attestation': { stop: 'idb', code: '6008' },
  'incident-technique': { stop: 'idb', code: '0999' },
  'delai-depasse': { stop: 'idb', code: 'BR-TIMEOUT', technical: true },
  'reponse-lente': { stop: 'clc', check: (r) => expect(r.idb.latencyMs).toBeGreaterThanOrEqual(1500) },
  'couverture-partielle': {
    stop: 'clc',
    check: (r) => {
      // 50 % of the ticket modérateur: the patient keeps part of the GHS
      const ghs = r.clc.lignes.find((l: any) => l.code === 'GHS');
      expect(ghs.montantPatient).toBeGreaterThan(0);
      expect(ghs.montantAmc).toBeCloseTo(ghs.montantPatient, 1);
    },
  },
  'chambre-plafond': {
    stop: 'clc',
    check: (r) => {
      const cp = r.clc.lignes.find((l: any) => l.code === 'CP');
      expect(cp.montantAmc).toBe(4 * 45);
      expect(cp.montantPatient).toBe(4 * 30);
    },
  },
  'consigne-facture-papier': { stop: 'clc', check: (r) => expect(r.idb.consignes.map((c: any) => c.code)).toContain('FACT_PAPIER') },
  'consigne-accord-prealable': { stop: 'clc', check: (r) => expect(r.idb.consignes.map((c: any) => c.code)).toContain('ACCORD_PREALABLE') },
  'operateur-csr': { stop: 'clc', check: (r) => expect(r.annuaire.services.idb).toContain('/sel/tpso/') },
  'direct-csr': { stop: 'clc', check: (r) => expect(r.annuaire.services.idb).not.toContain('/sel/tpso/') },
  'amc-directe-ace': { stop: 'clc' },
  'amc-hors-roc': { stop: 'annuaire', code: 'BR-NOT-ROC' },
  'ayant-droit': { stop: 'clc' },
  'jumeaux-rang': { stop: 'clc' },
  'assure-ouvrant-droit': { stop: 'clc' },
  'nir-corse': { stop: 'clc' },
};

describe('npm start runtime', () => {
  it('serves the editor and lists every roc-* node type', async () => {
    const editor = await fetch(rt.url);
    expect(editor.status).toBe(200);
    // the admin API needs a signed-in user (docs/security.md)
    expect((await fetch(`${rt.url}nodes`, { headers: { accept: 'application/json' } })).status).toBe(401);
    const nodes = (await (
      await fetch(`${rt.url}nodes`, { headers: await rt.headers('viewer', { accept: 'application/json' }) })
    ).json()) as { id: string; types: string[] }[];
    const types = nodes.flatMap((n) => n.types);
    for (const t of ['roc-establishment', 'roc-datamatrix', 'roc-annuaire', 'roc-idb', 'roc-sim', 'roc-clc', 'roc-del'])
      expect(types).toContain(t);
  });

  it('gives each seeded scenario its documented outcome through POST /roc/dossier', async () => {
    const seen = new Set<string>();
    await Promise.all(
      beneficiaires.map(async (b) => {
        const exp = EXPECTED[b.scenario];
        expect({ scenario: b.scenario, known: !!exp }).toEqual({ scenario: b.scenario, known: true });
        seen.add(b.scenario);
        const d = dossierFor(b.id, { facture: FACTURE(b.id), withAdherent: b.scenario !== 'adherent-obligatoire' });
        const { status, json: roc } = await postJson(`${rt.url}roc/dossier`, d);
        expect(status).toBe(200);
        const label = `${b.id} ${b.scenario}`;
        const stopAt = roc.clc ? 'clc' : roc.idb ? 'idb' : 'annuaire';
        expect(`${label}: ${stopAt}`).toBe(`${label}: ${exp.stop}`);
        const last = roc[exp.stop];
        if (exp.code) {
          expect(`${label}: ${last.status} ${last.messages[0]?.code}`).toBe(`${label}: KO ${exp.code}`);
          expect(last.reason).toBeTruthy();
          expect(last.technical).toBe(!!exp.technical);
        } else {
          expect(`${label}: ${roc.clc.status}`).toBe(`${label}: OK`);
          expect(roc.sim.status).toBe('OK');
          expect(roc.clc.engagement.numero).toBeTruthy();
          expect(roc.clc.montants.totalFacture).toBeCloseTo(
            roc.clc.montants.totalAmo + roc.clc.montants.totalAmc + roc.clc.montants.resteACharge,
            2,
          );
        }
        exp.check?.(roc);
      }),
    );
    expect(seen.size).toBeGreaterThanOrEqual(20);
  }, 60000);

  it('answers an AMC number absent from the directory with a KO naming it, and a dossier missing data with the field', async () => {
    const unknown = dossierFor('B01');
    unknown.amc = { numeroAmc: '0312987654', typeConvention: 'MU' };
    const r1 = await postJson(`${rt.url}roc/dossier`, unknown);
    expect(r1.json.annuaire.status).toBe('KO');
    expect(r1.json.annuaire.messages[0].code).toBe('BR-AMC-UNKNOWN');
    expect(r1.json.idb).toBeUndefined();

    const missing = dossierFor('B01');
    delete (missing.venue as any).dateEntree;
    const r2 = await postJson(`${rt.url}roc/dossier`, missing);
    expect(r2.json.idb.status).toBe('KO');
    expect(r2.json.idb.reason).toContain('venue.dateEntree');
  });

  it('answers every hostile or broken AMC with a technical KO naming the cause, and keeps running', async () => {
    const hostile = [
      '0990000001',
      '0990000002',
      '0990000003',
      '0990000004',
      '0990000005',
      '0990000006',
      '0990000007',
      '0990000008',
      '0990000009',
    ];
    const answers = await Promise.all(
      hostile.map(async (numeroAmc) => {
        const d = dossierFor('B01');
        d.amc = { numeroAmc, typeConvention: 'MU' };
        const { status, json } = await postJson(`${rt.url}roc/dossier`, d);
        return { numeroAmc, status, idb: json.idb };
      }),
    );
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(`${a.numeroAmc}: ${a.idb.status} ${a.idb.technical}`).toBe(`${a.numeroAmc}: KO true`);
      expect(['BR-BAD-ANSWER', 'BR-HTTP', 'BR-UNREACHABLE', 'BR-SOAP-FAULT']).toContain(a.idb.messages[0].code);
      expect(a.idb.reason.length).toBeGreaterThan(10);
    }
    // the runtime is still there and serves a normal dossier
    const { json } = await postJson(`${rt.url}roc/dossier`, dossierFor('B01'));
    expect(json.idb.status).toBe('OK');
  }, 60000);

  it('answers a body that is not a JSON dossier with 400 and a reason', async () => {
    const res = await fetch(`${rt.url}roc/dossier`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'MSH|^~\\&|...' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { reason: string }).reason).toMatch(/JSON/);
    // malformed JSON: a JSON KO with a reason, the body neither echoed nor logged
    const bad = await fetch(`${rt.url}roc/dossier`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"beneficiaire":{"nir":"1850775123456",',
    });
    expect(bad.status).toBe(400);
    const text = await bad.text();
    expect(JSON.parse(text).reason).toMatch(/JSON valide/);
    expect(text).not.toContain('1850775123456');
    expect(rt.output()).not.toContain('1850775123456');
  });

  it('cancels an engagement through POST /roc/cancel, and refuses a second cancel', async () => {
    const { json: roc } = await postJson(`${rt.url}roc/dossier`, dossierFor('B23', { facture: 'FAC-2026-E2E-CANCEL' }));
    const numero = roc.clc.engagement.numero;
    const cancel = { amc: roc.amc, engagement: { numero, motif: 'Séjour annulé (A11)' }, facture: { numero: 'FAC-2026-E2E-CANCEL' } };
    const first = await postJson(`${rt.url}roc/cancel`, cancel);
    expect(first.json.del.status).toBe('OK');
    expect(first.json.del.engagement).toBe(numero);
    const second = await postJson(`${rt.url}roc/cancel`, cancel);
    expect(second.json.del.status).toBe('KO');
    expect(second.json.del.technical).toBe(false);
    expect(second.json.del.reason).toMatch(/annul/i);
  });

  it('never writes patient identifiers to its log', () => {
    const out = rt.output();
    for (const b of beneficiaires) {
      expect(out).not.toContain(b.nir);
      expect(out).not.toContain(b.prenom);
    }
    // every seeded patient was posted above: NIR with and without key, names, birth date in any format
    expectNoPatientData(
      processOutput(rt),
      mergeIdentifiers(
        ...beneficiaires.map((b) => identifiersOf({ nir: b.nir + b.cleNir, names: [b.nom, b.prenom], birthDates: [b.dateNaissance] })),
      ),
    );
  });

  it('stops cleanly on Ctrl-C (SIGINT)', async () => {
    const code = await rt.stop();
    expect(code).toBe(0);
    expect(rt.output()).toMatch(/SIGINT: stopping ROC Bridge/);
    rt = undefined as unknown as StartedRuntime;
  });
});
