/**
 * Test helpers for lib/sel: a throw-away PKI, a small in-test AMC (HTTPS + mutual TLS, or plain
 * HTTP) whose behaviour per operation can be scripted, and realistic French dossiers.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { codec } from '../../lib/sel/codec';
import { buildFault } from '../../lib/sel/soap';
import type { OperationName } from '../../lib/sel/codec';
import type { RocDossier } from '../../lib/model/dossier';
import type { Establishment } from '../../lib/sel/client';
import { generateTestPki, type TestPki } from '../../lib/security/pki';

let pkiCache: TestPki | undefined;
let otherPkiCache: TestPki | undefined;
/** One PKI per test file (RSA key generation takes a moment). */
export function pki(): TestPki {
  pkiCache ??= generateTestPki({ p12Passphrase: 'Chu-Test-2026!' });
  return pkiCache;
}
/** An unrelated PKI (another CA): its certificates are not trusted by `pki()`. */
export function otherPki(): TestPki {
  otherPkiCache ??= generateTestPki({ p12Passphrase: 'autre' });
  return otherPkiCache;
}

export type Obj = Record<string, unknown>;

/** What the fake AMC does for one request. */
export type Reply =
  | { xml: string; status?: number; contentType?: string }
  | { raw: string | Buffer; status?: number; contentType?: string }
  | { hang: true }
  | { reset: true }
  | { stream: number; chunk?: number; contentType?: string };

export interface Received {
  op: OperationName;
  payload: Obj;
  contentType: string;
  path: string;
}

export type Behaviour = (op: OperationName, payload: Obj, n: number) => Reply | undefined;

export interface FakeAmc {
  /** Base URL (https://127.0.0.1:port). */
  base: string;
  annuaireUrl: string;
  received: Received[];
  /** Replace the behaviour (undefined reply → default answer). */
  behave(b: Behaviour | undefined): void;
  /** Number of TCP connections accepted. */
  connections(): number;
  close(): Promise<void>;
}

const enTeteReponse = (payload: Obj) => ({
  requestId: (payload.enTete as Obj).requestId,
  responseId: 'REP-' + String((payload.enTete as Obj).requestId).slice(0, 8),
  horodatage: '2026-03-02T10:15:00Z',
});

/** The default answers of the fake AMC (realistic, fixed amounts). */
export function defaultReply(op: OperationName, payload: Obj, base: string): Reply {
  const e = enTeteReponse(payload);
  switch (op) {
    case 'annuaire': {
      const amc = (payload.enTete as Obj).amc as Obj;
      return {
        xml: codec.encodeResponse('annuaire', {
          enTete: e,
          statut: 'OK',
          messages: [{ code: '0000', groupe: 'OK', severite: 'INFO', libelle: 'Traitement effectué' }],
          amc: { numeroAmc: amc.numeroAmc, nom: 'Mutuelle des Cévennes', operateur: 'Tiers Payant Sud Opérateur', enRoc: true },
          services: (['idb', 'sim', 'clc', 'del'] as const).map((s) => ({ service: s, url: `${base}/${s}` })),
          dureeValidite: 3600,
        }),
      };
    }
    case 'idb':
      return {
        xml: codec.encodeResponse('idb', {
          enTete: e,
          statut: 'OK',
          messages: [{ code: '0000', libelle: 'Traitement effectué' }],
          couverture: {
            numeroContrat: 'CT-2026-004512',
            periodes: [{ debut: '2026-01-01', fin: '2026-12-31' }],
            domaines: ['HOSPITALISATION', 'CHAMBRE_PARTICULIERE'],
          },
          consignes: [{ code: 'C01', libelle: 'Chambre particulière prise en charge 60 € par jour, 30 jours par an' }],
          dateValidite: '2026-04-01',
        }),
      };
    case 'sim':
    case 'clc': {
      const lignes = ((payload.facture as Obj).lignes as Obj[]).map((l) => ({
        numero: l.numero,
        code: l.code,
        montantAmc: 20,
        montantPatient: 0,
      }));
      const n = lignes.length;
      return {
        xml: codec.encodeResponse(op, {
          enTete: e,
          statut: 'OK',
          messages: [],
          montants: { totalFacture: 100 * n, totalAmo: 80 * n, totalAmc: 20 * n, resteACharge: 0 },
          lignes,
          consignes: [],
          ...(op === 'clc' ? { numeroEngagement: 'ENG-0775685365-000123', dateValiditeEngagement: '2026-06-01' } : {}),
        }),
      };
    }
    case 'del':
      return { xml: codec.encodeResponse('del', { enTete: e, statut: 'OK', messages: [], numeroEngagement: payload.numeroEngagement }) };
  }
}

/** A KO answer of the AMC for an operation (its own business decision). */
export function koReply(op: OperationName, payload: Obj, code: string, libelle: string): Reply {
  return {
    xml: codec.encodeResponse(op, {
      enTete: enTeteReponse(payload),
      statut: 'KO',
      messages: [{ code, severite: 'ERREUR', libelle }],
      ...(op === 'sim' || op === 'clc' ? { lignes: [] } : {}),
    }),
  };
}

export function faultReply(reason = 'Incident technique chez l’organisme'): Reply {
  return { xml: buildFault('Receiver', reason, 'roc:Indisponible'), status: 500 };
}

export async function startFakeAmc(opts: { tls?: 'mutual' | 'server-only' | false; behaviour?: Behaviour } = {}): Promise<FakeAmc> {
  const mode = opts.tls ?? 'mutual';
  let behaviour = opts.behaviour;
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  let base = '';
  let n = 0;

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let op: OperationName;
      let payload: Obj;
      try {
        ({ op, payload } = codec.decodeRequest(Buffer.concat(chunks)));
      } catch (err) {
        res.writeHead(400, { 'Content-Type': 'text/plain' });
        res.end(`bad request: ${(err as Error).message}`);
        return;
      }
      received.push({ op, payload, contentType: String(req.headers['content-type']), path: req.url ?? '' });
      const reply = behaviour?.(op, payload, ++n) ?? defaultReply(op, payload, base);
      if ('hang' in reply) return;
      if ('reset' in reply) {
        req.socket.destroy();
        return;
      }
      if ('stream' in reply) {
        res.writeHead(200, { 'Content-Type': reply.contentType ?? 'application/soap+xml; charset=utf-8' });
        const chunk = Buffer.alloc(reply.chunk ?? 64 * 1024, 0x41);
        let left = reply.stream;
        const pump = (): void => {
          while (left > 0 && !res.destroyed) {
            left -= chunk.length;
            if (!res.write(chunk)) {
              res.once('drain', pump);
              return;
            }
          }
          if (!res.destroyed) res.end();
        };
        res.on('error', () => undefined);
        pump();
        return;
      }
      const body = 'xml' in reply ? reply.xml : reply.raw;
      res.writeHead(reply.status ?? 200, { 'Content-Type': reply.contentType ?? 'application/soap+xml; charset=utf-8' });
      res.end(body);
    });
  };

  let server: http.Server | https.Server;
  if (mode) {
    const p = pki();
    server = https.createServer(
      { key: p.serverKey, cert: p.serverCert, ca: p.caCert, requestCert: mode === 'mutual', rejectUnauthorized: mode === 'mutual' },
      handler,
    );
  } else server = http.createServer(handler);
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  base = `${mode ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    base,
    annuaireUrl: `${base}/annuaire`,
    received,
    behave: (b) => {
      behaviour = b;
    },
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export function establishment(annuaireUrl: string, over: Partial<Establishment> = {}): Establishment {
  const p = pki();
  return {
    finessJuridique: '750712184',
    finessGeographique: '750100042',
    logiciel: 'GAP Hexagone & Cie <test>',
    versionLogiciel: '12.4.1',
    annuaireUrl,
    connectTimeoutMs: 2000,
    readTimeoutMs: 2000,
    tls: { pfx: Buffer.from(p.clientP12Base64, 'base64'), passphrase: p.p12Passphrase, ca: p.caCert },
    ...over,
  };
}

/** A patient admitted for a hospital stay, with an attestation of the Mutuelle des Cévennes. */
export function dossier(over: Partial<RocDossier> = {}): RocDossier {
  return {
    beneficiaire: {
      nir: '2850375123456',
      cleNir: '42',
      dateNaissance: '1985-03-14',
      rangNaissance: 1,
      nom: 'Lefèvre-Dubois',
      prenom: 'Marie-Hélène',
      numeroAdherent: '00457812',
    },
    assureAmo: { regime: '01', caisse: '751', centre: '0001' },
    attestation: {
      numeroAmc: '0775685365',
      typesConvention: ['MU'],
      csr: '',
      numeroAdherent: '00457812',
      debutValidite: '2026-01-01',
      finValidite: '2026-12-31',
    },
    venue: {
      type: 'HOSPITALISATION',
      dateEntree: '2026-03-02',
      dateSortie: '2026-03-06',
      numeroDossier: 'NDA26004512',
      numeroVenue: 'V0001',
    },
    facture: {
      numero: 'FAC-2026-000871',
      dateFacture: '2026-03-07',
      lignes: [
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
          code: 'GHS',
          dateDebut: '2026-03-02',
          dateFin: '2026-03-06',
          quantite: 1,
          prixUnitaire: 3120.45,
          baseAmo: 3120.45,
          tauxAmo: 80,
          montantAmo: 2496.36,
        },
      ],
    },
    ...over,
  };
}
