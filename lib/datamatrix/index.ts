/**
 * Attestation DataMatrix reader: text or image → `msg.roc.attestation`.
 *
 *   parseAttestation(text, opts)        scanner text → attestation | refusal (French reason)
 *   decodeImage(buffer, opts)           PNG/JPEG → DataMatrix text (@zxing/library, in a worker thread: pool.ts)
 *   readAttestation(text | buffer, opts) both
 *   encodeAttestationText / renderAttestationPng   test cards (bwip-js)
 *
 * The grammar inside the symbol is [profile] data: grammars/*.json (see README.md here).
 */
import { decodeImage } from './image';
import { parseAttestation } from './parse';
import type { DecodePool } from './pool';
import type { ParseFailure, ParseSuccess, ReadOptions } from './types';

export * from './types';
export { parseAttestation, MAX_TEXT_LENGTH } from './parse';
export { decodeImage, decodeImageSync, checkImage, MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, imageSize } from './image';
export {
  DecodePool,
  type DecodePoolOptions,
  decodePoolOptionsFromEnv,
  sharedDecodePool,
  sharedDecodePoolStats,
  configureSharedDecodePool,
  acquireSharedDecodePool,
  releaseSharedDecodePool,
  closeSharedDecodePool,
} from './pool';
export { encodeAttestationText, renderAttestationPng } from './render';
export { DEFAULT_GRAMMARS, DEFAULT_GRAMMAR, compileGrammar, GrammarError } from './grammar';
export { applyMixup, undoMixup } from './keyboard';
export { REPAIRS, WARNINGS, REFUSALS, IMAGE_REFUSALS } from './messages';

export type ReadResult = (ParseSuccess | ParseFailure) & { source: 'texte' | 'image' };

/**
 * Read an attestation from scanner text or from a PNG/JPEG image (Buffer). Never throws on bad
 * input; an image refusal has `raw: ''`.
 */
export async function readAttestation(input: string | Buffer, opts: ReadOptions & { pool?: DecodePool } = {}): Promise<ReadResult> {
  if (typeof input === 'string') return { ...parseAttestation(input, opts), source: 'texte' };
  if ((input as unknown) instanceof Uint8Array) {
    const buf = Buffer.isBuffer(input) ? input : Buffer.from(input as Uint8Array);
    const decoded = await decodeImage(buf, opts);
    if (!decoded.ok) return { ok: false, reason: decoded.reason, code: decoded.code, raw: '', source: 'image' };
    return { ...parseAttestation(decoded.text, opts), source: 'image' };
  }
  return { ...parseAttestation(input as unknown as string, opts), source: 'texte' };
}
