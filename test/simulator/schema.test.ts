/**
 * The published contract: the WSDL and XSD served by the AMC miroir are well-formed, every
 * request the codec builds for the seeded scenarios (and the simulator's answers) validate
 * against the published XSD with libxml2 (xmllint-wasm), and a standard SOAP client (the `soap`
 * package) can call IDB from the WSDL alone, over mutual TLS.
 */
import https from 'node:https';
import { XMLValidator } from 'fast-xml-parser';
import * as soap from 'soap';
import { codec } from '../../lib/sel/codec';
import type { RunningSimulator } from '../../simulator/server';
import { annuaireRequest, ben, Client, delRequest, endpointOf, requestFor, SEED, startMtlsSimulator, testPki } from './support';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { validateXML } = require('xmllint-wasm') as typeof import('xmllint-wasm');

let sim: RunningSimulator;
let client: Client;
let xsd: string;

beforeAll(async () => {
  sim = await startMtlsSimulator();
  client = new Client();
  xsd = (await client.request(sim.xsdUrl)).body;
});

afterAll(async () => {
  client.destroy();
  await sim.close();
});

/** The body element of a SOAP envelope, as a standalone document (the XSD describes the body). */
function bodyOf(envelope: string): string {
  const start = envelope.indexOf('<soap:Body>') + '<soap:Body>'.length;
  return envelope.slice(start, envelope.lastIndexOf('</soap:Body>'));
}

async function validate(docs: { name: string; xml: string }[]) {
  const r = await validateXML({
    xml: docs.map((d) => ({ fileName: `${d.name}.xml`, contents: bodyOf(d.xml) })),
    schema: { fileName: 'roc.xsd', contents: xsd },
  });
  return r;
}

test('the WSDL and the XSD are well-formed XML, served as text/xml', async () => {
  const w = await client.request(sim.wsdlUrl);
  expect(w.status).toBe(200);
  expect(w.headers['content-type']).toBe('text/xml; charset=utf-8');
  expect(XMLValidator.validate(w.body)).toBe(true);
  expect(w.body).toContain(`<soap12:address location="${sim.url}/sel/idb"/>`);
  expect(w.body).toContain(`<soap12:address location="${sim.url}/sel/annuaire"/>`);
  expect(XMLValidator.validate(xsd)).toBe(true);
  // An access point's own WSDL points at its own addresses.
  const op = await client.request(`${sim.url}/sel/tpso?wsdl`);
  expect(op.body).toContain(`<soap12:address location="${sim.url}/sel/tpso/clc"/>`);
});

test('every request built for the seeded scenarios validates against the published XSD', async () => {
  const docs: { name: string; xml: string }[] = [];
  for (const b of SEED.beneficiaires) {
    docs.push({ name: `${b.id}-idb`, xml: requestFor('idb', b) });
    docs.push({ name: `${b.id}-sim`, xml: requestFor('sim', b) });
    docs.push({ name: `${b.id}-clc`, xml: requestFor('clc', b) });
    docs.push({ name: `${b.id}-annuaire`, xml: annuaireRequest(b.amc.numeroAmc, b.amc.typeConvention, b.amc.csr) });
  }
  docs.push({ name: 'del', xml: delRequest({ numeroAmc: '0775685365' }, 'E077568536520260314AB000001', { numeroFacture: 'F2600001234' }) });
  const r = await validate(docs);
  expect(r.errors.map((e) => e.rawMessage)).toEqual([]);
  expect(r.valid).toBe(true);
});

test('the XSD is strict: a FINESS with a stray letter or an unknown venue type is refused', async () => {
  const good = requestFor('idb', ben('B01'));
  const r = await validate([
    { name: 'finess', xml: good.replace('<roc:FinessJuridique>750712184<', '<roc:FinessJuridique>75071218X<') },
    { name: 'venue', xml: good.replace('<roc:TypeVenue>HOSPITALISATION<', '<roc:TypeVenue>HOTEL<') },
  ]);
  expect(r.valid).toBe(false);
  const files = new Set(r.errors.map((e) => e.loc?.fileName).filter(Boolean));
  expect(files).toEqual(new Set(['finess.xml', 'venue.xml']));
});

test('the simulator’s answers validate against the XSD too (OK, KO, amounts, engagement, directory)', async () => {
  const docs: { name: string; xml: string }[] = [];
  for (const id of ['B01', 'B04', 'B14']) {
    const b = ben(id);
    for (const op of ['idb', 'sim', 'clc'] as const) {
      docs.push({
        name: `${id}-${op}`,
        xml: (await client.soap(await endpointOf(client, sim, b.amc, op), requestFor(op, b, { numeroFacture: `F-XSD-${id}` }))).body,
      });
    }
  }
  const engagement = (codec.decodeResponse('clc', docs[2].xml) as { numeroEngagement: string }).numeroEngagement;
  docs.push({ name: 'del', xml: (await client.soap(`${sim.url}/sel/tpso/del`, delRequest({ numeroAmc: '0775685365' }, engagement))).body });
  docs.push({
    name: 'del-ko',
    xml: (await client.soap(`${sim.url}/sel/tpso/del`, delRequest({ numeroAmc: '0775685365' }, engagement))).body,
  });
  docs.push({ name: 'annuaire', xml: (await client.soap(sim.annuaireUrl, annuaireRequest('0633014527', 'SP', 'RAIL'))).body });
  docs.push({ name: 'annuaire-hors-roc', xml: (await client.soap(sim.annuaireUrl, annuaireRequest('0050341278'))).body });
  docs.push({ name: 'annuaire-ko', xml: (await client.soap(sim.annuaireUrl, annuaireRequest('0312987654'))).body });
  const r = await validate(docs);
  expect(r.errors.map((e) => e.rawMessage)).toEqual([]);
});

describe('a standard SOAP client (npm soap) built from the WSDL', () => {
  let soapClient: soap.Client;
  beforeAll(async () => {
    const p = testPki();
    soapClient = await soap.createClientAsync(sim.wsdlUrl, {
      forceSoap12Headers: true,
      // soap fetches the WSDL with axios: TLS material goes through an https.Agent.
      wsdl_options: { httpsAgent: new https.Agent({ ca: p.caCert, cert: p.clientCert, key: p.clientKey }) },
    });
    soapClient.setSecurity(new soap.ClientSSLSecurity(Buffer.from(p.clientKey), Buffer.from(p.clientCert), Buffer.from(p.caCert)));
  });

  function idbArgs(id: string, requestId: string) {
    const b = ben(id);
    return {
      EnTete: {
        IdRequete: requestId,
        Horodatage: '2026-03-09T10:00:00Z',
        VersionProfil: '1.0.0',
        FinessJuridique: '750712184',
        FinessGeographique: '750100042',
        NomLogiciel: 'node-soap',
        VersionLogiciel: '1.13.0',
        AmcDestinataire: { NumeroAMC: b.amc.numeroAmc, TypeConvention: b.amc.typeConvention },
      },
      PatientBeneficiaire: {
        NIR: b.nir,
        CleNIR: b.cleNir,
        DateNaissance: b.dateNaissance,
        RangNaissance: b.rangNaissance,
        NomUsuel: b.nom,
        Prenom: b.prenom,
        NumeroAdherent: b.numeroAdherent,
      },
      Venue: { TypeVenue: 'HOSPITALISATION', DateEntree: '2026-03-09', DateSortie: '2026-03-13' },
    };
  }

  test('exposes the five operations', () => {
    const ops = Object.values(soapClient.describe().RocSelService as Record<string, Record<string, unknown>>).flatMap((port) =>
      Object.keys(port),
    );
    expect(ops.sort()).toEqual(['Annulation', 'Calcul', 'IdentificationDroitsBeneficiaire', 'RechercheAnnuaire', 'Simulation']);
  });

  test('IDB for B01 (droits-ok) answers OK with the contract', async () => {
    const [res] = await soapClient.IdentificationDroitsBeneficiaireAsync(idbArgs('B01', 'node-soap-0001'));
    expect(res.Statut).toBe('OK');
    expect(res.EnTeteReponse.IdRequete).toBe('node-soap-0001');
    expect(res.Couverture.NumeroContrat).toBe('CEV-HOSPI100-2026');
    expect(res.Message[0].Code).toBe('0000');
  });

  test('IDB for B05 (droits-fermes) answers KO 6002', async () => {
    const [res] = await soapClient.IdentificationDroitsBeneficiaireAsync(idbArgs('B05', 'node-soap-0002'));
    expect(res.Statut).toBe('KO');
    expect(res.Message[0].Code).toBe('6002');
  });
});
