/**
 * The pure part of roc-datamatrix: what lands on msg.roc.attestation on a refusal, the node
 * status (numéro AMC only), and plain text arriving as a Buffer (serial-port scanners).
 */
import type { NodeAPI, NodeStatus } from '../common/red';
import { MAX_TEXT_LENGTH, type ReadResult } from '../../lib/datamatrix';

/** What lands on msg.roc.attestation when the input is refused (output 2). */
export interface AttestationRefusee {
  status: 'KO';
  /** Stable refusal code (lib/datamatrix README: SCAN_INCOMPLET, CARTE_VITALE, IMAGE_TROP_LOURDE…). */
  code: string;
  /** French sentence for the clerk (never echoes a NIR, name, birth date or adhérent number). */
  reason: string;
  /** texte: scanner text (string, or a Buffer holding plain text); image: a PNG/JPEG Buffer. */
  source: 'texte' | 'image';
  /** The text as received (a NIR is masked), cut to 1000 characters; absent for images. */
  raw?: string;
  /** Length of the text received, when `raw` was cut. */
  rawLength?: number;
  repairs?: { code: string; message: string }[];
  grammar?: { id: string; version: string };
}

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
// eslint-disable-next-line no-control-regex -- file signatures and control characters are the point
const FILE_SIGNATURES = /^(%PDF|GIF8|PK\x03\x04|<\?xml|<svg|\{\\rtf)/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Control characters a scan never carries (tab, CR, LF, EOT, FS, GS, RS, US: scanner separators). */
// eslint-disable-next-line no-control-regex
const NOT_TEXT = /[\x00-\x03\x05-\x08\x0b\x0c\x0e-\x1b\x7f-\x9f]/;

/**
 * A small Buffer that is not an image but plain text (a scanner on a serial port, a file holding
 * the scan): read it as scanner text, so the clerk gets the reading's verdict (incomplete scan,
 * Vitale card…) rather than "this is not an image". UTF-8 when valid, else Latin-1.
 */
export function bufferText(buf: Buffer): string | undefined {
  if (buf.length === 0 || buf.length > 4096) return undefined;
  if (buf.subarray(0, 4).equals(PNG) || (buf[0] === 0xff && buf[1] === 0xd8)) return undefined;
  // Files that are text at their start: left to the image reader, which names them.
  if (FILE_SIGNATURES.test(buf.toString('latin1', 0, 8))) return undefined;
  let s: string;
  try {
    s = utf8.decode(buf);
  } catch {
    s = buf.toString('latin1');
  }
  return NOT_TEXT.test(s) ? undefined : s;
}

export function refusal(r: Extract<ReadResult, { ok: false }>): AttestationRefusee {
  const out: AttestationRefusee = { status: 'KO', code: r.code, reason: r.reason, source: r.source };
  if (r.source === 'texte' && typeof r.raw === 'string') {
    if (r.raw.length > MAX_TEXT_LENGTH) {
      out.raw = r.raw.slice(0, MAX_TEXT_LENGTH);
      out.rawLength = r.raw.length;
    } else out.raw = r.raw;
  }
  if (r.repairs?.length) out.repairs = r.repairs;
  if (r.grammar) out.grammar = r.grammar;
  return out;
}

/** The node's status (Node-RED's i18n: the runtime's language, nodes/roc-datamatrix/locales). */
export function statusFor(RED: Pick<NodeAPI, '_'>, r: ReadResult): NodeStatus {
  const image = r.source === 'image' ? ` · ${RED._('roc-datamatrix.status.image')}` : '';
  if (r.ok) {
    const a = r.attestation;
    const extra = `${image}${a.warnings.length ? ` · ${RED._('roc-datamatrix.status.warning')}` : ''}`;
    return {
      fill: a.warnings.length ? 'yellow' : 'green',
      shape: 'dot',
      text: RED._('roc-datamatrix.status.read', { amc: a.numeroAmc }) + extra,
    };
  }
  return { fill: 'yellow', shape: 'ring', text: RED._('roc-datamatrix.status.refused', { code: r.code }) + image };
}

/**
 * The pixel budget from ROC_IMAGE_MAX_MEGAPIXELS (1 to 100; default: lib's 16 MP). Decoding costs
 * about 35 MB of worker memory per megapixel: raise it only with the memory to match.
 */
export function maxPixelsFromEnv(env: Record<string, string | undefined>): number | undefined {
  const raw = env.ROC_IMAGE_MAX_MEGAPIXELS;
  if (raw === undefined || raw.trim() === '') return undefined;
  const mp = Number(raw);
  return Number.isFinite(mp) && mp >= 1 && mp <= 100 ? Math.round(mp * 1e6) : undefined;
}
