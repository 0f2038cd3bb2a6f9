/** Shapes produced by the HPRIM readers. Admissions use the shared `Admission` shape (lib/model/admission.ts), as lib/hl7 does. */
import type { Admission } from '../model/admission';
import type { Charset } from '../model/charset';

/** A problem found in an HPRIM file or document. Messages name the place, never patient data. */
export interface HprimIssue {
  /** ERROR_CODES key (or a warning code such as COUNT_ABSENT, VENUE_FROM_NDA). */
  code: string;
  message: string;
  /** 1-based physical line (HPRIM Santé) or XML line. */
  line?: number;
  /** HPRIM Santé record type (H, P, AP, AC, L…) or XML element name. */
  record?: string;
  /** Field number, ASTM numbering (field 1 = record type). */
  field?: number;
  /** Only set when errors and warnings are mixed in one list (acknowledgements). */
  severity?: 'error' | 'warning';
}

export interface HprimReadResult {
  ok: boolean;
  format: 'hprim-sante' | 'hprim-xml';
  admissions: Admission[];
  errors: HprimIssue[];
  warnings: HprimIssue[];
  /** H-3 (file/message name) or enteteMessage/identifiantMessage. */
  messageId?: string;
  /** H-5 first component, or the emetteur's first agent code. */
  sender?: string;
  receiver?: string;
  /** H-7 (ADM…) or the XML root name. */
  messageType?: string;
  charset?: Charset;
}
