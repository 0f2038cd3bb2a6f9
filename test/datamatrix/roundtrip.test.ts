/**
 * encode → render (bwip-js) → decode (@zxing/library) → parse, over every seeded beneficiary
 * (simulator/seed/amc-seed.json, read at test time; our own fixtures until it exists). Each
 * beneficiary's card goes through one of the image variants in turn, so the whole seed covers
 * upright, rotated, tilted, downscaled, on-a-page and JPEG cards without decoding hundreds of images.
 */
import * as jpeg from 'jpeg-js';
import {
  decodeImage,
  DEFAULT_GRAMMARS,
  encodeAttestationText,
  parseAttestation,
  readAttestation,
  renderAttestationPng,
} from '../../lib/datamatrix';
import type { Attestation } from '../../lib/model/dossier';
import { grayToPng, grayToRgba, pngToGray, rotate, scale } from '../../lib/datamatrix/raster';
import { attestationOf, loadBeneficiaires } from './helpers';

const { source, list } = loadBeneficiaires();

function expected(a: Attestation) {
  return {
    numeroAmc: a.numeroAmc,
    numeroAmcBrut: a.numeroAmcBrut,
    typesConvention: a.typesConvention,
    csr: a.csr ?? '',
    numeroAdherent: a.numeroAdherent,
    debutValidite: a.debutValidite,
    finValidite: a.finValidite,
    ...(a.adressage ? { adressage: a.adressage } : {}),
  };
}

type Variant = { name: string; image: (a: Attestation, i: number) => Promise<Buffer> };

const VARIANTS: Variant[] = [
  { name: 'carte droite', image: (a) => renderAttestationPng(a) },
  { name: 'tournée 90°', image: (a) => renderAttestationPng(a, { rotate: 90 }) },
  { name: 'sur une page A6', image: (a, i) => renderAttestationPng(a, { page: true, seed: i + 1 }) },
  { name: 'tournée 180°', image: (a) => renderAttestationPng(a, { rotate: 180 }) },
  { name: 'réduite (2 px par module)', image: async (a) => grayToPng(scale(pngToGray(await renderAttestationPng(a, { scale: 4 })), 0.5)) },
  { name: 'tournée 270°', image: (a) => renderAttestationPng(a, { rotate: 270 }) },
  { name: 'penchée de 10°', image: async (a) => grayToPng(rotate(pngToGray(await renderAttestationPng(a, { scale: 5 })), 10)) },
  { name: 'page tournée 90°', image: (a, i) => renderAttestationPng(a, { page: true, rotate: 90, seed: i + 1 }) },
  {
    name: 'JPEG',
    image: async (a) => {
      const g = pngToGray(await renderAttestationPng(a, { scale: 4 }));
      return jpeg.encode({ data: grayToRgba(g), width: g.width, height: g.height }, 80).data;
    },
  },
];

describe(`round trip over every seeded beneficiary (${source}, ${list.length})`, () => {
  test('the seed has beneficiaries', () => {
    expect(list.length).toBeGreaterThan(0);
  });

  test.each(list.map((b) => [b.id, b.scenario, b] as const))('%s (%s): text, in every shipped grammar', (_id, _s, b) => {
    const a = attestationOf(b);
    for (const g of DEFAULT_GRAMMARS) {
      const text = encodeAttestationText(a, g);
      const r = parseAttestation(text);
      // A fixed-width grammar writes the numéro AMC zero-padded: that is its raw value then.
      const width = g.fields.find((f) => f.key === 'numeroAmc')?.width;
      const brut = width ? String(a.numeroAmcBrut).padStart(width, '0') : a.numeroAmcBrut;
      expect(r.ok && r.attestation).toMatchObject({ ...expected(a), numeroAmcBrut: brut, grammar: { id: g.id }, raw: text, repairs: [] });
    }
  });

  test.each(list.map((b, i) => [b.id, VARIANTS[i % VARIANTS.length].name, b, i] as const))('%s: image %s', async (_id, _v, b, i) => {
    const a = attestationOf(b);
    const img = await VARIANTS[i % VARIANTS.length].image(a, i);
    const d = await decodeImage(img);
    expect(d.ok && d.text).toBe(encodeAttestationText(a));
    const r = await readAttestation(img, { admissionDate: a.debutValidite as string });
    expect(r.ok && r.attestation).toMatchObject({ ...expected(a), warnings: [] });
  });

  test('every image variant was exercised at least once when the seed is large enough', () => {
    const used = new Set(list.map((_b, i) => VARIANTS[i % VARIANTS.length].name));
    expect(used.size).toBe(Math.min(list.length, VARIANTS.length));
  });
});
