import * as fs from 'fs';
import * as path from 'path';
import bwipjs from 'bwip-js';
import * as jpeg from 'jpeg-js';
import { decodeImage, imageSize, readAttestation, renderAttestationPng, type DecodeResult } from '../../lib/datamatrix';
import { gray, grayToPng, grayToRgba, pngToGray, rotate, scale } from '../../lib/datamatrix/raster';
import { CEVENNES, CEVENNES_TEXT } from './helpers';

function decoded(r: DecodeResult): string {
  if (!r.ok) throw new Error(`expected a decoded symbol, got ${r.code}: ${r.reason}`);
  return r.text;
}

function refusedImage(r: DecodeResult): { code: string; reason: string } {
  if (r.ok) throw new Error(`expected a refusal, got text ${JSON.stringify(r.text)}`);
  return r;
}

function toJpeg(png: Buffer, quality: number): Buffer {
  const g = pngToGray(png);
  return jpeg.encode({ data: grayToRgba(g), width: g.width, height: g.height }, quality).data;
}

describe('decodeImage: finding the attestation DataMatrix', () => {
  test('a committed PNG test card (no renderer involved) decodes to the exact text, GS included', async () => {
    const png = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'datamatrix', 'cevennes.png'));
    const r = await decodeImage(png);
    expect(decoded(r)).toBe(CEVENNES_TEXT);
    expect(r).toMatchObject({ format: 'png' });
  });

  test.each([90, 180, 270] as const)('a card rotated %i°', async (rotateBy) => {
    expect(decoded(await decodeImage(await renderAttestationPng(CEVENNES, { rotate: rotateBy })))).toBe(CEVENNES_TEXT);
  });

  test('a photo tilted by 12° and by 40°', async () => {
    const card = pngToGray(await renderAttestationPng(CEVENNES, { scale: 5 }));
    for (const angle of [12, -40]) expect(decoded(await decodeImage(grayToPng(rotate(card, angle))))).toBe(CEVENNES_TEXT);
  });

  test('a low-resolution scan (2 pixels per module after downscaling)', async () => {
    const card = pngToGray(await renderAttestationPng(CEVENNES, { scale: 6 }));
    expect(decoded(await decodeImage(grayToPng(scale(card, 1 / 3))))).toBe(CEVENNES_TEXT);
  });

  test('a small symbol on an A6 page with text, upright and rotated', async () => {
    for (const rotateBy of [0, 90] as const) {
      const png = await renderAttestationPng(CEVENNES, { page: true, rotate: rotateBy, seed: 11 });
      const g = pngToGray(png);
      expect(Math.min(g.width, g.height)).toBe(620);
      expect(decoded(await decodeImage(png))).toBe(CEVENNES_TEXT);
    }
  });

  test('a large photo of the page (about 5 megapixels) is shrunk before the search', async () => {
    const page = pngToGray(await renderAttestationPng(CEVENNES, { page: true, seed: 5 }));
    const big = scale(page, 3);
    expect(big.width * big.height).toBeGreaterThan(4_500_000);
    expect(decoded(await decodeImage(grayToPng(big)))).toBe(CEVENNES_TEXT);
  });

  test('a JPEG photo of the page (jpeg-js, quality 70)', async () => {
    const jpg = toJpeg(await renderAttestationPng(CEVENNES, { page: true, seed: 3 }), 70);
    expect(jpg.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    const r = await decodeImage(jpg);
    expect(decoded(r)).toBe(CEVENNES_TEXT);
    expect(r).toMatchObject({ format: 'jpeg' });
  });

  test('a photo without any symbol: a clear refusal', async () => {
    const page = pngToGray(await renderAttestationPng(CEVENNES, { page: true, seed: 2 }));
    // Paint over the symbol (bottom right): only the text remains.
    for (let y = page.height - 320; y < page.height; y++)
      for (let x = page.width - 300; x < page.width; x++) page.data[y * page.width + x] = 250;
    const r = refusedImage(await decodeImage(grayToPng(page)));
    expect(r.code).toBe('DATAMATRIX_INTROUVABLE');
    expect(r.reason).toMatch(/Aucun DataMatrix lisible.*net, bien éclairé/);
  });

  test('a QR code is not taken for the attestation DataMatrix', async () => {
    const qr = await bwipjs.toBuffer({
      bcid: 'qrcode',
      text: 'https://www.ameli.fr',
      scale: 4,
      backgroundcolor: 'FFFFFF',
      paddingwidth: 4,
      paddingheight: 4,
    });
    expect(refusedImage(await decodeImage(qr)).code).toBe('DATAMATRIX_INTROUVABLE');
  });
});

describe('decodeImage: limits and bad files (checked before decoding)', () => {
  test('a 20 MB buffer is refused on its size', async () => {
    const big = Buffer.alloc(20 * 1024 * 1024);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(big);
    const r = refusedImage(await decodeImage(big));
    expect(r.code).toBe('IMAGE_TROP_LOURDE');
    expect(r.reason).toMatch(/pèse 20 Mo, au-delà de la limite de 10 Mo/);
  });

  test('a PNG declaring 100 000 × 100 000 pixels is refused from its header', async () => {
    const real = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'datamatrix', 'cevennes.png'));
    const forged = Buffer.from(real);
    forged.writeUInt32BE(100_000, 16);
    forged.writeUInt32BE(100_000, 20);
    expect(imageSize(forged)).toEqual({ format: 'png', width: 100_000, height: 100_000 });
    const r = refusedImage(await decodeImage(forged));
    expect(r.code).toBe('IMAGE_TROP_GRANDE');
    expect(r.reason).toMatch(/100000 × 100000 pixels, au-delà de la limite de 16 mégapixels/);
  });

  test('a JPEG declaring 9 000 × 6 000 pixels (54 MP) is refused from its header', async () => {
    const jpg = Buffer.from(toJpeg(await renderAttestationPng(CEVENNES), 80));
    const info = imageSize(jpg);
    expect(info).toMatchObject({ format: 'jpeg' });
    // Patch the SOF0 frame size.
    const sof = jpg.indexOf(Buffer.from([0xff, 0xc0]));
    jpg.writeUInt16BE(6000, sof + 5);
    jpg.writeUInt16BE(9000, sof + 7);
    expect(imageSize(jpg)).toEqual({ format: 'jpeg', width: 9000, height: 6000 });
    expect(refusedImage(await decodeImage(jpg)).code).toBe('IMAGE_TROP_GRANDE');
  });

  test('a limit can be lowered by the caller', async () => {
    const png = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'datamatrix', 'cevennes.png'));
    expect(refusedImage(await decodeImage(png, { maxBytes: 1024 })).reason).toMatch(/pèse 2,1 Ko, au-delà de la limite de 1 Ko/);
    expect(refusedImage(await decodeImage(png, { maxPixels: 10_000 })).code).toBe('IMAGE_TROP_GRANDE');
  });

  test.each([
    ['a PDF', Buffer.from('%PDF-1.7\n1 0 obj'), /document PDF/],
    ['a HEIC photo', Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic'), Buffer.alloc(16)]), /HEIC/],
    ['a GIF', Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'), /GIF/],
    ['scanner text sent as a file', Buffer.from(CEVENNES_TEXT), /du texte, pas une image/],
    ['binary garbage', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37 + 11) % 256)), /format inconnu/],
  ])('%s is not a PNG or JPEG', async (_n, buf, what) => {
    const r = refusedImage(await decodeImage(buf));
    expect(r.code).toBe('FORMAT_IMAGE_NON_PRIS_EN_CHARGE');
    expect(r.reason).toMatch(what);
  });

  test('a truncated PNG and a truncated JPEG are refused as damaged', async () => {
    const png = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'datamatrix', 'cevennes.png'));
    const r1 = refusedImage(await decodeImage(png.subarray(0, 200)));
    expect(r1.code).toBe('IMAGE_ILLISIBLE');
    expect(r1.reason).toMatch(/fichier PNG est endommagé ou tronqué/);
    expect(refusedImage(await decodeImage(png.subarray(0, 20))).code).toBe('IMAGE_ILLISIBLE');
    const jpg = toJpeg(png, 80);
    expect(refusedImage(await decodeImage(jpg.subarray(0, 300))).code).toBe('IMAGE_ILLISIBLE');
  });

  test('an empty buffer', async () => {
    expect(refusedImage(await decodeImage(Buffer.alloc(0))).code).toBe('IMAGE_VIDE');
  });
});

describe('readAttestation: image or text → attestation', () => {
  test('from a PNG, with the admission date checked', async () => {
    const r = await readAttestation(await renderAttestationPng(CEVENNES, { rotate: 90 }), { admissionDate: '2027-02-01' });
    expect(r).toMatchObject({
      ok: true,
      source: 'image',
      attestation: { numeroAmc: '0075500017', numeroAdherent: '00012345', typesConvention: ['IS', 'SP'] },
    });
    expect(r.ok && r.attestation.warnings.map((w) => w.code)).toEqual(['ATTESTATION_EXPIREE']);
  });

  test('from scanner text', async () => {
    const r = await readAttestation(CEVENNES_TEXT + '\r\n');
    expect(r).toMatchObject({ ok: true, source: 'texte', attestation: { raw: CEVENNES_TEXT + '\r\n', text: CEVENNES_TEXT } });
  });

  test('a DataMatrix that is not an attestation (a 2D-Doc) is decoded, then refused by the parser', async () => {
    const png = await bwipjs.toBuffer({
      bcid: 'datamatrix',
      text: 'DC04FR0000011E6B1E6B0101FR\u001dMME DUPONT',
      scale: 4,
      backgroundcolor: 'FFFFFF',
      paddingwidth: 2,
      paddingheight: 2,
    });
    const r = await readAttestation(png);
    expect(r).toMatchObject({ ok: false, code: 'DEUX_D_DOC', source: 'image' });
  });

  test('an image refusal has an empty raw text', async () => {
    const r = await readAttestation(grayToPng(gray(300, 200, 255)));
    expect(r).toMatchObject({ ok: false, code: 'DATAMATRIX_INTROUVABLE', raw: '', source: 'image' });
  });
});
