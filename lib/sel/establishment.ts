/**
 * From the `roc-establishment` configuration (editor properties + credentials) to what the SEL
 * clients need: identity (FINESS, software), endpoints, timeouts and TLS options, with every
 * problem named in plain words. Pure: file reading is injected so it is testable without disk.
 */
import { checkFiness } from '../model/finess';
import { certificateStatus, tlsOptionsFrom } from '../security/tls';
import type { Establishment } from './client';

export interface EstablishmentConfig {
  finessJuridique?: string;
  finessGeographique?: string;
  logiciel?: string;
  versionLogiciel?: string;
  annuaireUrl?: string;
  connectTimeout?: number | string;
  readTimeout?: number | string;
  annuaireTtl?: number | string;
  breakerThreshold?: number | string;
  breakerOpenSeconds?: number | string;
  /** Paths to PEM / PKCS#12 files, for deployments that keep certificates on disk. */
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  p12File?: string;
}

/** Certificate material held as Node-RED credentials (encrypted in the flow's _cred file). */
export interface EstablishmentCredentials {
  p12?: string;
  passphrase?: string;
  cert?: string;
  key?: string;
  ca?: string;
}

/** What the SEL client needs, plus the client options the config node sets. */
export interface ResolvedEstablishment extends Establishment {
  annuaireTtlMs: number;
  breaker: { failureThreshold: number; openMs: number };
}

export interface CertificateState {
  subject: string;
  notAfter: string;
  daysLeft: number;
  level: 'ok' | 'warning' | 'expired';
}

export interface EstablishmentResolution {
  establishment?: ResolvedEstablishment;
  errors: string[];
  certificate?: CertificateState;
}

function num(v: number | string | undefined, dflt: number, min: number, max: number, label: string, errors: string[]): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) {
    errors.push(`${label} doit être un nombre entre ${min} et ${max}`);
    return dflt;
  }
  return n;
}

export function resolveEstablishment(
  cfg: EstablishmentConfig,
  creds: EstablishmentCredentials = {},
  readFile: (path: string) => Buffer = () => {
    throw new Error('no file access');
  },
  now = new Date(),
): EstablishmentResolution {
  const errors: string[] = [];
  const fj = (cfg.finessJuridique || '').trim();
  const fg = (cfg.finessGeographique || '').trim();
  const e1 = checkFiness(fj);
  if (e1) errors.push(`FINESS juridique : ${e1}`);
  const e2 = checkFiness(fg);
  if (e2) errors.push(`FINESS géographique : ${e2}`);
  const annuaireUrl = (cfg.annuaireUrl || '').trim();
  if (!/^https?:\/\/[^\s]+$/i.test(annuaireUrl)) errors.push("URL de l'annuaire AMC absente ou invalide");

  const connectTimeoutMs = num(cfg.connectTimeout, 3000, 50, 60000, 'Délai de connexion (ms)', errors);
  const readTimeoutMs = num(cfg.readTimeout, 5000, 50, 120000, 'Délai de lecture (ms)', errors);
  const annuaireTtlMs = num(cfg.annuaireTtl, 3600, 0, 7 * 86400, "Durée de cache de l'annuaire (s)", errors) * 1000;
  const failureThreshold = num(cfg.breakerThreshold, 5, 1, 1000, 'Seuil du disjoncteur', errors);
  const openMs = num(cfg.breakerOpenSeconds, 30, 1, 3600, "Durée d'ouverture du disjoncteur (s)", errors) * 1000;

  const read = (p: string | undefined, what: string): string | undefined => {
    if (!p || !p.trim()) return undefined;
    try {
      return readFile(p.trim()).toString(what === 'p12' ? 'base64' : 'utf8');
    } catch (err) {
      errors.push(`fichier ${what} illisible (${p.trim()}) : ${(err as Error).message}`);
      return undefined;
    }
  };
  const material = {
    p12Base64: creds.p12 || read(cfg.p12File, 'p12'),
    passphrase: creds.passphrase || undefined,
    certPem: creds.cert || read(cfg.certFile, 'certificat'),
    keyPem: creds.key || read(cfg.keyFile, 'clé privée'),
    caPem: creds.ca || read(cfg.caFile, 'autorités (CA)'),
  };

  let tls: ResolvedEstablishment['tls'];
  let certificate: CertificateState | undefined;
  if (material.p12Base64 || material.certPem || material.keyPem || material.caPem) {
    try {
      tls = tlsOptionsFrom(material);
      if (material.p12Base64 || material.certPem) certificate = certificateStatus(material, now);
    } catch (err) {
      errors.push(`certificat : ${(err as Error).message}`);
    }
  }

  if (errors.length) return { errors, certificate };
  return {
    errors,
    certificate,
    establishment: {
      finessJuridique: fj,
      finessGeographique: fg,
      logiciel: cfg.logiciel || 'ROC Bridge',
      versionLogiciel: cfg.versionLogiciel || '0.1.0',
      annuaireUrl,
      connectTimeoutMs,
      readTimeoutMs,
      annuaireTtlMs,
      breaker: { failureThreshold, openMs },
      tls,
    },
  };
}
