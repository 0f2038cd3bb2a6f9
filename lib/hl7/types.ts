/**
 * Shapes produced by the HL7 library. The admission model itself (`Admission` on
 * `msg.roc.admission` and its parts) is shared with lib/hprim and lives in lib/model/admission.ts;
 * it is re-exported here under the names lib/hl7 has always used.
 */
export type {
  Admission,
  AdmissionMovement,
  AdmissionPatient,
  AdmissionUf,
  AdmissionVenue,
  AssigningAuthority,
  Coverage,
  CoverageRate,
  Identifier,
  InsIdentifier,
  AdmissionIssue as Hl7Issue,
  IssueLocation as Hl7Location,
} from '../model/admission';

export type { AdmissionInvoice, InvoiceLine, InvoiceTotals } from '../model/invoice';

export type { Hl7Charset, Hl7ErrorCode, RocMeaning } from './profile';
