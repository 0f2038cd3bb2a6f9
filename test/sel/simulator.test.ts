/**
 * RocClient against the real AMC miroir (simulator/server.ts) over HTTPS with mutual TLS: every
 * seeded scenario, TLS failures and every hostile access point.
 */
import { randomUUID } from 'node:crypto';
import { RocClient } from '../../lib/sel/client';
import type { Establishment } from '../../lib/sel/client';
import type { Facture, RocDossier } from '../../lib/model/dossier';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import seed from '../../simulator/seed/amc-seed.json';
import { otherPki, pki } from './helpers';
import type { SeedBeneficiaire } from '../../simulator/seed';

type SeedBen = SeedBeneficiaire & { numeroAdherent: string; amc: { numeroAmc: string; typeConvention: string; csr: string } };
const BENS = seed.beneficiaires as SeedBen[];
const ben = (id: string): SeedBen => BENS.find((b) => b.id === id)!;

function lignes(): Facture['lignes'] {
  return [
    {
      code: 'GHS',
      dateDebut: '2026-03-02',
      dateFin: '2026-03-06',
      quantite: 1,
      prixUnitaire: 3120.45,
      baseAmo: 3120.45,
      tauxAmo: 80,
      montantAmo: 2496.36,
    },
    { code: 'FJ', dateDebut: '2026-03-02', dateFin: '2026-03-06', quantite: 4, prixUnitaire: 20, baseAmo: 0, tauxAmo: 0, montantAmo: 0 },
    { code: 'CP', dateDebut: '2026-03-02', dateFin: '2026-03-06', quantite: 4, prixUnitaire: 75, baseAmo: 0, tauxAmo: 0, montantAmo: 0 },
  ];
}

function fromSeed(id: string, over: Partial<RocDossier> = {}): RocDossier {
  const b = ben(id);
  return {
    amc: { ...b.amc },
    beneficiaire: {
      nir: b.nir,
      cleNir: b.cleNir,
      dateNaissance: b.dateNaissance,
      rangNaissance: b.rangNaissance,
      nom: b.nom,
      prenom: b.prenom,
      numeroAdherent: b.numeroAdherent,
    },
    attestation: {
      numeroAmc: b.amc.numeroAmc,
      typesConvention: [b.amc.typeConvention],
      csr: b.amc.csr,
      numeroAdherent: b.numeroAdherent,
      ...b.attestation,
    },
    venue: { type: 'HOSPITALISATION', dateEntree: '2026-03-02', dateSortie: '2026-03-06', numeroDossier: `NDA26${id}` },
    facture: { numero: `FAC-2026-${id}-${randomUUID().slice(0, 8)}`, dateFacture: '2026-03-07', lignes: lignes() },
    ...over,
  };
}

function establishmentFor(sim: RunningSimulator, over: Partial<Establishment> = {}): Establishment {
  const p = pki();
  return {
    finessJuridique: '750712184',
    finessGeographique: '750100042',
    logiciel: 'GAP Hexagone',
    versionLogiciel: '12.4.1',
    annuaireUrl: sim.annuaireUrl,
    connectTimeoutMs: 2000,
    readTimeoutMs: 600,
    tls: { pfx: Buffer.from(p.clientP12Base64, 'base64'), passphrase: p.p12Passphrase, ca: p.caCert },
    ...over,
  };
}

describe('RocClient against the AMC miroir (HTTPS + mutual TLS)', () => {
  let sim: RunningSimulator;
  let client: RocClient;

  beforeAll(async () => {
    const p = pki();
    sim = await startSimulator({
      tls: { key: p.serverKey, cert: p.serverCert, ca: p.caCert, requestCert: true },
      hangMs: 5000,
      slowMs: 100,
    });
    client = new RocClient(establishmentFor(sim), { retryBackoffMs: 20 });
  });
  afterAll(async () => {
    client.close();
    await sim.close();
  });

  describe('IDB outcome of every seeded scenario', () => {
    const cases: [string, string, 'OK' | string][] = [
      ['B01', 'droits-ok', 'OK'],
      ['B02', 'droits-ok-adherent', 'OK'],
      ['B04', 'beneficiaire-inconnu', '6001'],
      ['B05', 'droits-fermes', '6002'],
      ['B06', 'non-eligible', '6003'],
      ['B07', 'priorite-garantie', '6006'],
      ['B08', 'verifier-attestation', '6008'],
      ['B09', 'incident-technique', '0999'],
      ['B11', 'reponse-lente', 'OK'],
      ['B12', 'couverture-partielle', 'OK'],
      ['B13', 'chambre-plafond', 'OK'],
      ['B14', 'consigne-facture-papier', 'OK'],
      ['B15', 'consigne-accord-prealable', 'OK'],
      ['B16', 'operateur-csr', 'OK'],
      ['B17', 'direct-csr', 'OK'],
      ['B20', 'ayant-droit', 'OK'],
      ['B21', 'jumeaux-rang', 'OK'],
      ['B22', 'jumeaux-rang', 'OK'],
      ['B23', 'assure-ouvrant-droit', 'OK'],
      ['B24', 'nir-corse', 'OK'],
    ];
    it.each(cases)('%s (%s) → %s', async (id, scenario, expected) => {
      expect(ben(id).scenario).toBe(scenario);
      const r = await client.idb(fromSeed(id));
      if (expected === 'OK') {
        expect(r).toMatchObject({ status: 'OK', technical: false, attempts: 1 });
        expect(r.couverture?.periodes.length).toBeGreaterThan(0);
        expect(r.dateValidite).toMatch(/^2026-/);
      } else {
        expect(r).toMatchObject({ status: 'KO', technical: false, attempts: 1 });
        expect(r.messages[0].code).toBe(expected);
        expect(r.reason).toBe(r.messages[0].libelle);
      }
      expect(r.responseId).toBeTruthy();
    });

    it('B03 (adherent-obligatoire): KO 6005 when the member number is not sent', async () => {
      const d = fromSeed('B03');
      delete d.beneficiaire!.numeroAdherent;
      delete d.attestation!.numeroAdherent;
      const r = await client.idb(d);
      expect(r.messages[0]).toMatchObject({ code: '6005', action: 'CORRIGER' });
    });

    it('B10 (delai-depasse): gives up on its read timeout, retries once, and says so', async () => {
      const r = await client.idb(fromSeed('B10'));
      expect(r).toMatchObject({ status: 'KO', technical: true, attempts: 2 });
      expect(r.messages[0]).toMatchObject({ code: 'BR-TIMEOUT', action: 'REESSAYER' });
      expect(r.reason).toBe('délai de réponse de 600 ms dépassé (IDB, AMC 0775685365, 2 tentatives)');
    });

    it('B14 / B15 carry the AMC instructions', async () => {
      expect((await client.idb(fromSeed('B14'))).consignes.map((c) => c.code)).toEqual(['FACT_PAPIER']);
      expect((await client.idb(fromSeed('B15'))).consignes.map((c) => c.code)).toEqual(['ACCORD_PREALABLE']);
    });

    it('B16 / B17: the CSR routes the same AMC to the operator or to the mutuelle itself', async () => {
      const viaOperator = await client.idb(fromSeed('B16'));
      const direct = await client.idb(fromSeed('B17'));
      expect(viaOperator.endpoint).toBe(`${sim.url}/sel/tpso/idb`);
      expect(direct.endpoint).toBe(`${sim.url}/sel/rail/idb`);
    });

    it('B18 (amc-directe-ace): an external consultation is covered', async () => {
      const d = fromSeed('B18', { venue: { type: 'ACE', dateEntree: '2026-03-02' } });
      expect((await client.idb(d)).status).toBe('OK');
    });

    it('B19 (amc-hors-roc): KO BR-NOT-ROC, no service call', async () => {
      const before = sim.stats().idb;
      const r = await client.idb(fromSeed('B19'));
      expect(r).toMatchObject({ status: 'KO', technical: false });
      expect(r.messages[0]).toMatchObject({ code: 'BR-NOT-ROC', action: 'FACTURER_PATIENT' });
      expect(sim.stats().idb).toBe(before);
    });
  });

  describe('annuaire', () => {
    it('an AMC absent from the directory is KO BR-AMC-UNKNOWN (6010), not technical', async () => {
      const r = await client.annuaire({ amc: { numeroAmc: '0312987654', typeConvention: 'MU' } });
      expect(r).toMatchObject({ status: 'KO', technical: false, stale: false });
      expect(r.messages.map((m) => m.code)).toEqual(['BR-AMC-UNKNOWN', '6010']);
    });

    it('an AMC outside ROC is KO BR-NOT-ROC with the AMC named', async () => {
      const r = await client.annuaire({ amc: { numeroAmc: '50341278', typeConvention: 'MU' } });
      expect(r).toMatchObject({
        status: 'KO',
        technical: false,
        amc: { numeroAmc: '0050341278', nom: 'Caisse Mutualiste des Hautes-Alpes', enRoc: false },
      });
      expect(r.messages[0].code).toBe('BR-NOT-ROC');
    });

    it('caches the answer for DureeValiditeSecondes', async () => {
      const first = await client.annuaire({ amc: { numeroAmc: '0672145609', typeConvention: 'MU' } });
      const again = await client.annuaire({ amc: { numeroAmc: '0672145609', typeConvention: 'MU' } });
      expect(first.status).toBe('OK');
      expect(again).toMatchObject({ fromCache: true, services: first.services });
    });
  });

  describe('SIM, CLC, DEL', () => {
    it('SIM B01: private room above the 60 €/day ceiling is left to the patient', async () => {
      const r = await client.sim(fromSeed('B01'));
      expect(r.status).toBe('OK');
      const cp = r.lignes.find((l) => l.code === 'CP')!;
      expect(cp).toEqual({ numero: 3, code: 'CP', montantAmc: 240, montantPatient: 60 });
      expect(r.montants).toMatchObject({ totalFacture: 3500.45, totalAmo: 2496.36 });
      expect(r.montants!.totalAmc + r.montants!.resteACharge + r.montants!.totalAmo).toBeCloseTo(3500.45, 2);
    });

    it('SIM B13: ceiling 45 €/day; B12: half of the ticket modérateur', async () => {
      const b13 = await client.sim(fromSeed('B13'));
      expect(b13.lignes.find((l) => l.code === 'CP')).toMatchObject({ montantAmc: 180, montantPatient: 120 });
      const b12 = await client.sim(fromSeed('B12'));
      expect(b12.lignes.find((l) => l.code === 'GHS')).toMatchObject({ montantAmc: 312.05 });
      expect(b12.montants!.resteACharge).toBeGreaterThan(0);
    });

    it('CLC gives an engagement, is idempotent per invoice, and DEL cancels it once', async () => {
      const d = fromSeed('B02');
      const clc = await client.clc(d);
      expect(clc).toMatchObject({ status: 'OK', technical: false, attempts: 1 });
      expect(clc.engagement?.numero).toBeTruthy();
      expect(clc.engagement?.dateValidite).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      const again = await client.clc(d);
      expect(again.engagement?.numero).toBe(clc.engagement!.numero);
      expect(sim.engagements().filter((e) => e.numero === clc.engagement!.numero)).toHaveLength(1);

      const del = await client.del({ ...d, clc });
      expect(del).toMatchObject({ status: 'OK', engagement: clc.engagement!.numero });
      const twice = await client.del({ ...d, clc });
      expect(twice).toMatchObject({ status: 'KO', technical: false });
      expect(twice.messages[0].code).toBe('6021');
    });

    it('DEL of an engagement already invoiced is refused by the AMC (6022)', async () => {
      const d = fromSeed('B23');
      const clc = await client.clc(d);
      expect(sim.markInvoiced(clc.engagement!.numero)).toBe(true);
      const del = await client.del({ ...d, clc });
      expect(del).toMatchObject({ status: 'KO', technical: false });
      expect(del.messages[0]).toMatchObject({ code: '6022', groupe: 'CONTROLE' });
    });

    it('CLC of the same invoice with other lines is refused (6023)', async () => {
      const d = fromSeed('B21');
      expect((await client.clc(d)).status).toBe('OK');
      const changed = { ...d, facture: { ...d.facture!, lignes: d.facture!.lignes.slice(0, 2) } };
      const r = await client.clc(changed);
      expect(r.messages[0].code).toBe('6023');
    });
  });

  describe('hostile AMCs: KO technical with the right code, and the process carries on', () => {
    const hostile: [string, string, string][] = [
      ['0990000001', 'entities', 'BR-BAD-ANSWER'],
      ['0990000002', 'huge', 'BR-BAD-ANSWER'],
      ['0990000003', 'wrong-namespace', 'BR-BAD-ANSWER'],
      ['0990000004', 'soap11', 'BR-BAD-ANSWER'],
      ['0990000005', 'html-500', 'BR-HTTP'],
      ['0990000006', 'reset', 'BR-UNREACHABLE'],
      ['0990000007', 'truncated', 'BR-BAD-ANSWER'],
      ['0990000008', 'fault', 'BR-SOAP-FAULT'],
      ['0990000009', 'not-xml', 'BR-BAD-ANSWER'],
    ];
    it.each(hostile)('AMC %s (%s) → %s', async (numeroAmc, mode, code) => {
      expect(seed.amcs.find((a) => a.numeroAmc === numeroAmc)?.hostile).toBe(mode);
      const d = fromSeed('B01', { amc: { numeroAmc, typeConvention: 'MU' }, attestation: undefined });
      const r = await client.clc(d);
      expect(r).toMatchObject({ status: 'KO', technical: true, attempts: 1 });
      expect(r.messages[0].code).toBe(code);
      expect(r.reason).toContain(`(CLC, AMC ${numeroAmc})`);
      expect(JSON.stringify(r)).not.toContain(ben('B01').nir);
    });

    it('HTML 500 keeps the status and a short plain excerpt; a SOAP Fault keeps its reason', async () => {
      const html = await client.idb(fromSeed('B01', { amc: { numeroAmc: '0990000005' }, attestation: undefined }));
      expect(html.reason).toMatch(/^HTTP 500 : 500 Internal Server Error Internal Server Error The server encountered/);
      expect(html.reason).not.toContain('<');
      const fault = await client.idb(fromSeed('B01', { amc: { numeroAmc: '0990000008' }, attestation: undefined }));
      expect(fault.reason).toContain("Service momentanément indisponible (maintenance de l'organisme)");
      expect(fault.attempts).toBe(2); // IDB is retried once
    });

    it('a 50 MB answer is cut at the size limit', async () => {
      const r = await client.sim(fromSeed('B01', { amc: { numeroAmc: '0990000002' }, attestation: undefined }));
      expect(r.reason).toContain('réponse de plus de 1048576 octets refusée');
    });

    it('after every hostile answer, a normal dossier still goes through', async () => {
      const r = await client.clc(fromSeed('B01'));
      expect(r.status).toBe('OK');
      expect(client.breaker.state('0775685365')).toBe('closed');
    });
  });

  describe('TLS failures', () => {
    it('server certificate from an unknown CA → KO BR-TLS', async () => {
      const other = otherPki();
      // PEM client certificate: with a PKCS#12, Node also trusts the CA certificates inside it.
      const c = new RocClient(establishmentFor(sim, { tls: { cert: pki().clientCert, key: pki().clientKey, ca: other.caCert } }));
      try {
        const r = await c.annuaire(fromSeed('B01'));
        expect(r).toMatchObject({ status: 'KO', technical: true });
        expect(r.messages[0]).toMatchObject({ code: 'BR-TLS', action: 'REESSAYER' });
        expect(r.reason).toMatch(/^échec TLS avec 127\.0\.0\.1:\d+ : .+ \(annuaire\)$/);
      } finally {
        c.close();
      }
    });

    it('no client certificate → KO BR-TLS', async () => {
      const c = new RocClient(establishmentFor(sim, { tls: { ca: pki().caCert } }));
      try {
        const r = await c.idb(fromSeed('B01'));
        expect(r).toMatchObject({ status: 'KO', technical: true });
        expect(r.messages[0].code).toBe('BR-TLS');
        expect(r.reason).toMatch(/^annuaire : échec TLS/);
      } finally {
        c.close();
      }
    });

    it('client certificate from another CA → KO technical naming the certificate as a possible cause', async () => {
      const other = otherPki();
      const c = new RocClient(establishmentFor(sim, { tls: { cert: other.clientCert, key: other.clientKey, ca: pki().caCert } }));
      try {
        const r = await c.annuaire(fromSeed('B01'));
        expect(r).toMatchObject({ status: 'KO', technical: true });
        expect(r.reason).toContain('certificat client refusé');
      } finally {
        c.close();
      }
    });
  });
});
