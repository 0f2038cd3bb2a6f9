/**
 * Test cards: attestation → DataMatrix text (a grammar) → PNG (bwip-js).
 *
 * Used by tests, the simulator and demos. `encodeAttestationText` checks its own output with
 * `parseAttestation`, so whatever it returns reads back to the same attestation.
 */
import bwipjs from 'bwip-js';
import type { Attestation } from '../model/dossier';
import { DEFAULT_GRAMMAR, formatDate } from './grammar';
import { parseAttestation } from './parse';
import { blit, gray, Gray, grayToPng, pngToGray, prng, rotateQuarter } from './raster';
import type { AttestationGrammar, RenderOptions } from './types';

function fieldValue(a: Attestation, key: string): string {
  const v = a[key];
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.join('');
  return String(v);
}

/** Write the text a DataMatrix of this attestation carries, in `grammar` (default grammar). */
export function encodeAttestationText(attestation: Attestation, grammar: AttestationGrammar = DEFAULT_GRAMMAR): string {
  const values = grammar.fields.map((f) => {
    let v: string;
    if (f.key === 'numeroAmc') v = attestation.numeroAmcBrut ? String(attestation.numeroAmcBrut) : String(attestation.numeroAmc ?? '');
    else if (f.type === 'date') v = attestation[f.key] ? formatDate(String(attestation[f.key]), grammar.dateFormat) : '';
    else v = fieldValue(attestation, f.key);
    if (f.width !== undefined && v.length < f.width) {
      const padChar = f.pad ?? (f.type === 'digits' ? '0' : ' ');
      v = f.type === 'digits' ? v.padStart(f.width, padChar) : v.padEnd(f.width, padChar);
    }
    if (f.width !== undefined && v.length > f.width)
      throw new Error(`Attestation non encodable : ${f.label} trop long pour la grammaire ${grammar.id} (${v.length} > ${f.width})`);
    if (grammar.separator && v.includes(grammar.separator))
      throw new Error(`Attestation non encodable : ${f.label} contient le séparateur de la grammaire ${grammar.id}`);
    return v;
  });
  const text =
    grammar.layout === 'fixed' ? grammar.prefix + values.join('') : grammar.prefix + grammar.separator + values.join(grammar.separator);
  const check = parseAttestation(text, { grammars: [grammar] });
  if (!check.ok) throw new Error(`Attestation non encodable dans la grammaire ${grammar.id} : ${check.reason}`);
  return text;
}

/** Render the DataMatrix alone: black on white, a quiet zone of 2 modules. */
async function renderSymbol(text: string, scale: number): Promise<Gray> {
  const png = await bwipjs.toBuffer({
    bcid: 'datamatrix',
    text,
    scale,
    paddingwidth: 2,
    paddingheight: 2,
    backgroundcolor: 'FFFFFF',
  });
  return pngToGray(png);
}

/** An A6 page at 150 ppp (620 × 874) with text-like lines, the symbol small at bottom right. */
function page(symbol: Gray, seed: number): Gray {
  const W = 620;
  const H = 874;
  const p = gray(W, H, 250);
  const rnd = prng(seed);
  const fill = (x: number, y: number, w: number, h: number, v: number) => {
    const y0 = Math.max(0, y);
    const y1 = Math.min(H, y + h);
    const x0 = Math.max(0, x);
    const x1 = Math.min(W, x + w);
    for (let yy = y0; yy < y1; yy++) p.data.fill(v, yy * W + x0, yy * W + x1);
  };
  // Header band (insurer logo), then paragraphs of "words".
  fill(30, 30, 160, 50, 60);
  fill(220, 40, 300, 14, 90);
  const sx = W - symbol.width - 40;
  const sy = H - symbol.height - 60;
  for (let y = 110; y < H - 40; y += 18 + Math.floor(rnd() * 6)) {
    let x = 30;
    const right = y + 12 > sy - 20 ? sx - 30 : W - 30;
    while (x < right - 20) {
      const w = 12 + Math.floor(rnd() * 55);
      if (x + w > right) break;
      // letters: a few vertical strokes per word
      for (let cx = x; cx < x + w; cx += 3 + Math.floor(rnd() * 3))
        fill(cx, y + (rnd() < 0.3 ? 0 : 3), 2, rnd() < 0.3 ? 12 : 9, 40 + Math.floor(rnd() * 60));
      x += w + 6 + Math.floor(rnd() * 6);
    }
  }
  fill(sx - 20, sy - 20, symbol.width + 40, symbol.height + 40, 250);
  blit(p, symbol, sx, sy);
  return p;
}

/**
 * Render a test card: the attestation's DataMatrix as a PNG (optionally rotated, or small on a
 * white A6 page with text-like noise).
 */
export async function renderAttestationPng(attestation: Attestation, opts: RenderOptions = {}): Promise<Buffer> {
  const text = encodeAttestationText(attestation, opts.grammar);
  const sc = opts.scale ?? (opts.page ? 2 : 4);
  let img = await renderSymbol(text, sc);
  if (opts.page) img = page(img, opts.seed ?? 1);
  img = rotateQuarter(img, opts.rotate ?? 0);
  return grayToPng(img);
}
