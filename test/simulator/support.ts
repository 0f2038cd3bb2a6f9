/**
 * Helpers for the AMC miroir tests: a test PKI, a simulator over HTTPS with mutual TLS, an
 * HTTPS client presenting the hospital's certificate (from its PKCS#12, as in production), and
 * requests built with the codec from the seeded beneficiaries.
 */
import { randomUUID } from 'node:crypto';
import https from 'node:https';
import { codec, type OperationName } from '../../lib/sel/codec';
import { generateTestPki, type TestPki } from '../../lib/security/pki';
import { tlsOptionsFrom } from '../../lib/security/tls';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../simulator/server';
import { loadSeed, type SeedBeneficiaire } from '../../simulator/seed';

export const SEED = loadSeed().seed;

export function ben(id: string): SeedBeneficiaire {
  const b = SEED.beneficiaires.find((x) => x.id === id);
  if (!b) throw new Error(`no beneficiary ${id} in the seed`);
  return b;
}

let pki: TestPki | undefined;
export function testPki(): TestPki {
  pki ||= generateTestPki({ p12Passphrase: 'Roc-Bridge-2026!' });
  return pki;
}

export async function startMtlsSimulator(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
  const p = testPki();
  return startSimulator({ tls: { key: p.serverKey, cert: p.serverCert, ca: p.caCert, requestCert: true }, ...opts });
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  bytes: number;
}

export class Client {
  readonly agent: https.Agent;
  constructor(tlsOptions: https.AgentOptions | undefined = undefined) {
    const p = testPki();
    const material = tlsOptionsFrom({ p12Base64: p.clientP12Base64, passphrase: p.p12Passphrase, caPem: p.caCert });
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 8, ...material, ...tlsOptions });
  }

  request(
    url: string,
    opts: { method?: string; body?: string | Buffer; timeoutMs?: number; keepBody?: boolean; headers?: Record<string, string> } = {},
  ): Promise<HttpResult> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method: opts.method ?? (opts.body !== undefined ? 'POST' : 'GET'),
          agent: this.agent,
          headers: { 'Content-Type': 'application/soap+xml; charset=utf-8', ...opts.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let bytes = 0;
          let tail = Buffer.alloc(0);
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            if (opts.keepBody !== false) chunks.push(c);
            else tail = Buffer.concat([tail, c]).subarray(-64);
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: opts.keepBody !== false ? Buffer.concat(chunks).toString('utf8') : tail.toString('utf8'),
              bytes,
            }),
          );
          res.on('error', reject);
          res.on('aborted', () => reject(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
        },
      );
      if (opts.timeoutMs) {
        req.setTimeout(opts.timeoutMs, () => req.destroy(Object.assign(new Error('read timeout'), { code: 'ETIMEDOUT' })));
      }
      req.on('error', reject);
      req.end(opts.body);
    });
  }

  soap(url: string, xml: string, timeoutMs?: number): Promise<HttpResult> {
    return this.request(url, { body: xml, timeoutMs });
  }

  destroy(): void {
    this.agent.destroy();
  }
}

export const FINESS_EJ = '750712184';
export const FINESS_EG = '750100042';

export function enTete(amc: { numeroAmc: string; typeConvention?: string; csr?: string }, requestId: string = randomUUID()) {
  return {
    requestId,
    horodatage: '2026-03-09T10:42:17+01:00',
    versionProfil: '1.0.0',
    finessJuridique: FINESS_EJ,
    finessGeographique: FINESS_EG,
    logiciel: 'ROC Bridge (tests)',
    versionLogiciel: '0.1.0',
    amc,
  };
}

export function beneficiaire(b: SeedBeneficiaire, opts: { withoutAdherent?: boolean } = {}) {
  return {
    nir: b.nir,
    cleNir: b.cleNir,
    dateNaissance: b.dateNaissance,
    rangNaissance: b.rangNaissance,
    nom: b.nom,
    prenom: b.prenom,
    numeroAdherent: opts.withoutAdherent ? undefined : b.numeroAdherent,
  };
}

/** A 4-night stay, 9 → 13 March 2026. */
export const SEJOUR = {
  type: 'HOSPITALISATION',
  dateEntree: '2026-03-09',
  dateSortie: '2026-03-13',
  numeroDossier: '2600012345',
  numeroVenue: '26V004567',
};

/** GHS 3 452,40 € (AMO 80 %), 5 forfaits journaliers, 4 nuits en chambre particulière à 75 €, 4 jours de télévision. */
export const LIGNES_SEJOUR = [
  {
    numero: 1,
    code: 'GHS',
    dateDebut: '2026-03-09',
    dateFin: '2026-03-13',
    quantite: 1,
    prixUnitaire: 3452.4,
    baseAmo: 3452.4,
    tauxAmo: 80,
    montantAmo: 2761.92,
  },
  {
    numero: 2,
    code: 'FJ',
    dateDebut: '2026-03-09',
    dateFin: '2026-03-13',
    quantite: 5,
    prixUnitaire: 20,
    baseAmo: 0,
    tauxAmo: 0,
    montantAmo: 0,
  },
  {
    numero: 3,
    code: 'CP',
    dateDebut: '2026-03-09',
    dateFin: '2026-03-12',
    quantite: 4,
    prixUnitaire: 75,
    baseAmo: 0,
    tauxAmo: 0,
    montantAmo: 0,
  },
  {
    numero: 4,
    code: 'TV',
    dateDebut: '2026-03-09',
    dateFin: '2026-03-12',
    quantite: 4,
    prixUnitaire: 4,
    baseAmo: 0,
    tauxAmo: 0,
    montantAmo: 0,
  },
];

export interface RequestOptions {
  requestId?: string;
  withoutAdherent?: boolean;
  venue?: Record<string, unknown>;
  lignes?: Record<string, unknown>[];
  numeroFacture?: string;
  amc?: { numeroAmc: string; typeConvention?: string; csr?: string };
}

/** Payload of an IDB / SIM / CLC request for a seeded beneficiary. */
export function payloadFor(op: Exclude<OperationName, 'annuaire' | 'del'>, b: SeedBeneficiaire, o: RequestOptions = {}) {
  const p: Record<string, unknown> = {
    enTete: enTete(o.amc ?? b.amc, o.requestId),
    beneficiaire: beneficiaire(b, o),
    assureAmo: { regime: '01', caisse: '301', centre: '0001' },
    attestation: {
      numeroAmc: b.amc.numeroAmc,
      typesConvention: [b.amc.typeConvention],
      csr: b.amc.csr,
      numeroAdherent: o.withoutAdherent ? undefined : b.numeroAdherent,
      debutValidite: b.attestation.debutValidite,
      finValidite: b.attestation.finValidite,
    },
    venue: o.venue ?? SEJOUR,
  };
  if (op !== 'idb') p.facture = { numero: o.numeroFacture ?? 'F2600001234', dateFacture: '2026-03-16', lignes: o.lignes ?? LIGNES_SEJOUR };
  return p;
}

export function requestFor(op: Exclude<OperationName, 'annuaire' | 'del'>, b: SeedBeneficiaire, o: RequestOptions = {}): string {
  return codec.encodeRequest(op, payloadFor(op, b, o));
}

export function annuaireRequest(numeroAmc: string, typeConvention?: string, csr?: string, requestId?: string): string {
  return codec.encodeRequest('annuaire', { enTete: enTete({ numeroAmc, typeConvention, csr }, requestId) });
}

export function delRequest(
  amc: { numeroAmc: string },
  numeroEngagement: string,
  o: { requestId?: string; numeroFacture?: string } = {},
): string {
  return codec.encodeRequest('del', {
    enTete: enTete(amc, o.requestId),
    numeroEngagement,
    numeroFacture: o.numeroFacture,
    motif: 'Séjour annulé',
  });
}

/** Ask the directory where a service of an AMC lives. */
export async function endpointOf(
  client: Client,
  sim: RunningSimulator,
  amc: { numeroAmc: string; typeConvention?: string; csr?: string },
  svc: string,
): Promise<string> {
  const r = await client.soap(sim.annuaireUrl, annuaireRequest(amc.numeroAmc, amc.typeConvention, amc.csr));
  const a = codec.decodeResponse('annuaire', r.body) as { services?: { service: string; url: string }[] };
  const url = a.services?.find((s) => s.service === svc)?.url;
  if (!url) throw new Error(`no ${svc} endpoint for ${amc.numeroAmc}`);
  return url;
}
