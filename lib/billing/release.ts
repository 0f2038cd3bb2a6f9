/**
 * Releasing an AMC invoice for DRE-ES (pure): does the dossier's invoice go out, wait, or is it
 * refused? And the DRE-ES invoice built from the dossier, the lots of one file, the file's name.
 *
 * An invoice is released only when (issue 10):
 *  (a) the AMC share is above zero;
 *  (b) a live CLC engagement exists for the invoice, and the claimed amounts equal the engaged ones
 *      (per line: AMO + AMC + patient = quantity × unit price; the AMC total = the engagement's;
 *      a claim given by the caller must equal it too);
 *  (c) the AMO payment is recorded, when the site's policy says to wait for it.
 * Otherwise it waits (`pending`, e.g. no engagement yet, AMO payment awaited, amended invoice
 * whose new CLC is awaited) or is refused (`refused`: no AMC share, amounts that differ from the
 * engagement, already billed, cancelled stay, data the file cannot carry). Reasons are French,
 * for an operator, and never hold patient data.
 */
import type { DossierRecord, Engagement } from '../dossier/dossier';
import type { DreFile, DreInvoice, DreLine } from './dre-es';
import { DRE_ES } from './layouts';

export interface ReleasePolicy {
  /** Wait for the AMO payment before billing the AMC (per-site policy). */
  waitForAmoPayment: boolean;
}

/** What the journal knows of the invoice's billing (lib/store InvoiceBilling, the fields read here). */
export interface BillingFacts {
  state: string;
  amoPaidAt?: string;
  amoCents?: number;
}

export type ReleaseCode =
  | 'NO_INVOICE'
  | 'NO_ENGAGEMENT'
  | 'INVOICE_AMENDED'
  | 'DEL_PENDING'
  | 'MANUAL'
  | 'AMO_UNPAID'
  | 'NO_AMC_SHARE'
  | 'AMOUNT_MISMATCH'
  | 'AMO_MISMATCH'
  | 'ALREADY_BILLED'
  | 'CANCELLED'
  | 'INCOMPLETE';

export type ReleaseVerdict =
  | {
      state: 'ready';
      amc: string;
      finess: string;
      engagement: string;
      amcCents: number;
      invoiceDate: string;
      invoice: DreInvoice;
    }
  | { state: 'pending' | 'refused'; code: ReleaseCode; reason: string; amc?: string; finess?: string };

/** [profile] Line family (DRE-ES 510 `family`) from the prestation code: first match wins. */
export const LINE_FAMILIES: ReadonlyArray<{ pattern: RegExp; family: string }> = [
  { pattern: /^GHS/i, family: 'GHS' },
  { pattern: /^FJ/i, family: 'FJ' },
  { pattern: /^CP/i, family: 'CP' },
  { pattern: /^(ACE|CS|C|APC|PFB|ATU)$/i, family: 'ACE' },
  { pattern: /^(PJ|TM)/i, family: 'TM' },
];

/** [profile] Venue type (DRE-ES 500 `venueType`) from the dossier's stay type. */
export const VENUE_TYPES: Readonly<Record<string, string>> = {
  HOSPITALISATION: 'H',
  HOSPITALISATION_COMPLETE: 'H',
  AMBULATOIRE: 'H',
  ACE: 'A',
  CONSULTATION: 'A',
  EXTERNE: 'A',
  URGENCE: 'A',
  URGENCES: 'A',
  HAD: 'D',
  I: 'H',
  O: 'A',
  E: 'A',
};

const BILLED_STATES = new Set(['FACTURE_AMC', 'PAYE', 'PAYE_PARTIEL', 'REJETE']);
const NO_SHARE_STATES = new Set(['SANS_AMC', 'DROITS_KO', 'CALCUL_REFUSE']);
const OPEN_BILLING = new Set(['pending', 'refused', 'ready']);

const cents = (euros: number): number => Math.round(euros * 100);
const fmt = (c: number): string => `${(c / 100).toFixed(2).replace('.', ',')} €`;

function familyOf(code: string): string {
  return LINE_FAMILIES.find((f) => f.pattern.test(code))?.family ?? 'SUP';
}

/** The NIR's 2-digit key (97 − NIR mod 97; Corsica 2A → 19, 2B → 18 for the computation). */
export function nirKey(nir13: string): string {
  const n = nir13.toUpperCase().replace('2A', '19').replace('2B', '18');
  const mod = Number(BigInt(n) % 97n);
  return String(97 - mod).padStart(2, '0');
}

function fieldWidth(record: string, field: string): number {
  const r = DRE_ES.records.find((x) => x.name === record);
  return r?.fields.find((f) => f.name === field)?.length ?? Infinity;
}

/**
 * The verdict for the dossier's current invoice. `claimAmcCents`: the AMC share the caller claims
 * (must equal the engaged one); `today`: YYYY-MM-DD, the invoice date when the GAP gave none.
 */
export function releaseCheck(
  d: DossierRecord,
  billing: BillingFacts | undefined,
  policy: ReleasePolicy,
  o: { claimAmcCents?: number; today: string },
): ReleaseVerdict {
  const amc = d.couverture?.numeroAmc;
  const finess = d.finessGeographique ?? d.key.split('/')[0];
  const base = { ...(amc ? { amc } : {}), ...(finess ? { finess } : {}) };
  const wait = (code: ReleaseCode, reason: string): ReleaseVerdict => ({ state: 'pending', code, reason, ...base });
  const refuse = (code: ReleaseCode, reason: string): ReleaseVerdict => ({ state: 'refused', code, reason, ...base });
  const f = d.facture;
  if (!f) return wait('NO_INVOICE', 'aucune facture reçue pour ce dossier');
  if (billing && !OPEN_BILLING.has(billing.state)) return refuse('ALREADY_BILLED', `facture ${f.numero} déjà facturée (${billing.state})`);
  if (BILLED_STATES.has(d.etat)) return refuse('ALREADY_BILLED', `facture déjà envoyée à l'AMC (dossier ${d.etat})`);
  if (d.etat === 'ANNULE') return refuse('CANCELLED', 'séjour annulé : rien à facturer');
  if (NO_SHARE_STATES.has(d.etat))
    return refuse('NO_AMC_SHARE', `pas de part AMC (dossier ${d.etat}) : part complémentaire facturée au patient`);
  if (d.etat === 'A_TRAITER_MANUELLEMENT') return wait('MANUAL', 'dossier en traitement manuel');
  if (d.factureEnAttente) return wait('INVOICE_AMENDED', 'facture modifiée : le nouveau calcul (DEL puis CLC) est attendu');
  const eng: Engagement | undefined = d.engagements.find((e) => e.statut === 'VIVANT' && e.factureNumero === f.numero);
  if (d.etat !== 'ENGAGE' || !eng) return wait('NO_ENGAGEMENT', `pas d'engagement CLC vivant pour la facture ${f.numero}`);
  if (eng.delDemande) return wait('DEL_PENDING', `annulation (DEL) de l'engagement ${eng.numero} en cours`);
  if (!amc) return refuse('INCOMPLETE', 'numéro AMC inconnu');
  if (typeof eng.montantAmc !== 'number' || !eng.lignes?.length)
    return refuse('INCOMPLETE', `montants engagés inconnus pour l'engagement ${eng.numero} : traitement manuel`);
  const engagedCents = cents(eng.montantAmc);
  if (engagedCents <= 0) return refuse('NO_AMC_SHARE', 'part AMC nulle : rien à facturer à l’AMC');
  if (o.claimAmcCents !== undefined && o.claimAmcCents !== engagedCents)
    return refuse('AMOUNT_MISMATCH', `part AMC réclamée ${fmt(o.claimAmcCents)}, engagée ${fmt(engagedCents)}`);

  const lines: DreLine[] = [];
  let lineAmc = 0;
  let amoTotal = 0;
  for (let i = 0; i < f.lignes.length; i++) {
    const l = f.lignes[i];
    const numero = l.numero ?? i + 1;
    const e = eng.lignes.find((x) => x.numero === numero);
    if (!e) return refuse('AMOUNT_MISMATCH', `ligne ${numero} de la facture absente de l'engagement`);
    const total = cents(l.quantite * l.prixUnitaire);
    const amo = cents(l.montantAmo);
    const amcL = cents(e.montantAmc);
    const patient = cents(e.montantPatient);
    if (Math.abs(amo + amcL + patient - total) > 1)
      return refuse(
        'AMOUNT_MISMATCH',
        `ligne ${numero} : AMO ${fmt(amo)} + AMC ${fmt(amcL)} + patient ${fmt(patient)} ≠ montant ${fmt(total)}`,
      );
    lineAmc += amcL;
    amoTotal += amo;
    lines.push({
      family: familyOf(l.code),
      code: l.code,
      startDate: l.dateDebut,
      endDate: l.dateFin ?? l.dateDebut,
      quantity: l.quantite,
      unitPriceCents: cents(l.prixUnitaire),
      amoRate: Math.round(l.tauxAmo),
      amoCents: amo,
      amcCents: amcL,
      // the rounding cent, if any, stays with the patient share so that the line adds up
      patientCents: total - amo - amcL,
    });
  }
  if (eng.lignes.length !== f.lignes.length)
    return refuse('AMOUNT_MISMATCH', `l'engagement compte ${eng.lignes.length} lignes, la facture ${f.lignes.length}`);
  if (lineAmc !== engagedCents) return refuse('AMOUNT_MISMATCH', `part AMC des lignes ${fmt(lineAmc)}, engagée ${fmt(engagedCents)}`);
  if (lines.some((l) => l.patientCents < 0)) return refuse('AMOUNT_MISMATCH', 'part patient négative sur une ligne');

  if (policy.waitForAmoPayment) {
    if (!billing?.amoPaidAt) return wait('AMO_UNPAID', 'paiement AMO attendu avant la facturation AMC (réglage du site)');
    if (billing.amoCents !== undefined && billing.amoCents !== amoTotal)
      return refuse('AMO_MISMATCH', `AMO payée ${fmt(billing.amoCents)}, facturée ${fmt(amoTotal)} : facture à corriger`);
  }

  const id = d.identite;
  const nir = (id.nir ?? '').toUpperCase();
  const nir13 = nir.slice(0, 13);
  if (!/^\d{5}(\d{2}|2A|2B)\d{6}$/.test(nir13) || !id.dateNaissance)
    return refuse('INCOMPLETE', 'identité du bénéficiaire incomplète (NIR, date de naissance) : la DRE-ES ne peut pas la porter');
  const key = nir.length === 15 ? nir.slice(13) : nirKey(nir13);
  const venue = d.sejour.numeroVenue ?? d.sejour.nda ?? d.key.split('/').pop() ?? '';
  const venueType = VENUE_TYPES[(d.sejour.type ?? '').toUpperCase()] ?? 'H';
  const entry = d.sejour.dateEntree ?? f.lignes[0]?.dateDebut;
  const discharge = d.sejour.dateSortie ?? (venueType === 'A' ? entry : undefined);
  if (!entry || !discharge) return wait('INCOMPLETE', 'dates du séjour incomplètes (entrée, sortie)');
  const invoiceDate = f.dateFacture ?? o.today;
  for (const [rec, field, value, what] of [
    ['invoice', 'invoiceNumber', f.numero, 'numéro de facture'],
    ['invoice', 'engagement', eng.numero, "numéro d'engagement"],
    ['invoice', 'venue', venue, 'numéro de venue'],
  ] as const) {
    const w = fieldWidth(rec, field);
    if (value.length > w) return refuse('INCOMPLETE', `${what} de ${value.length} caractères : la DRE-ES en porte ${w} au plus`);
  }
  const invoice: DreInvoice = {
    number: f.numero,
    engagement: eng.numero,
    nir: nir13,
    nirKey: key,
    birthDate: id.dateNaissance,
    birthRank: id.rangNaissance ?? 1,
    venue,
    venueType,
    entryDate: entry,
    dischargeDate: discharge,
    invoiceDate,
    lines,
  };
  return { state: 'ready', amc, finess, engagement: eng.numero, amcCents: engagedCents, invoiceDate, invoice };
}

/** One DRE-ES file for one AMC: a lot per FINESS géographique, in the order given. */
export function dreFile(
  emitter: string,
  amc: string,
  numero: number,
  date: string,
  invoices: Array<{ finess: string; invoice: DreInvoice }>,
  mode: 'R' | 'T' = 'R',
): { file: DreFile; lots: Map<string, number> } {
  const lots = new Map<string, number>();
  const file: DreFile = { emitter, numero, date, amc, mode, lots: [] };
  for (const x of invoices) {
    let n = lots.get(x.finess);
    if (n === undefined) {
      n = file.lots.length + 1;
      lots.set(x.finess, n);
      file.lots.push({ number: n, finess: x.finess, invoices: [] });
    }
    file.lots[n - 1].invoices.push(x.invoice);
  }
  return { file, lots };
}

/** The DRE-ES file name: `DREES_{emitter}_{amc}_{numero on 8 digits}.dre`. */
export function dreFileName(emitter: string, amc: string, numero: number): string {
  return `DREES_${emitter}_${amc}_${String(numero).padStart(8, '0')}.dre`;
}
