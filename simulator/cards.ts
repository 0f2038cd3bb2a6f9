/**
 * Test cards: the attestation de tiers payant of a seeded beneficiary, as the scan string its
 * DataMatrix holds and as a PNG drawn by bwip-js (lib/datamatrix), for the admission desk demo,
 * the DataMatrix tests and `npm run card`. Served by the simulator as
 * `GET /cards/<beneficiaryId>.png` (`?rotate=90&page=1`) and `GET /cards/<beneficiaryId>.txt`.
 */
import { encodeAttestationText, renderAttestationPng } from '../lib/datamatrix';
import type { Attestation } from '../lib/model/dossier';
import type { Seed, SeedBeneficiaire } from './seed';

export interface CardOptions {
  rotate?: 0 | 90 | 180 | 270;
  /** The symbol small at the bottom right of an A6 page with text-like strokes. */
  page?: boolean;
  /** Pixels per module (default 4; 2 on a page). */
  scale?: number;
}

/** The attestation printed for a seeded beneficiary (the five normalised items and its validity). */
export function cardAttestation(b: SeedBeneficiaire): Attestation {
  const tc = b.amc.typeConvention as string | string[] | undefined;
  const types = Array.isArray(tc) ? tc : (tc?.match(/[A-Z0-9]{2}/g) ?? []);
  return {
    numeroAmc: b.amc.numeroAmc.trim().padStart(10, '0'),
    typesConvention: types,
    csr: b.amc.csr ?? '',
    numeroAdherent: b.numeroAdherent ?? '',
    debutValidite: b.attestation.debutValidite,
    finValidite: b.attestation.finValidite,
  };
}

/** The text the card's DataMatrix holds (default grammar ATP01, GS separators). Throws if the seed entry is not encodable. */
export function cardText(b: SeedBeneficiaire): string {
  return encodeAttestationText(cardAttestation(b));
}

export function cardPng(b: SeedBeneficiaire, opts: CardOptions = {}): Promise<Buffer> {
  const seed = Number.parseInt(b.id.replace(/\D/g, ''), 10) || 1;
  return renderAttestationPng(cardAttestation(b), { rotate: opts.rotate ?? 0, page: !!opts.page, scale: opts.scale, seed });
}

export function findBeneficiary(seed: Seed, id: string): SeedBeneficiaire | undefined {
  return seed.beneficiaires.find((b) => b.id.toUpperCase() === id.toUpperCase());
}

export interface CardAnswer {
  status: number;
  type: string;
  body: Buffer | string;
}

const text = (status: number, body: string): CardAnswer => ({ status, type: 'text/plain; charset=utf-8', body: `${body}\n` });

/**
 * The simulator's answer to `GET /cards/<file>`: `<id>.png` (query `rotate=0|90|180|270`,
 * `page=1`) or `<id>.txt`. Never throws; unknown beneficiaries and bad options get 404 / 400.
 */
export async function cardResponse(seed: Seed, file: string, query = ''): Promise<CardAnswer> {
  const m = /^([A-Za-z0-9_-]{1,32})\.(png|txt)$/.exec(file);
  if (!m) return text(404, `Carte inconnue : demandez /cards/<bénéficiaire>.png ou .txt (par exemple /cards/B01.png)`);
  const b = findBeneficiary(seed, m[1]);
  if (!b) return text(404, `Aucun bénéficiaire « ${m[1]} » dans le jeu de données du simulateur`);
  const q = new URLSearchParams(query);
  const rotate = Number(q.get('rotate') ?? 0);
  if (![0, 90, 180, 270].includes(rotate)) return text(400, 'rotate doit valoir 0, 90, 180 ou 270');
  try {
    if (m[2] === 'txt') return { status: 200, type: 'text/plain; charset=utf-8', body: cardText(b) };
    const png = await cardPng(b, { rotate: rotate as CardOptions['rotate'], page: q.get('page') === '1' || q.get('page') === 'true' });
    return { status: 200, type: 'image/png', body: png };
  } catch (err) {
    return text(500, `Carte impossible à produire pour ${b.id} : ${(err as Error).message}`);
  }
}
