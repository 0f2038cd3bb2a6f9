/**
 * Shared fixtures of the DataMatrix tests: fictitious French attestations and the beneficiaries
 * of the AMC seed (simulator/seed/amc-seed.json when present, else test/fixtures/datamatrix).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Attestation } from '../../lib/model/dossier';

export const GS = '\u001d';

/** Mutuelle des Cévennes, numéro AMC printed on 8 digits, two conventions, SESAM-Vitale addressing. */
export const CEVENNES: Attestation = {
  numeroAmc: '0075500017',
  numeroAmcBrut: '75500017',
  typesConvention: ['IS', 'SP'],
  csr: '',
  numeroAdherent: '00012345',
  debutValidite: '2026-01-01',
  finValidite: '2026-12-31',
  adressage: 'M/33/OC/1/seine.fr',
};

/** The default-grammar text of CEVENNES, written by hand (the grammar documented in the README). */
export const CEVENNES_TEXT = ['ATP01', '75500017', 'ISSP', '', '00012345', 'M/33/OC/1/seine.fr', '20260101', '20261231'].join(GS);

export interface SeedBeneficiaire {
  id: string;
  scenario: string;
  numeroAdherent: string;
  amc: { numeroAmc: string; typeConvention: string | string[]; csr?: string };
  attestation: { debutValidite: string; finValidite: string; adressage?: string };
}

export const SEED_PATH = path.join(__dirname, '..', '..', 'simulator', 'seed', 'amc-seed.json');
export const FIXTURE_PATH = path.join(__dirname, '..', 'fixtures', 'datamatrix', 'beneficiaires.json');

/**
 * Every seeded beneficiary (read at test time, when the seed exists) followed by our own fixtures
 * (8-digit numéro AMC, two conventions, CSR, SESAM-Vitale addressing, expired attestation).
 */
export function loadBeneficiaires(): { source: string; list: SeedBeneficiaire[] } {
  const read = (file: string) => (JSON.parse(fs.readFileSync(file, 'utf8')) as { beneficiaires: SeedBeneficiaire[] }).beneficiaires;
  const rel = (file: string) => path.relative(path.join(__dirname, '..', '..'), file);
  const fixtures = read(FIXTURE_PATH);
  if (!fs.existsSync(SEED_PATH)) return { source: rel(FIXTURE_PATH), list: fixtures };
  return { source: `${rel(SEED_PATH)} + ${rel(FIXTURE_PATH)}`, list: [...read(SEED_PATH), ...fixtures] };
}

/** The attestation printed for a seeded beneficiary. */
export function attestationOf(b: SeedBeneficiaire): Attestation {
  const tc = b.amc.typeConvention;
  const types = Array.isArray(tc) ? tc : (tc.match(/[A-Z0-9]{2}/g) ?? []);
  return {
    numeroAmc: b.amc.numeroAmc.padStart(10, '0'),
    numeroAmcBrut: b.amc.numeroAmc,
    typesConvention: types,
    csr: b.amc.csr ?? '',
    numeroAdherent: b.numeroAdherent,
    debutValidite: b.attestation.debutValidite,
    finValidite: b.attestation.finValidite,
    ...(b.attestation.adressage ? { adressage: b.attestation.adressage } : {}),
  };
}

/** A valid NIR key (97 − NIR mod 97, Corsica 2A/2B as 19/18). */
export function nirKey(nir13: string): string {
  const n = BigInt(nir13.toUpperCase().replace('2A', '19').replace('2B', '18'));
  return String(97n - (n % 97n)).padStart(2, '0');
}
