/**
 * One entry point for a dropped file: HPRIM XML when the content starts with '<' (after a BOM and
 * blanks), HPRIM Santé otherwise; and the matching acknowledgement, ready to be written.
 */
import { ackXmlFor, santeAckFor } from './ack';
import { readHprimSante, type SanteOptions } from './sante';
import type { HprimReadResult } from './types';
import { readHprimXml, type XmlOptions } from './xml';

export function isHprimXml(bytes: Buffer): boolean {
  let i = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0d || bytes[i] === 0x0a)) i++;
  return bytes[i] === 0x3c; // '<'
}

/** Read a dropped file of either format. Never throws. */
export function readHprimFile(bytes: Buffer, options: SanteOptions & XmlOptions = {}): HprimReadResult {
  return isHprimXml(bytes) ? readHprimXml(bytes, options) : readHprimSante(bytes, options);
}

export interface HprimAnswer {
  /** Suggested file name in the output directory. */
  fileName: string;
  bytes: Buffer;
}

/**
 * The acknowledgement of a result: acquittementsPatients (`<id>.ack.xml`) for HPRIM XML, the
 * HPRIM Santé ACK/ERR file otherwise. `fallbackId` names the answer when the message id could
 * not be read (e.g. the dropped file's name).
 */
export function answerFor(result: HprimReadResult, options: { emetteur?: string; now?: Date; fallbackId?: string } = {}): HprimAnswer {
  const withId: HprimReadResult = result.messageId || !options.fallbackId ? result : { ...result, messageId: options.fallbackId };
  const safe = (s: string) => s.replace(/[^\w.-]/g, '_').slice(0, 120) || 'inconnu';
  if (result.format === 'hprim-xml') {
    const xml = ackXmlFor(withId, options);
    return { fileName: `${safe(withId.messageId ?? '')}.ack.xml`, bytes: Buffer.from(xml, 'utf8') };
  }
  const ack = santeAckFor(withId, options);
  return { fileName: safe(ack.fileName), bytes: ack.bytes };
}
