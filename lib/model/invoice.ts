/**
 * The billed lines and totals of an invoice from the GAP, shared by the DFT^P03 reader
 * (lib/hl7/dft.ts, on `Admission.facture`) and the invoice checks (lib/dossier/invoice.ts, which
 * re-exports these types). Amounts are euros, as numbers.
 */
import type { IsoDate, Ligne } from './dossier';

/** One billed line: the model's Ligne plus its amount (FT1-11). */
export interface InvoiceLine extends Ligne {
  /** Amount of the line (quantity × unit price), euros. */
  montant: number;
}

export interface InvoiceTotals {
  total: number;
  amo: number;
  amc: number;
  patient: number;
}

/** An invoice as the GAP sent it (DFT^P03: ZFA header, FT1 + ZFT per line). */
export interface AdmissionInvoice {
  /** ZFA-1 invoice number; the same number again is an amended invoice. */
  numero: string;
  /** ZFA-2. */
  dateFacture?: IsoDate;
  lignes: InvoiceLine[];
  /** ZFA-3…6, when sent (all four or none). */
  totaux?: InvoiceTotals;
}
