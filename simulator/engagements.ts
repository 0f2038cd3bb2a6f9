/**
 * Engagements issued by the AMC miroir's CLC, their cancellation (DEL) and invoicing.
 *
 * Engagement number [profile]: `E` + the numéro AMC's last 4 digits + date of the calculation
 * AAMMJJ + instance tag (2 characters, random per simulator run) + sequence (7 digits): 20
 * characters, e.g. `E5365260314K70000042` — the width of the DRE-ES invoice record's engagement
 * field (lib/billing/layouts/dre-es.json), so the bridge bills with the number it was given. The
 * tag keeps numbers unique across simulator restarts.
 *
 * One active engagement per invoice, keyed by (FINESS géographique, numéro de facture): a second
 * CLC with the same content returns the same engagement; with different content it is refused
 * (6023) until the engagement is cancelled.
 */

export type EtatEngagement = 'ACTIF' | 'ANNULE' | 'FACTURE';

export interface Engagement {
  numero: string;
  numeroAmc: string;
  /** Access point that issued it (operator or AMC id). */
  pointAcces: string;
  finessJuridique: string;
  finessGeographique: string;
  numeroFacture: string;
  /** IdRequete of the CLC that created it. */
  idRequete: string;
  /** AMC share engaged, euros. */
  montantAmc: number;
  dateCalcul: string;
  dateValidite: string;
  etat: EtatEngagement;
  annuleLe?: string;
  motifAnnulation?: string;
  factureLe?: string;
}

interface Entry {
  engagement: Engagement;
  fingerprint: string;
  /** The CLC answer payload (without header), replayed for an identical CLC. */
  answer: Record<string, unknown>;
}

export type CancelResult = { ok: true; engagement: Engagement } | { ok: false; code: '6020' | '6021' | '6022' };

function yyyymmdd(d: Date): string {
  return `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}`;
}

export class EngagementBook {
  private readonly byNumero = new Map<string, Entry>();
  private readonly byInvoice = new Map<string, string>();
  private seq = 0;

  constructor(
    readonly tag: string,
    private readonly now: () => Date = () => new Date(),
    /** Oldest engagements are forgotten beyond this count (bounded memory in long benchmarks). */
    private readonly limit = 200_000,
  ) {}

  private static invoiceKey(finessGeographique: string, numeroFacture: string): string {
    return `${finessGeographique}|${numeroFacture}`;
  }

  /** The engagement held by an invoice (active or invoiced), with the answer it was issued with. */
  forInvoice(finessGeographique: string, numeroFacture: string): Entry | undefined {
    const n = this.byInvoice.get(EngagementBook.invoiceKey(finessGeographique, numeroFacture));
    return n ? this.byNumero.get(n) : undefined;
  }

  nextNumero(numeroAmc: string): string {
    this.seq += 1;
    return `E${numeroAmc.slice(-4)}${yyyymmdd(this.now()).slice(2)}${this.tag}${String(this.seq % 10_000_000).padStart(7, '0')}`;
  }

  record(e: Engagement, fingerprint: string, answer: Record<string, unknown>): void {
    if (this.byNumero.size >= this.limit) {
      const oldest = this.byNumero.values().next().value as Entry;
      this.byNumero.delete(oldest.engagement.numero);
      const key = EngagementBook.invoiceKey(oldest.engagement.finessGeographique, oldest.engagement.numeroFacture);
      if (this.byInvoice.get(key) === oldest.engagement.numero) this.byInvoice.delete(key);
    }
    this.byNumero.set(e.numero, { engagement: e, fingerprint, answer });
    this.byInvoice.set(EngagementBook.invoiceKey(e.finessGeographique, e.numeroFacture), e.numero);
  }

  /**
   * Cancel an engagement. `servedAmcs` restricts it to the AMCs of the access point the DEL was
   * posted to (an engagement of another AMC is "unknown" there).
   */
  cancel(numero: string, servedAmcs: (numeroAmc: string) => boolean, motif?: string): CancelResult {
    const entry = this.byNumero.get(numero);
    if (!entry || !servedAmcs(entry.engagement.numeroAmc)) return { ok: false, code: '6020' };
    const e = entry.engagement;
    if (e.etat === 'ANNULE') return { ok: false, code: '6021' };
    if (e.etat === 'FACTURE') return { ok: false, code: '6022' };
    e.etat = 'ANNULE';
    e.annuleLe = this.now().toISOString();
    if (motif) e.motifAnnulation = motif;
    this.byInvoice.delete(EngagementBook.invoiceKey(e.finessGeographique, e.numeroFacture));
    return { ok: true, engagement: e };
  }

  /** Mark an active engagement as invoiced (its DRE-ES was received): it can no longer be cancelled. */
  markInvoiced(numero: string): boolean {
    const entry = this.byNumero.get(numero);
    if (!entry || entry.engagement.etat !== 'ACTIF') return false;
    entry.engagement.etat = 'FACTURE';
    entry.engagement.factureLe = this.now().toISOString();
    return true;
  }

  get(numero: string): Engagement | undefined {
    const e = this.byNumero.get(numero)?.engagement;
    return e ? { ...e } : undefined;
  }

  list(): readonly Engagement[] {
    return Object.freeze([...this.byNumero.values()].map((x) => Object.freeze({ ...x.engagement })));
  }
}
