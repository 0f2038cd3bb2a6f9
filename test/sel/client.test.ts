import { RocClient } from '../../lib/sel/client';
import { PROFILE } from '../../lib/sel/profile';
import { codec } from '../../lib/sel/codec';
import type { AnnuaireResult, RocDossier } from '../../lib/model/dossier';
import { dossier, establishment, faultReply, koReply, startFakeAmc, type FakeAmc, type Obj } from './helpers';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const PATIENT = ['2850375123456', 'Lefèvre', 'Marie-Hélène', '1985-03-14'];

describe('RocClient against an AMC over HTTPS + mutual TLS', () => {
  let amc: FakeAmc;
  let client: RocClient;
  let t: number;
  const now = () => t;
  const count = (op: string) => amc.received.filter((r) => r.op === op).length;

  beforeAll(async () => {
    amc = await startFakeAmc({ tls: 'mutual' });
  });
  afterAll(async () => {
    await amc.close();
  });
  beforeEach(() => {
    t = Date.parse('2026-03-02T08:41:07.000Z');
    amc.behave(undefined);
    amc.received.length = 0;
    client = new RocClient(establishment(amc.annuaireUrl, { connectTimeoutMs: 1000, readTimeoutMs: 400 }), {
      now,
      retryBackoffMs: 10,
      breaker: { failureThreshold: 3, openMs: 30_000 },
    });
  });
  afterEach(() => client.close());

  it('annuaire: finds the AMC services, then answers from the cache', async () => {
    const first = await client.annuaire(dossier());
    expect(first).toMatchObject({
      service: 'annuaire',
      status: 'OK',
      technical: false,
      amc: { numeroAmc: '0775685365', nom: 'Mutuelle des Cévennes', enRoc: true },
      services: { idb: `${amc.base}/idb`, sim: `${amc.base}/sim`, clc: `${amc.base}/clc`, del: `${amc.base}/del` },
      fromCache: false,
      stale: false,
      attempts: 1,
      endpoint: amc.annuaireUrl,
    });
    expect(first.requestId).toMatch(UUID_RE);
    const second = await client.annuaire(dossier());
    expect(second).toMatchObject({ status: 'OK', fromCache: true, stale: false, attempts: 0, requestId: first.requestId });
    expect(count('annuaire')).toBe(1);
    // The header carries the establishment, the profile version and the target AMC.
    const enTete = amc.received[0].payload.enTete as Obj;
    expect(enTete).toMatchObject({
      requestId: first.requestId,
      horodatage: '2026-03-02T08:41:07.000Z',
      versionProfil: PROFILE.version,
      finessJuridique: '750712184',
      finessGeographique: '750100042',
      logiciel: 'GAP Hexagone & Cie <test>',
      amc: { numeroAmc: '0775685365', typeConvention: 'MU' },
    });
  });

  it('IDB: resolves the endpoint through the annuaire and maps coverage, instructions and validity', async () => {
    const r = await client.idb(dossier());
    expect(r).toMatchObject({
      service: 'idb',
      status: 'OK',
      technical: false,
      attempts: 1,
      endpoint: `${amc.base}/idb`,
      couverture: {
        numeroContrat: 'CT-2026-004512',
        periodes: [{ debut: '2026-01-01', fin: '2026-12-31' }],
        domaines: ['HOSPITALISATION', 'CHAMBRE_PARTICULIERE'],
      },
      consignes: [{ code: 'C01', libelle: 'Chambre particulière prise en charge 60 € par jour, 30 jours par an' }],
      dateValidite: '2026-04-01',
      at: '2026-03-02T08:41:07.000Z',
    });
    expect(r.messages[0]).toEqual({ code: '0000', groupe: 'OK', severite: 'INFO', libelle: 'Traitement effectué', action: 'AUCUNE' });
    expect(r.latencyMs).toBeGreaterThan(0);
    const sent = amc.received.find((x) => x.op === 'idb')!;
    expect((sent.payload.enTete as Obj).requestId).toBe(r.requestId);
    expect(r.responseId).toBe('REP-' + r.requestId.slice(0, 8));
    expect(sent.payload.beneficiaire).toMatchObject({ nir: '2850375123456', nom: 'Lefèvre-Dubois', prenom: 'Marie-Hélène' });
  });

  it('uses the annuaire result already on the dossier instead of asking the directory', async () => {
    const annuaire = await client.annuaire(dossier());
    amc.received.length = 0;
    const r = await client.idb(dossier({ annuaire }));
    expect(r.status).toBe('OK');
    expect(amc.received.map((x) => x.op)).toEqual(['idb']);
  });

  it('gives each call a fresh request id', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) ids.add((await client.idb(dossier())).requestId);
    expect(ids.size).toBe(3);
  });

  it('keeps the request id the dossier chose (msg.roc.requestIds): a CLC asked again carries the same IdRequete', async () => {
    const first = await client.clc(dossier({ requestIds: { clc: 'RB-clc-0001' } }));
    const again = await client.clc(dossier({ requestIds: { clc: 'RB-clc-0001' } }));
    expect([first.requestId, again.requestId]).toEqual(['RB-clc-0001', 'RB-clc-0001']);
    const sent = amc.received.filter((x) => x.op === 'clc').map((x) => (x.payload.enTete as { requestId: string }).requestId);
    expect(sent).toEqual(['RB-clc-0001', 'RB-clc-0001']);
    // an id for another service, or one the profile would refuse, is not used
    expect((await client.clc(dossier({ requestIds: { idb: 'RB-idb-0001' } }))).requestId).not.toBe('RB-idb-0001');
    expect((await client.clc(dossier({ requestIds: { clc: 'x'.repeat(65) } }))).requestId).not.toBe('x'.repeat(65));
  });

  it('SIM: simulates the quote (devis first), numbering lines, and maps amounts per line', async () => {
    const devis = {
      numero: '',
      lignes: [
        {
          code: 'CP',
          dateDebut: '2026-03-02',
          dateFin: '2026-03-06',
          quantite: 4,
          prixUnitaire: 75,
          baseAmo: 0,
          tauxAmo: 0,
          montantAmo: 0,
        },
        {
          code: 'FJ',
          dateDebut: '2026-03-02',
          dateFin: '2026-03-06',
          quantite: 4,
          prixUnitaire: 20,
          baseAmo: 0,
          tauxAmo: 0,
          montantAmo: 0,
        },
      ],
    };
    const r = await client.sim(dossier({ devis }));
    expect(r).toMatchObject({
      service: 'sim',
      status: 'OK',
      montants: { totalFacture: 200, totalAmo: 160, totalAmc: 40, resteACharge: 0 },
      lignes: [
        { numero: 1, code: 'CP', montantAmc: 20, montantPatient: 0 },
        { numero: 2, code: 'FJ', montantAmc: 20, montantPatient: 0 },
      ],
    });
    const sent = amc.received.find((x) => x.op === 'sim')!.payload.facture as Obj;
    expect(sent.numero).toBe('SIMULATION');
    expect((sent.lignes as Obj[]).map((l) => l.code)).toEqual(['CP', 'FJ']);
  });

  it('CLC: returns the engagement; DEL cancels the engagement the CLC gave', async () => {
    const clc = await client.clc(dossier());
    expect(clc).toMatchObject({
      service: 'clc',
      status: 'OK',
      engagement: { numero: 'ENG-0775685365-000123', dateValidite: '2026-06-01' },
    });
    expect(clc.lignes).toHaveLength(3);
    const del = await client.del(dossier({ clc }));
    expect(del).toMatchObject({ service: 'del', status: 'OK', engagement: 'ENG-0775685365-000123' });
    const sent = amc.received.find((x) => x.op === 'del')!.payload;
    expect(sent).toMatchObject({ numeroEngagement: 'ENG-0775685365-000123', numeroFacture: 'FAC-2026-000871' });
  });

  it("reports the AMC's own KO as a business KO with the catalogue's GAP action", async () => {
    amc.behave((op, payload) => (op === 'idb' ? koReply('idb', payload, '6002', 'Droits non ouverts à la date des soins') : undefined));
    const r = await client.idb(dossier());
    expect(r).toMatchObject({ status: 'KO', technical: false, reason: 'Droits non ouverts à la date des soins', attempts: 1 });
    expect(r.messages[0]).toMatchObject({ code: '6002', groupe: 'DROITS', action: 'FACTURER_PATIENT' });
    expect(client.breaker.failures('0775685365')).toBe(0);
  });

  it('validation failures make no network call and never echo patient data', async () => {
    const b = dossier().beneficiaire!;
    const r = await client.idb(dossier({ beneficiaire: { ...b, nir: '2850375' }, venue: undefined }));
    expect(r).toMatchObject({ status: 'KO', technical: false, attempts: 0 });
    expect(r.messages.map((m) => m.code)).toEqual(['BR-INVALID', 'BR-MISSING']);
    expect(r.reason).toContain('beneficiaire.nir');
    expect(r.reason).toContain('venue');
    expect(amc.received).toHaveLength(0);
    const text = JSON.stringify(r);
    for (const secret of [...PATIENT, '2850375']) expect(text).not.toContain(secret);
  });

  it('retries IDB once after a technical failure, with a new request id', async () => {
    amc.behave((op) => (op === 'idb' && amc.received.filter((x) => x.op === 'idb').length === 1 ? faultReply() : undefined));
    const r = await client.idb(dossier());
    expect(r).toMatchObject({ status: 'OK', attempts: 2 });
    const ids = amc.received.filter((x) => x.op === 'idb').map((x) => (x.payload.enTete as Obj).requestId);
    expect(ids).toHaveLength(2);
    expect(ids[0]).not.toBe(ids[1]);
    expect(r.requestId).toBe(ids[1]);
  });

  it('gives up on IDB after the one retry, naming both attempts', async () => {
    amc.behave((op) => (op === 'idb' ? { hang: true } : undefined));
    const r = await client.idb(dossier());
    expect(r).toMatchObject({
      status: 'KO',
      technical: true,
      attempts: 2,
      reason: 'délai de réponse de 400 ms dépassé (IDB, AMC 0775685365, 2 tentatives)',
    });
    expect(r.messages[0]).toMatchObject({ code: 'BR-TIMEOUT', groupe: 'TECHNIQUE', action: 'REESSAYER' });
  });

  it('never retries CLC after a read timeout', async () => {
    amc.behave((op) => (op === 'clc' ? { hang: true } : undefined));
    const r = await client.clc(dossier());
    expect(r).toMatchObject({
      status: 'KO',
      technical: true,
      attempts: 1,
      reason: 'délai de réponse de 400 ms dépassé (CLC, AMC 0775685365)',
    });
    expect(count('clc')).toBe(1);
  });

  it('never retries DEL after a SOAP Fault', async () => {
    amc.behave((op) => (op === 'del' ? faultReply('Engagement verrouillé') : undefined));
    const r = await client.del(dossier({ engagement: { numero: 'ENG-0775685365-000123' } }));
    expect(r).toMatchObject({ status: 'KO', technical: true, attempts: 1 });
    expect(r.messages[0].code).toBe('BR-SOAP-FAULT');
    expect(r.reason).toContain('Engagement verrouillé');
    expect(count('del')).toBe(1);
  });

  it('opens the circuit for the AMC after repeated technical failures, then lets one trial through', async () => {
    amc.behave((op) => (op === 'sim' || op === 'clc' ? faultReply() : undefined));
    await client.sim(dossier()); // 2 failures (retry)
    await client.clc(dossier()); // 3rd failure: open
    expect(client.breaker.state('0775685365')).toBe('open');
    const r = await client.idb(dossier());
    expect(r).toMatchObject({ status: 'KO', technical: true, attempts: 0 });
    expect(r.messages[0].code).toBe('BR-CIRCUIT-OPEN');
    expect(r.reason).toMatch(/^service suspendu pour l'AMC 0775685365 après 3 échecs techniques consécutifs/);
    expect(count('idb')).toBe(0); // (the directory was asked again: the failing endpoint was cached)
    t += 30_000;
    amc.behave(undefined);
    expect((await client.idb(dossier())).status).toBe('OK');
    expect(client.breaker.state('0775685365')).toBe('closed');
  });

  it('maps an unknown AMC and an AMC outside ROC to business KOs', async () => {
    amc.behave((op, payload) => {
      if (op !== 'annuaire') return undefined;
      const amcNo = ((payload.enTete as Obj).amc as Obj).numeroAmc;
      const e = { requestId: (payload.enTete as Obj).requestId };
      if (amcNo === '0123456789')
        return { xml: codec.encodeResponse('annuaire', { enTete: e, statut: 'KO', messages: [{ code: '6000', libelle: 'AMC inconnu' }] }) };
      return {
        xml: codec.encodeResponse('annuaire', {
          enTete: e,
          statut: 'OK',
          amc: { numeroAmc: amcNo, nom: 'Caisse Mutualiste des Hautes-Alpes', enRoc: false },
        }),
      };
    });
    const unknown = await client.idb(dossier({ amc: { numeroAmc: '0123456789' } }));
    expect(unknown).toMatchObject({ status: 'KO', technical: false });
    expect(unknown.messages.map((m) => m.code)).toEqual(['BR-AMC-UNKNOWN', '6000']);
    const annuaire = await client.annuaire(dossier({ amc: { numeroAmc: '0050341278' } }));
    expect(annuaire).toMatchObject({ status: 'KO', technical: false, amc: { enRoc: false } });
    expect(annuaire.messages[0].code).toBe('BR-NOT-ROC');
    const idb = await client.idb(dossier({ amc: { numeroAmc: '0050341278' } }));
    expect(idb.messages[0]).toMatchObject({ code: 'BR-NOT-ROC', action: 'FACTURER_PATIENT' });
    expect(count('idb')).toBe(0);
  });

  it('asks the directory again after a technical failure at a cached endpoint', async () => {
    await client.annuaire(dossier());
    amc.behave((op) =>
      op === 'clc' ? { raw: '<html><body>502 Bad Gateway</body></html>', status: 502, contentType: 'text/html' } : undefined,
    );
    const r = await client.clc(dossier());
    expect(r.messages[0].code).toBe('BR-HTTP');
    expect(r.reason).toBe('HTTP 502 : 502 Bad Gateway (CLC, AMC 0775685365)');
    amc.behave(undefined);
    expect((await client.annuaire(dossier())).fromCache).toBe(false);
    expect(count('annuaire')).toBe(2);
  });

  it('serves the last-known-good annuaire entry while the directory is down', async () => {
    await client.annuaire(dossier());
    t += 3_600_000; // entry expired
    amc.behave((op) => (op === 'annuaire' ? { reset: true } : undefined));
    const a = await client.annuaire(dossier());
    expect(a).toMatchObject({ status: 'OK', technical: false, stale: true, fromCache: true, services: { idb: `${amc.base}/idb` } });
    expect(a.reason).toContain('annuaire indisponible');
    const idb = await client.idb(dossier());
    expect(idb.status).toBe('OK');
  });

  it('reports a directory outage with nothing cached as a technical KO', async () => {
    amc.behave((op) => (op === 'annuaire' ? { hang: true } : undefined));
    const r = await client.idb(dossier());
    expect(r).toMatchObject({ status: 'KO', technical: true, endpoint: amc.annuaireUrl });
    expect(r.messages[0].code).toBe('BR-TIMEOUT');
    expect(r.reason).toBe('annuaire : délai de réponse de 400 ms dépassé (IDB, AMC 0775685365)');
  });

  it('shares one directory request between concurrent calls for the same AMC', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => client.idb(dossier())));
    expect(results.every((r) => r.status === 'OK')).toBe(true);
    expect(count('annuaire')).toBe(1);
    expect(count('idb')).toBe(20);
  });

  it('refuses an answer that does not echo the request id', async () => {
    amc.behave((op) =>
      op === 'idb'
        ? { xml: codec.encodeResponse('idb', { enTete: { requestId: 'autre-requete' }, statut: 'OK', messages: [], consignes: [] }) }
        : undefined,
    );
    const r = await client.idb(dossier({ annuaire: undefined }));
    expect(r).toMatchObject({ status: 'KO', technical: true, attempts: 2 });
    expect(r.messages[0].code).toBe('BR-BAD-ANSWER');
    expect(r.reason).toContain('identifiant de requête');
  });

  it('answers KO (never rejects) once closed', async () => {
    client.close();
    const r = await client.idb(dossier());
    expect(r).toMatchObject({ status: 'KO', technical: true });
    expect(r.messages[0].code).toBe('BR-UNREACHABLE');
  });

  it('keeps patient data out of every technical reason', async () => {
    amc.behave((op) => (op === 'idb' ? { raw: 'Erreur interne', status: 503, contentType: 'text/plain' } : undefined));
    const r = await client.idb(dossier());
    expect(r.messages[0].code).toBe('BR-HTTP');
    const text = JSON.stringify(r);
    for (const secret of PATIENT) expect(text).not.toContain(secret);
  });
});

describe('RocClient with an unreachable directory', () => {
  it('answers a technical KO when nothing listens, with the annuaire as endpoint', async () => {
    const client = new RocClient(
      {
        finessJuridique: '750712184',
        finessGeographique: '750100042',
        logiciel: 'GAP Hexagone',
        versionLogiciel: '12.4.1',
        annuaireUrl: 'https://127.0.0.1:1/annuaire',
        connectTimeoutMs: 500,
        readTimeoutMs: 500,
      },
      { retryBackoffMs: 0 },
    );
    try {
      const r: AnnuaireResult = await client.annuaire({ amc: { numeroAmc: '775685365' } } as RocDossier);
      expect(r).toMatchObject({ status: 'KO', technical: true, fromCache: false, stale: false, attempts: 1 });
      expect(r.messages[0].code).toBe('BR-UNREACHABLE');
      expect(r.reason).toBe('connexion refusée par 127.0.0.1:1 (annuaire)');
    } finally {
      client.close();
    }
  });
});
