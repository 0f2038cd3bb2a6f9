/**
 * The AMC miroir over real HTTPS with mutual TLS: every seeded scenario gives its documented
 * outcome, duplicates are replayed, CLC is idempotent per invoice, DEL refuses what it must,
 * bad requests get SOAP faults, and a client without a certificate is turned away.
 */
import https from 'node:https';
import { codec } from '../../lib/sel/codec';
import type { SoapError } from '../../lib/sel/soap';
import { generateTestPki } from '../../lib/security/pki';
import type { RunningSimulator } from '../../simulator/server';
import {
  annuaireRequest,
  ben,
  Client,
  delRequest,
  endpointOf,
  LIGNES_SEJOUR,
  payloadFor,
  requestFor,
  SEED,
  startMtlsSimulator,
  testPki,
} from './support';

// Decoded SOAP payloads are read freely in assertions.
type Obj = Record<string, any>;

let sim: RunningSimulator;
let client: Client;

beforeAll(async () => {
  sim = await startMtlsSimulator({ slowMs: 100 });
  client = new Client();
});

afterAll(async () => {
  client.destroy();
  await sim.close();
});

async function call(op: 'idb' | 'sim' | 'clc', id: string, o: Parameters<typeof requestFor>[2] = {}): Promise<Obj> {
  const b = ben(id);
  const url = await endpointOf(client, sim, o.amc ?? b.amc, op);
  const r = await client.soap(url, requestFor(op, b, o));
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toBe('application/soap+xml; charset=utf-8');
  return codec.decodeResponse(op, r.body);
}

function codes(a: Obj): string[] {
  return (a.messages ?? []).map((m: Obj) => m.code);
}

describe('annuaire', () => {
  test('an AMC behind the operator gets the operator’s access points, absolute on the simulator', async () => {
    const r = await client.soap(sim.annuaireUrl, annuaireRequest('0775685365', 'MU'));
    const a = codec.decodeResponse('annuaire', r.body) as Obj;
    expect(a.statut).toBe('OK');
    expect(a.amc).toEqual({ numeroAmc: '0775685365', nom: 'Mutuelle des Cévennes', operateur: 'Tiers Payant Sud Opérateur', enRoc: true });
    expect(a.services).toEqual(['idb', 'sim', 'clc', 'del'].map((s) => ({ service: s, url: `${sim.url}/sel/tpso/${s}` })));
    expect(a.dureeValidite).toBe(3600);
  });

  test('a number given without its leading zeros is found', async () => {
    const r = await client.soap(sim.annuaireUrl, annuaireRequest('775685365'));
    expect((codec.decodeResponse('annuaire', r.body) as Obj).amc.numeroAmc).toBe('0775685365');
  });

  test('the CSR routes the Mutuelle Générale du Rail: RAIL → operator, otherwise its own access point', async () => {
    const viaOp = codec.decodeResponse(
      'annuaire',
      (await client.soap(sim.annuaireUrl, annuaireRequest('0633014527', 'SP', 'RAIL'))).body,
    ) as Obj;
    expect(viaOp.services[0].url).toBe(`${sim.url}/sel/tpso/idb`);
    expect(viaOp.amc.operateur).toBe('Tiers Payant Sud Opérateur');
    const direct = codec.decodeResponse('annuaire', (await client.soap(sim.annuaireUrl, annuaireRequest('0633014527', 'MU'))).body) as Obj;
    expect(direct.services[0].url).toBe(`${sim.url}/sel/rail/idb`);
    expect(direct.amc.operateur).toBeUndefined();
  });

  test('an AMC outside ROC: EnROC=false and no access point', async () => {
    const a = codec.decodeResponse('annuaire', (await client.soap(sim.annuaireUrl, annuaireRequest('0050341278', 'MU'))).body) as Obj;
    expect(a.statut).toBe('OK');
    expect(a.amc.enRoc).toBe(false);
    expect(a.amc.nom).toBe('Caisse Mutualiste des Hautes-Alpes');
    expect(a.services).toEqual([]);
  });

  test('a number absent from the directory: KO 6010 with a label', async () => {
    expect(SEED.unknownNumbers).toContain('0312987654');
    const a = codec.decodeResponse('annuaire', (await client.soap(sim.annuaireUrl, annuaireRequest('0312987654', 'MU'))).body) as Obj;
    expect(a.statut).toBe('KO');
    expect(a.messages[0]).toMatchObject({ code: '6010', groupe: 'CONTROLE', libelle: "Organisme complémentaire inconnu de l'annuaire" });
    expect(a.amc).toBeUndefined();
  });

  test('a convention type the AMC does not use: KO 6011', async () => {
    const a = codec.decodeResponse('annuaire', (await client.soap(sim.annuaireUrl, annuaireRequest('0775685365', 'IS'))).body) as Obj;
    expect(a.statut).toBe('KO');
    expect(codes(a)).toEqual(['6011']);
  });

  test('the directory also answers on /sel/annuaire (the WSDL address)', async () => {
    const r = await client.soap(`${sim.url}/sel/annuaire`, annuaireRequest('0672145609'));
    expect((codec.decodeResponse('annuaire', r.body) as Obj).services[0].url).toBe(`${sim.url}/sel/mals/idb`);
  });
});

describe('IDB: one outcome per seeded scenario', () => {
  const KO: [string, string, string, Parameters<typeof requestFor>[2]][] = [
    ['B03', 'adherent-obligatoire', '6005', { withoutAdherent: true }],
    ['B04', 'beneficiaire-inconnu', '6001', {}],
    ['B05', 'droits-fermes', '6002', {}],
    ['B06', 'non-eligible', '6003', {}],
    ['B07', 'priorite-garantie', '6006', {}],
    ['B08', 'verifier-attestation', '6008', {}],
    ['B09', 'incident-technique', '0999', {}],
  ];
  test.each(KO)('%s (%s) → KO %s', async (id, scenario, code, o) => {
    expect(ben(id).scenario).toBe(scenario);
    const a = await call('idb', id, o);
    expect(a.statut).toBe('KO');
    expect(codes(a)).toEqual([code]);
    expect(a.messages[0].libelle).toMatch(/\S/);
    expect(a.couverture).toBeUndefined();
  });

  test('B01 droits-ok: OK with the contract, periods, domains and a validity date 30 days after entry', async () => {
    const a = await call('idb', 'B01');
    expect(a.statut).toBe('OK');
    expect(codes(a)).toEqual(['0000']);
    expect(a.couverture).toEqual({
      numeroContrat: 'CEV-HOSPI100-2026',
      periodes: [{ debut: '2025-01-01', fin: '2025-12-31' }, { debut: '2026-01-01' }],
      domaines: ['HOSPITALISATION', 'ACE', 'FORFAIT_JOURNALIER', 'CHAMBRE_PARTICULIERE', 'ACCOMPAGNANT'],
    });
    expect(a.consignes).toEqual([]);
    expect(a.dateValidite).toBe('2026-04-08');
    expect(a.enTete.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('B02 droits-ok-adherent: OK when the required member number is given (leading zeros or not)', async () => {
    expect((await call('idb', 'B02')).statut).toBe('OK');
    const b = ben('B02');
    const url = await endpointOf(client, sim, b.amc, 'idb');
    const p = payloadFor('idb', b) as Obj;
    p.beneficiaire.numeroAdherent = '417852';
    p.attestation.numeroAdherent = '417852';
    expect((codec.decodeResponse('idb', (await client.soap(url, codec.encodeRequest('idb', p))).body) as Obj).statut).toBe('OK');
  });

  test('a member number different from the AMC’s: KO 6008 (check the paper card)', async () => {
    const b = ben('B02');
    const p = payloadFor('idb', b) as Obj;
    p.beneficiaire.numeroAdherent = '000417999';
    p.attestation.numeroAdherent = '000417999';
    const a = codec.decodeResponse(
      'idb',
      (await client.soap(await endpointOf(client, sim, b.amc, 'idb'), codec.encodeRequest('idb', p))).body,
    ) as Obj;
    expect(codes(a)).toEqual(['6008']);
  });

  test('B06 non-eligible is eligible for an outpatient visit (ACE), not for a stay', async () => {
    const a = await call('idb', 'B06', { venue: { type: 'ACE', dateEntree: '2026-03-09' } });
    expect(a.statut).toBe('OK');
  });

  test('a stay before the contract’s start: KO 6002', async () => {
    const a = await call('idb', 'B12', { venue: { type: 'HOSPITALISATION', dateEntree: '2025-12-30' } });
    expect(codes(a)).toEqual(['6002']);
  });

  test('the IDB validity stops at the end of the rights period', async () => {
    const a = await call('idb', 'B02', { venue: { type: 'HOSPITALISATION', dateEntree: '2026-12-20' } });
    expect(a.dateValidite).toBe('2026-12-31');
  });

  test('a wrong NIR key: KO 6000 naming the key', async () => {
    const b = ben('B01');
    const p = payloadFor('idb', b) as Obj;
    p.beneficiaire.cleNir = '45';
    const a = codec.decodeResponse(
      'idb',
      (await client.soap(await endpointOf(client, sim, b.amc, 'idb'), codec.encodeRequest('idb', p))).body,
    ) as Obj;
    expect(a.messages[0]).toMatchObject({ code: '6000', libelle: 'Paramètres de recherche incorrects : clé du NIR erronée' });
  });

  test('B14 / B15: OK with the AMC’s consigne', async () => {
    const papier = await call('idb', 'B14');
    expect(papier.statut).toBe('OK');
    expect(papier.consignes).toEqual([
      { code: 'FACT_PAPIER', libelle: 'Facture papier exigée : adresser la facture et le bulletin de situation par courrier' },
    ]);
    const accord = await call('idb', 'B15');
    expect(accord.consignes.map((c: Obj) => c.code)).toEqual(['ACCORD_PREALABLE']);
  });

  test('B16 / B17: same AMC through the operator (CSR RAIL) and through its own access point', async () => {
    const viaOp = await call('idb', 'B16');
    expect(viaOp.statut).toBe('OK');
    expect(viaOp.couverture.numeroContrat).toBe('MGR-AG-2026-0042');
    expect((await call('idb', 'B17')).statut).toBe('OK');
  });

  test('B18 and B13: an AMC with its own access point', async () => {
    expect((await call('idb', 'B18')).statut).toBe('OK');
    expect((await call('idb', 'B13')).couverture.numeroContrat).toBe('MALS-CONFORT-57-2026');
  });

  test('B19 amc-hors-roc: no access point in the directory; the generic access point answers 6012', async () => {
    const b = ben('B19');
    const a = codec.decodeResponse('annuaire', (await client.soap(sim.annuaireUrl, annuaireRequest(b.amc.numeroAmc, 'MU'))).body) as Obj;
    expect(a.amc.enRoc).toBe(false);
    const r = await client.soap(`${sim.url}/sel/idb`, requestFor('idb', b));
    expect(codes(codec.decodeResponse('idb', r.body) as Obj)).toEqual(['6012']);
  });

  test('an AMC sent to an access point that does not serve it: KO 6012', async () => {
    const r = await client.soap(`${sim.url}/sel/mals/idb`, requestFor('idb', ben('B01')));
    expect(codes(codec.decodeResponse('idb', r.body) as Obj)).toEqual(['6012']);
  });

  test('B20 ayant-droit: the child on the insured parent’s NIR is told apart by birth date', async () => {
    expect(ben('B20').nir).toBe(ben('B02').nir);
    const child = await call('idb', 'B20');
    expect(child.statut).toBe('OK');
    const b = { ...ben('B20'), dateNaissance: '2012-05-31' };
    const r = await client.soap(await endpointOf(client, sim, b.amc, 'idb'), requestFor('idb', b));
    expect(codes(codec.decodeResponse('idb', r.body) as Obj)).toEqual(['6001']);
  });

  test('B21 / B22 jumeaux-rang: the birth rank picks the twin (and her contract)', async () => {
    expect((await call('idb', 'B21')).couverture.numeroContrat).toBe('CEV-HOSPI100-2026');
    expect((await call('idb', 'B22')).couverture.numeroContrat).toBe('CEV-ECO50-2026');
    expect((await call('idb', 'B23')).statut).toBe('OK');
  });

  test('B11 reponse-lente: the answer comes (after slowMs) and is OK', async () => {
    expect((await call('idb', 'B11')).statut).toBe('OK');
  });

  test('B24 nir-corse: a NIR born in Corse-du-Sud (2A) is found, its key checked with the 2A rule', async () => {
    const a = await call('idb', 'B24');
    expect(a.statut).toBe('OK');
    const b = { ...ben('B24'), cleNir: '47' };
    const r = await client.soap(`${sim.url}/sel/tpso/idb`, requestFor('idb', b));
    expect(codes(codec.decodeResponse('idb', r.body) as Obj)).toEqual(['6000']);
  });
});

describe('SIM and CLC amounts', () => {
  function totals(a: Obj) {
    return { montants: a.montants, lignes: a.lignes.map((l: Obj) => [l.code, l.montantAmc, l.montantPatient]) };
  }

  test('B01 full TM: GHS TM 690,48 €, FJ 100 €, private room capped at 60 €/day, TV not covered', async () => {
    const a = await call('sim', 'B01');
    expect(a.statut).toBe('OK');
    expect(totals(a)).toEqual({
      montants: { totalFacture: 3868.4, totalAmo: 2761.92, totalAmc: 1030.48, resteACharge: 76 },
      lignes: [
        ['GHS', 690.48, 0],
        ['FJ', 100, 0],
        ['CP', 240, 60],
        ['TV', 0, 16],
      ],
    });
    expect(a.consignes).toEqual([]);
  });

  test('B02 droits-ok-adherent: private room capped at 30 €/day by Atlantique Essentiel', async () => {
    const a = await call('sim', 'B02');
    expect(a.montants.totalAmc).toBe(910.48);
    expect(totals(a).lignes[2]).toEqual(['CP', 120, 180]);
  });

  test('B12 couverture-partielle: 50 % of the TM and 10 €/day of FJ', async () => {
    const a = await call('sim', 'B12');
    expect(totals(a)).toEqual({
      montants: { totalFacture: 3868.4, totalAmo: 2761.92, totalAmc: 395.24, resteACharge: 711.24 },
      lignes: [
        ['GHS', 345.24, 345.24],
        ['FJ', 50, 50],
        ['CP', 0, 300],
        ['TV', 0, 16],
      ],
    });
  });

  test('B13 chambre-plafond: 75 €/day private room capped at 45 €/day, TV 3 €/day', async () => {
    const a = await call('clc', 'B13', { numeroFacture: 'F-MALS-0001' });
    expect(totals(a).lignes).toEqual([
      ['GHS', 690.48, 0],
      ['FJ', 100, 0],
      ['CP', 180, 120],
      ['TV', 12, 4],
    ]);
    expect(a.montants.totalAmc).toBe(982.48);
  });

  test('B18 amc-directe-ace: specialist visit 60 € (base 30 €, AMO 21 €) at 150 % BR including AMO → 24 €', async () => {
    const a = await call('sim', 'B18', {
      venue: { type: 'ACE', dateEntree: '2026-03-09' },
      lignes: [
        { numero: 1, code: 'ACE', dateDebut: '2026-03-09', quantite: 1, prixUnitaire: 60, baseAmo: 30, tauxAmo: 70, montantAmo: 21 },
      ],
    });
    expect(totals(a)).toEqual({ montants: { totalFacture: 60, totalAmo: 21, totalAmc: 24, resteACharge: 15 }, lignes: [['ACE', 24, 15]] });
  });

  test('lines dated outside the rights period are not covered', async () => {
    const a = await call('sim', 'B02', {
      venue: { type: 'HOSPITALISATION', dateEntree: '2026-12-30', dateSortie: '2027-01-02' },
      lignes: [
        { numero: 1, code: 'FJ', dateDebut: '2026-12-30', quantite: 2, prixUnitaire: 20, baseAmo: 0, tauxAmo: 0, montantAmo: 0 },
        { numero: 2, code: 'FJ', dateDebut: '2027-01-01', quantite: 2, prixUnitaire: 20, baseAmo: 0, tauxAmo: 0, montantAmo: 0 },
      ],
    });
    expect(a.lignes.map((l: Obj) => l.montantAmc)).toEqual([40, 0]);
  });

  test('SIM for a KO scenario carries no amounts', async () => {
    const a = await call('sim', 'B05');
    expect(a.statut).toBe('KO');
    expect(codes(a)).toEqual(['6002']);
    expect(a.montants).toBeUndefined();
    expect(a.lignes).toEqual([]);
  });

  test('a line with an unknown prestation code or a negative quantity: KO 6000 naming the line', async () => {
    const bad = await call('sim', 'B01', { lignes: [{ ...LIGNES_SEJOUR[0] }, { ...LIGNES_SEJOUR[1], numero: 2, code: 'XYZ' }] });
    expect(bad.messages[0]).toMatchObject({ code: '6000', libelle: 'Paramètres incorrects : ligne 2 : code prestation « XYZ » inconnu' });
    const neg = await call('sim', 'B01', { lignes: [{ ...LIGNES_SEJOUR[1], quantite: -5 }] });
    expect(neg.messages[0].libelle).toBe('Paramètres incorrects : ligne 2 : quantité nulle ou négative');
  });
});

describe('duplicates, engagements and cancellation', () => {
  test('the same IdRequete replays the same answer byte for byte, for every service', async () => {
    const b = ben('B01');
    const before = sim.stats().duplicates;
    for (const op of ['idb', 'sim'] as const) {
      const xml = requestFor(op, b, { requestId: `dup-${op}-0001` });
      const url = `${sim.url}/sel/tpso/${op}`;
      const r1 = await client.soap(url, xml);
      const r2 = await client.soap(url, xml);
      expect(r2.body).toBe(r1.body);
    }
    const ann = annuaireRequest('0775685365', 'MU', undefined, 'dup-annuaire-0001');
    expect((await client.soap(sim.annuaireUrl, ann)).body).toBe((await client.soap(sim.annuaireUrl, ann)).body);
    expect(sim.stats().duplicates - before).toBe(3);
  });

  test('CLC: engagement number, replay by IdRequete, same engagement for the same invoice, 6023 for changed lines', async () => {
    const b = ben('B01');
    const url = `${sim.url}/sel/tpso/clc`;
    const xml = requestFor('clc', b, { numeroFacture: 'F2600009001', requestId: 'clc-9001-a' });
    const first = codec.decodeResponse('clc', (await client.soap(url, xml)).body) as Obj;
    expect(first.statut).toBe('OK');
    expect(first.numeroEngagement).toMatch(/^E5365\d{6}[A-Z0-9]{2}\d{7}$/);
    expect(first.montants.totalAmc).toBe(1030.48);
    expect(first.dateValiditeEngagement).toMatch(/^\d{4}-\d{2}-\d{2}$/);

    const replay = codec.decodeResponse('clc', (await client.soap(url, xml)).body) as Obj;
    expect(replay).toEqual(first);

    const again = codec.decodeResponse(
      'clc',
      (await client.soap(url, requestFor('clc', b, { numeroFacture: 'F2600009001', requestId: 'clc-9001-b' }))).body,
    ) as Obj;
    expect(again.numeroEngagement).toBe(first.numeroEngagement);
    expect(again.enTete.requestId).toBe('clc-9001-b');

    const changed = codec.decodeResponse(
      'clc',
      (
        await client.soap(
          url,
          requestFor('clc', b, { numeroFacture: 'F2600009001', requestId: 'clc-9001-c', lignes: LIGNES_SEJOUR.slice(0, 2) }),
        )
      ).body,
    ) as Obj;
    expect(changed.statut).toBe('KO');
    expect(codes(changed)).toEqual(['6023']);
    expect(sim.engagements().filter((e) => e.numeroFacture === 'F2600009001')).toHaveLength(1);
    expect(sim.engagements().find((e) => e.numero === first.numeroEngagement)).toMatchObject({
      numeroAmc: '0775685365',
      pointAcces: 'tpso',
      finessGeographique: '750100042',
      numeroFacture: 'F2600009001',
      montantAmc: 1030.48,
      etat: 'ACTIF',
    });
  });

  test('DEL: cancels once; unknown, already cancelled and already invoiced engagements are refused', async () => {
    const b = ben('B12');
    const clc = async (facture: string) =>
      (
        codec.decodeResponse(
          'clc',
          (await client.soap(`${sim.url}/sel/tpso/clc`, requestFor('clc', b, { numeroFacture: facture }))).body,
        ) as Obj
      ).numeroEngagement as string;
    const del = async (numero: string, o: { requestId?: string; numeroFacture?: string; url?: string } = {}) =>
      codec.decodeResponse('del', (await client.soap(o.url ?? `${sim.url}/sel/tpso/del`, delRequest(b.amc, numero, o))).body) as Obj;

    const e1 = await clc('F2600009101');
    const ok = await del(e1, { requestId: 'del-9101-a' });
    expect(ok).toMatchObject({ statut: 'OK', numeroEngagement: e1 });
    expect(sim.engagements().find((e) => e.numero === e1)?.etat).toBe('ANNULE');
    // Replayed DEL (same IdRequete): same OK answer; a new DEL: already cancelled.
    expect((await del(e1, { requestId: 'del-9101-a' })).statut).toBe('OK');
    const twice = await del(e1);
    expect(codes(twice)).toEqual(['6021']);
    expect(twice.messages[0].libelle).toBe('Engagement déjà annulé');

    // After cancellation, a new CLC for the invoice gives a new engagement.
    const e2 = await clc('F2600009101');
    expect(e2).not.toBe(e1);

    expect(codes(await del('E0775685365202603140000000000'))).toEqual(['6020']);
    expect(codes(await del(e2, { numeroFacture: 'F-AUTRE' }))).toEqual(['6020']);
    expect(codes(await del(e2, { url: `${sim.url}/sel/mals/del` }))).toEqual(['6020']);

    expect(sim.markInvoiced(e2)).toBe(true);
    expect(sim.markInvoiced(e2)).toBe(false);
    const invoiced = await del(e2);
    expect(codes(invoiced)).toEqual(['6022']);
    expect(invoiced.messages[0].libelle).toBe('Engagement déjà facturé : annulation impossible');
  });
});

describe('bad requests, paths and methods', () => {
  const url = () => `${sim.url}/sel/tpso/idb`;
  async function faultOf(body: string, target = url()) {
    const r = await client.soap(target, body);
    expect(r.headers['content-type']).toBe('application/soap+xml; charset=utf-8');
    let err: SoapError | undefined;
    try {
      codec.decodeResponse('idb', r.body);
    } catch (e) {
      err = e as SoapError;
    }
    return { status: r.status, fault: err?.fault, kind: err?.kind };
  }

  test('malformed XML, a DOCTYPE, a SOAP 1.1 envelope, a missing element: 400 with a soap:Sender fault saying why', async () => {
    const good = requestFor('idb', ben('B01'));
    const cases: [string, RegExp][] = [
      [good.slice(0, good.length - 40), /malformed XML/],
      ['<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>' + good.replace(/^<\?xml[^>]*>/, ''), /DOCTYPE/],
      [good.replace('http://www.w3.org/2003/05/soap-envelope', 'http://schemas.xmlsoap.org/soap/envelope/'), /SOAP 1\.1/],
      [good.replace(/<roc:Venue>.*<\/roc:Venue>/, ''), /missing mandatory element IdbRequete\/Venue/],
      ['', /empty/],
    ];
    for (const [body, reason] of cases) {
      const f = await faultOf(body);
      expect(f.status).toBe(400);
      expect(f.kind).toBe('fault');
      expect(f.fault?.code).toBe('soap:Sender');
      expect(f.fault?.reason).toMatch(reason);
    }
  });

  test('a request of one service posted to another: 400 fault', async () => {
    const f = await faultOf(requestFor('sim', ben('B01')));
    expect(f.status).toBe(400);
    expect(f.fault?.reason).toMatch(/SIM.*IDB/);
  });

  test('a body over 1 MiB: 400 fault', async () => {
    const f = await faultOf('<a>' + 'x'.repeat(1024 * 1024 + 10) + '</a>');
    expect(f.status).toBe(400);
    expect(f.fault?.reason).toMatch(/octets/);
  });

  test('unknown paths 404, GET on a service 405', async () => {
    expect((await client.request(`${sim.url}/sel/inconnu/idb`, { body: '<x/>' })).status).toBe(404);
    expect((await client.request(`${sim.url}/autre`, { body: '<x/>' })).status).toBe(404);
    expect((await client.request(`${sim.url}/sel/tpso/xyz`)).status).toBe(404);
    const g = await client.request(`${sim.url}/sel/tpso/idb`);
    expect(g.status).toBe(405);
    expect(g.headers.allow).toBe('POST');
  });

  test('stats count requests per service', async () => {
    const s = sim.stats();
    expect(s.idb).toBeGreaterThan(20);
    expect(s.annuaire).toBeGreaterThan(20);
    expect(s.clc).toBeGreaterThan(3);
    expect(s.del).toBeGreaterThan(3);
    expect(s.faults).toBeGreaterThan(3);
    expect(s.notFound).toBeGreaterThanOrEqual(3);
  });
});

describe('mutual TLS', () => {
  function handshake(opts: https.RequestOptions): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = https.request(sim.annuaireUrl, { method: 'POST', agent: false, ...opts }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(annuaireRequest('0775685365'));
    });
  }

  test('a client without a certificate is refused', async () => {
    await expect(handshake({ ca: testPki().caCert })).rejects.toThrow(/certificate|ECONNRESET|socket hang up/i);
  });

  test('a client whose certificate comes from another CA is refused', async () => {
    const other = generateTestPki();
    await expect(handshake({ ca: testPki().caCert, cert: other.clientCert, key: other.clientKey })).rejects.toThrow(
      /certificate|unknown ca|ECONNRESET|socket hang up/i,
    );
  });

  test('the hospital’s PEM certificate is accepted', async () => {
    const p = testPki();
    expect(await handshake({ ca: p.caCert, cert: p.clientCert, key: p.clientKey })).toBe(200);
  });
});
