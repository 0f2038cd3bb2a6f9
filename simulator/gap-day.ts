/**
 * A deterministic hospital day as PAM-FR 2.5 ADT messages, generated lazily (a generator: 100,000
 * messages never sit in memory at once).
 *
 * Several venues (séjours) are open at the same time and their events interleave; each venue's
 * own events always come in a valid order (a pre-admission before its admission, no discharge
 * before the admission, a cancellation only of the last movement, leave out before leave back…).
 * Patients are the seeded AMC beneficiaries (simulator/seed/amc-seed.json), so an admission that
 * reaches the AMC simulator gets the outcome its scenario describes (B01 droits OK, B05 droits
 * fermés…). All data is fictitious.
 *
 * Story shapes (chosen with a seeded RNG; DATA in STORIES below):
 *   A05 → A38                               pre-admission cancelled
 *   A05 → A01 → … → A03 [→ A13 → A03]       planned stay
 *   A01 → [A08|Z99] → [A02]* → [A21 → A22] → A03 [→ A13 → A03]
 *   A01 → A11                               admission cancelled
 *   A04 → A03 | A04 → A11                   outpatient / emergency
 * and now and then an A31 identity update for the venue's patient.
 *
 * With `invoices`, the billing office follows (its draws come from a second RNG, so the ADT
 * messages of a seed are the same with or without invoices, only shifted): a venue discharged
 * (last event A03) whose patient has an AMC coverage (scenario not in STORIES.invoice.noAmcScenarios)
 * gets a DFT^P03 (simulator/gap-invoice.ts, /docs/dft-profile.md) a few messages after its A03,
 * and with the shares of STORIES.invoice:
 *   … A03 → DFT                             invoiced
 *   … A03 → DFT → DFT (same ZFA-1)          amended invoice (one line changed)
 *   … A03 → DFT → A13 [→ A11]               cancelled after CLC (discharge, then admission)
 * and, for the share STORIES.invoice.amoPayment.paid of the invoices not cancelled, the AMO pays:
 *   … DFT [→ DFT] → BAR^P05                   AMO payment notice (docs/amo-payments.md)
 * a few messages after the venue's last DFT, built from lib/billing/amo.ts AMO_PAYMENT_HL7: the
 * venue's PID/PV1, ZFA-1 the invoice number, ZFA-4 the (last) invoice's AMO total, ZFA-7 the
 * payment date, a few days after the discharge. The payments draw from a third RNG: the invoices
 * of a seed are the same with or without them.
 */
import { escapeValue } from '../lib/hl7/er7';
import type { Hl7Charset } from '../lib/hl7/profile';
import { CHARSET_TO_MSH18 } from '../lib/hl7/profile';
import { encode } from '../lib/hl7/charset';
import { loadSeed, nirKey, type SeedBeneficiaire } from './seed';
import { mulberry32 } from '../lib/util/random';
import { amendInvoice, draftInvoice, invoiceSegments, nm, type GapInvoice } from './gap-invoice';
import { AMO_PAYMENT_HL7 } from '../lib/billing/amo';

export type GapAckMode = 'original' | 'enhanced';

export interface GapDayOptions {
  /** RNG seed (default 2026). Same seed + options → same messages, byte for byte. */
  seed?: number;
  /** Venues open at the same time, interleaved (default 8). */
  venues?: number;
  /** Messages to generate (default 200, up to whatever the caller wants: generated lazily). */
  messages?: number;
  /** Output charset (default ISO 8859-15, the French default); MSH-18 is set accordingly. */
  charset?: Hl7Charset;
  /** original: MSH-15/16 empty; enhanced: MSH-15 = AL, MSH-16 = `applicationAck` (default AL). */
  ackMode?: GapAckMode;
  applicationAck?: 'AL' | 'NE' | 'ER' | 'SU';
  /** The day (YYYY-MM-DD, default 2026-03-16, inside the seeded 2026 rights). */
  day?: string;
  /**
   * MSH-10 prefix (default `GAP`, at most 12 characters: MSH-10 is 20 at most); control ids are
   * `<prefix><index, 8 digits>`. The CLI uses runControlIdPrefix() so two runs never share an id.
   */
  controlIdPrefix?: string;
  /**
   * Added to the venue and NDA sequence (default 0): the CLI gives each run its own block
   * (runVenueOffset) so that a second run against the same bridge opens new stays, as a real GAP
   * never reuses a venue number. 0 to 8,999,999.
   */
  venueOffset?: number;
  /** The billing office: DFT^P03 after discharges, amended and cancelled invoices (default false). */
  invoices?: boolean;
  /**
   * With `invoices`: the AMO payment notices (BAR^P05) after the invoices, in the share of
   * STORIES.invoice.amoPayment (default true).
   */
  amoPayments?: boolean;
  /** Beneficiaries to draw patients from (default: the seed's, minus none). */
  beneficiaries?: readonly SeedBeneficiaire[];
  /** Share of patients with a qualified INS (PID-32 = VALI), 0..1 (default 0.5). */
  insShare?: number;
}

export interface GapMessage {
  /** 0-based position in the day. */
  index: number;
  /** MSH-10. */
  controlId: string;
  /** MSH-9.1: ADT, DFT for an invoice, BAR for an AMO payment notice. */
  messageType: 'ADT' | 'DFT' | 'BAR';
  /** MSH-9.2 trigger event (P03 for an invoice, P05 for an AMO payment). */
  event: string;
  /** PV1-19 venue number ('' for an A31 that is not tied to a venue). */
  venue: string;
  /** Seed beneficiary id (B01…) and its scenario: not patient data, used to predict outcomes. */
  beneficiary: string;
  scenario: string;
  charset: Hl7Charset;
  /** DFT^P03: the invoice it carries (amounts in cents). */
  invoice?: GapInvoice;
  /** BAR^P05: the AMO payment it carries (ZFA-1, ZFA-4 in cents, ZFA-7 as YYYY-MM-DD). */
  amoPayment?: GapAmoPayment;
  /** ER7 segments, without segment terminators. */
  segments: string[];
}

/** An AMO payment notice of the simulated day. */
export interface GapAmoPayment {
  /** ZFA-1: the invoice number (the DFT's ZFA-1). */
  factureNumero: string;
  /** ZFA-4: the AMO total of the venue's last invoice, cents. */
  amoCents: number;
  /** ZFA-7: AMO payé le, YYYY-MM-DD (a few days after the discharge). */
  paidAt: string;
}

/** Site data: one legal entity, two geographic sites, their UFs. Fictitious FINESS. */
export const GAP_SITE = {
  sendingApplication: 'GAP-SIM',
  sendingFacility: 'CH-ROC',
  receivingApplication: 'ROC-BRIDGE',
  receivingFacility: 'CH-ROC',
  authority: 'CH-ROC',
  finessJuridique: '750712184',
  finessGeo: ['750712192', '750712200'],
  amo: { code: '017510000', name: 'CPAM de Paris' },
  ufs: [
    { code: '1010', label: 'Médecine interne', kind: 'I' },
    { code: '1020', label: 'Cardiologie', kind: 'I' },
    { code: '1030', label: 'Chirurgie orthopédique', kind: 'I' },
    { code: '1040', label: 'Pédiatrie', kind: 'I' },
    { code: '1050', label: 'Maternité', kind: 'I' },
    { code: '2010', label: 'Consultations externes', kind: 'O' },
    { code: '2020', label: 'Urgences', kind: 'E' },
  ],
} as const;

/** Message structure (MSH-9.3) per trigger event. */
export const GAP_STRUCTURES: Readonly<Record<string, string>> = {
  A01: 'ADT_A01',
  A04: 'ADT_A01',
  A05: 'ADT_A05',
  A02: 'ADT_A02',
  A03: 'ADT_A03',
  A08: 'ADT_A01',
  A11: 'ADT_A09',
  A13: 'ADT_A01',
  A21: 'ADT_A21',
  A22: 'ADT_A21',
  A31: 'ADT_A05',
  A38: 'ADT_A38',
  Z99: 'ADT_A01',
  P03: 'DFT_P03',
  P05: 'BAR_P05',
};

/** Events that carry the IN1/IN2/IN3 coverage groups. */
const WITH_COVERAGE = new Set(['A05', 'A01', 'A04', 'A08', 'Z99', 'A03', 'P03']);

/** mulberry32: small, fast, deterministic. */
export const rng = mulberry32;

/**
 * The story shapes and their shares (DATA). `story()` draws them in a fixed order, so a seed
 * gives the same day as long as these numbers do not change.
 */
export const STORIES = {
  /** PV1-2 of a new venue: I inpatient below `inpatient`, O below `outpatient`, else E. */
  klass: { inpatient: 0.7, outpatient: 0.85 },
  /** A04 → A11 (registration cancelled), A04 → A08 → A03 (updated). */
  outpatient: { cancelled: 0.1, updated: 0.1 },
  inpatient: {
    /** A05 before the A01 (planned stay), and of those, A05 → A38 (cancelled). */
    preAdmission: 0.3,
    preAdmissionCancelled: 0.15,
    /** A01 → A11. */
    admissionCancelled: 0.08,
    /** After A01: a Z99 (below z99) or an A08 (below z99 + update). */
    z99: 0.15,
    update: 0.1,
    /** A31 identity update. */
    identity: 0.1,
    /** One or two A02 transfers. */
    transfers: 0.4,
    /** A21 → A22 leave of absence. */
    leave: 0.15,
    /** A03 → A13 → A03 discharge cancelled then done again. */
    dischargeCancelled: 0.08,
  },
  /** Extras asked in IN2-28 (FRJ~PRI: private room) rather than FRJ alone. */
  extras: 0.4,
  invoice: {
    /** Beneficiaries with no usable AMC coverage: no DFT (the patient is billed on paper). */
    noAmcScenarios: ['beneficiaire-inconnu', 'droits-fermes', 'non-eligible', 'amc-hors-roc'] as readonly string[],
    /** Messages between the A03 and the DFT, and between two billing events (inclusive range). */
    delay: { min: 2, max: 12 },
    /** Of the invoiced venues: a second DFT with the same ZFA-1 and a line changed. */
    amended: 0.15,
    /** Of the invoiced venues: A13 after the DFT (the bridge must cancel the engagement, DEL)… */
    cancelAfterClc: 0.08,
    /** …then, when the admission is the last movement left, an A11 as well. */
    cancelAdmission: 0.5,
    /**
     * The AMO's payments (BAR^P05), for the invoices not cancelled: the share paid during the day,
     * and the payment date ZFA-7, in days after the discharge.
     */
    amoPayment: { paid: 0.9, afterDays: { min: 2, max: 6 } },
  },
} as const;

/** A venue's planned events (the story), built up front: a handful of strings. */
function story(r: () => number, klass: string): string[] {
  const s: string[] = [];
  if (klass !== 'I') {
    const o = STORIES.outpatient;
    s.push('A04');
    if (r() < o.cancelled) s.push('A11');
    else {
      if (r() < o.updated) s.push('A08');
      s.push('A03');
    }
    return s;
  }
  const p = STORIES.inpatient;
  const pre = r() < p.preAdmission;
  if (pre) {
    s.push('A05');
    if (r() < p.preAdmissionCancelled) return [...s, 'A38'];
  }
  s.push('A01');
  if (r() < p.admissionCancelled) return [...s, 'A11'];
  const x = r();
  if (x < p.z99) s.push('Z99');
  else if (x < p.z99 + p.update) s.push('A08');
  if (r() < p.identity) s.push('A31');
  const transfers = r() < p.transfers ? 1 + Math.floor(r() * 2) : 0;
  for (let i = 0; i < transfers; i++) s.push('A02');
  if (r() < p.leave) s.push('A21', 'A22');
  s.push('A03');
  if (r() < p.dischargeCancelled) s.push('A13', 'A03');
  return s;
}

/**
 * A run tag for MSH-10 prefixes: `G` + the start time in base 36 + two random base-36 characters
 * (11 characters; with the 8-digit counter, 19 ≤ 20). Two runs never share a control id.
 */
export function runControlIdPrefix(now: number = Date.now(), random: () => number = Math.random): string {
  const rnd = Math.floor(random() * 36 * 36)
    .toString(36)
    .padStart(2, '0');
  return `G${now.toString(36)}${rnd}`.toUpperCase().slice(0, 12);
}

/**
 * A run's block of venue numbers: a multiple of 10,000 drawn from the start time, so two runs a
 * few seconds apart (and up to 899 runs in all) never share a venue.
 */
export function runVenueOffset(now: number = Date.now()): number {
  return (Math.floor(now / 1000) % 899) * 10_000 + 10_000;
}

/** The longest MSH-10 prefix (MSH-10 is ST 20, the counter takes 8). */
export const MAX_CONTROL_ID_PREFIX = 12;

interface Venue {
  number: string;
  nda: string;
  ben: SeedBeneficiaire;
  ipp: string;
  ins: boolean;
  klass: string;
  uf: (typeof GAP_SITE.ufs)[number];
  site: string;
  events: string[];
  next: number;
  admitAt?: string;
  dischargeAt?: string;
  movements: { id: string; event: string; at: string; uf: string }[];
  extras: boolean;
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

function ts(base: number, offsetSec: number): string {
  const d = new Date(base + offsetSec * 1000);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}${pad(d.getUTCHours(), 2)}${pad(d.getUTCMinutes(), 2)}${pad(d.getUTCSeconds(), 2)}`;
}

const ymd = (iso: string): string => iso.replace(/-/g, '');

/** Build a segment from a sparse field list (index = field number). */
function seg(name: string, fields: Record<number, string>): string {
  const max = Math.max(0, ...Object.keys(fields).map(Number));
  const out: string[] = [name];
  for (let i = 1; i <= max; i++) out.push(fields[i] ?? '');
  return out.join('|');
}

/** The seeded beneficiaries (every one; the test-only AMCs are not patients). */
export function seedBeneficiaries(): SeedBeneficiaire[] {
  return loadSeed().seed.beneficiaires;
}

/**
 * Generate the day lazily. Each `next()` builds one message; only the open venues (option
 * `venues`) are held.
 */
export function* gapDay(options: GapDayOptions = {}): Generator<GapMessage, void, undefined> {
  const seed = options.seed ?? 2026;
  const r = rng(seed);
  const total = options.messages ?? 200;
  const open = Math.max(1, options.venues ?? 8);
  const charset: Hl7Charset = options.charset ?? 'iso-8859-15';
  const enhanced = options.ackMode === 'enhanced';
  const appAck = options.applicationAck ?? 'AL';
  const prefix = options.controlIdPrefix ?? 'GAP';
  if (prefix.length > MAX_CONTROL_ID_PREFIX || /[|^~\\&]/.test(prefix))
    throw new RangeError(`gapDay: controlIdPrefix must be at most ${MAX_CONTROL_ID_PREFIX} characters, no HL7 delimiter`);
  const bens = options.beneficiaries ?? seedBeneficiaries();
  if (bens.length === 0) throw new RangeError('gapDay: no beneficiaries to admit');
  const insShare = options.insShare ?? 0.5;
  const day = options.day ?? '2026-03-16';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new RangeError('gapDay: day must be YYYY-MM-DD');
  const base = Date.parse(`${day}T06:00:00Z`);
  // Spread the day over 16 hours; at least one second between messages.
  const step = Math.max(1, Math.floor((16 * 3600) / Math.max(1, total)));
  const yy = day.slice(2, 4);
  const S = GAP_SITE;
  const auth = `${S.authority}&${S.finessJuridique}&M`;
  const venueOffset = options.venueOffset ?? 0;
  if (!Number.isInteger(venueOffset) || venueOffset < 0 || venueOffset > 8_999_999)
    throw new RangeError('gapDay: venueOffset must be an integer from 0 to 8,999,999');
  let venueSeq = venueOffset;
  let movementSeq = 0;
  const venues: Venue[] = [];

  const newVenue = (): Venue => {
    venueSeq++;
    const benIndex = Math.floor(r() * bens.length);
    const ben = bens[benIndex];
    const k = r();
    const klass = k < STORIES.klass.inpatient ? 'I' : k < STORIES.klass.outpatient ? 'O' : 'E';
    const ufs = S.ufs.filter((u) => u.kind === klass);
    const uf = ufs[Math.floor(r() * ufs.length)];
    return {
      number: `${yy}${pad(venueSeq, 7)}`,
      nda: `${yy}1${pad(venueSeq % 1_000_000, 6)}`,
      ben,
      ipp: `${pad(100000 + benIndex * 37, 8)}`,
      ins: r() < insShare,
      klass,
      uf,
      site: S.finessGeo[venueSeq % S.finessGeo.length],
      events: story(r, klass),
      next: 0,
      movements: [],
      extras: r() < STORIES.extras,
    };
  };

  /** Billing events waiting for their turn, by due index (a venue's own events in order). */
  interface Late {
    due: number;
    venue: Venue;
    event: string;
    invoice?: GapInvoice;
    payment?: GapAmoPayment;
  }
  const late: Late[] = [];
  const invoices = options.invoices ?? false;
  // The billing office's own RNG: the ADT stream of a seed does not change with invoices.
  const rb = rng((seed ^ 0x5bd1e995) >>> 0);
  const I = STORIES.invoice;
  // The AMO's own RNG: the invoices of a seed do not change with the payments.
  const ra = rng((seed ^ 0x2c1b3c6d) >>> 0);
  const amoPayments = invoices && (options.amoPayments ?? true);
  const plusDays = (iso: string, days: number): string =>
    new Date(Date.parse(`${iso}T12:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
  const delay = (): number => I.delay.min + Math.floor(rb() * (I.delay.max - I.delay.min + 1));
  const schedule = (item: Late): void => {
    let i = late.length;
    while (i > 0 && late[i - 1].due > item.due) i--;
    late.splice(i, 0, item);
  };
  /** The venue's story is over: after a discharge with an AMC coverage, the billing office's turn. */
  const bill = (v: Venue, index: number): void => {
    if (!invoices || v.events[v.events.length - 1] !== 'A03' || I.noAmcScenarios.includes(v.ben.scenario)) return;
    const first = draftInvoice(rb, {
      number: `FA${v.number}`,
      klass: v.klass,
      discharge: day,
      privateRoom: v.extras,
      scenario: v.ben.scenario,
    });
    let due = index + delay();
    schedule({ due, venue: v, event: 'P03', invoice: first });
    let last: GapInvoice | undefined = first;
    const x = rb();
    if (x < I.amended) {
      due += delay();
      last = amendInvoice(rb, first);
      schedule({ due, venue: v, event: 'P03', invoice: last });
    } else if (x < I.amended + I.cancelAfterClc) {
      due += delay();
      schedule({ due, venue: v, event: 'A13' });
      // After the A13 pops the discharge, the admission must be the last movement for an A11.
      const beforeDischarge = v.movements[v.movements.length - 2];
      if (beforeDischarge && (beforeDischarge.event === 'A01' || beforeDischarge.event === 'A04') && rb() < I.cancelAdmission) {
        due += delay();
        schedule({ due, venue: v, event: 'A11' });
      }
      last = undefined; // cancelled: the AMO pays nothing
    }
    const P = I.amoPayment;
    if (amoPayments && last && ra() < P.paid) {
      const after = P.afterDays.min + Math.floor(ra() * (P.afterDays.max - P.afterDays.min + 1));
      due += I.delay.min + Math.floor(ra() * (I.delay.max - I.delay.min + 1));
      schedule({
        due,
        venue: v,
        event: 'P05',
        payment: { factureNumero: last.number, amoCents: last.totals.amo, paidAt: plusDays(day, after) },
      });
    }
  };

  const build = (v: Venue, event: string, index: number, invoice?: GapInvoice, payment?: GapAmoPayment): GapMessage => {
    const at = ts(base, index * step);
    const controlId = `${prefix}${pad(index + 1, 8)}`;
    const b = v.ben;
    const nir = b.nir + (b.cleNir || nirKey(b.nir));
    const messageType: GapMessage['messageType'] = event === 'P03' ? 'DFT' : event === 'P05' ? 'BAR' : 'ADT';
    /** An invoice or a payment: the billing office's, not PAM-FR. */
    const dft = messageType !== 'ADT';

    // Movements, admit/discharge dates.
    let zbe: string | undefined;
    const ufField = (uf: { code: string; label: string }): string =>
      `${escapeValue(uf.label)}^^^^^${S.authority}&${v.site}&N^UF^^^${uf.code}`;
    const insertMovement = (): void => {
      movementSeq++;
      const id = `MVT-${pad(movementSeq, 8)}`;
      v.movements.push({ id, event, at, uf: v.uf.code });
      zbe = seg('ZBE', {
        1: `${id}^${S.sendingApplication}^${S.finessJuridique}^M`,
        2: at,
        4: 'INSERT',
        5: 'N',
        7: ufField(v.uf),
        8: ufField(v.uf),
        9: 'HMS',
      });
    };
    switch (event) {
      case 'A05':
        // Planned for later in the day (PV1-44 is the expected entry date).
        v.admitAt = ts(base, index * step + 2 * 3600);
        insertMovement();
        break;
      case 'A01':
      case 'A04':
        v.admitAt = at;
        insertMovement();
        break;
      case 'A02': {
        const ufs = S.ufs.filter((u) => u.kind === 'I' && u.code !== v.uf.code);
        v.uf = ufs[Math.floor(r() * ufs.length)];
        insertMovement();
        break;
      }
      case 'A21':
      case 'A22':
        insertMovement();
        break;
      case 'A03':
        v.dischargeAt = at;
        insertMovement();
        break;
      case 'A11':
      case 'A13':
      case 'A38': {
        const last = v.movements.pop();
        if (event === 'A13') v.dischargeAt = undefined;
        if (last)
          zbe = seg('ZBE', {
            1: `${last.id}^${S.sendingApplication}^${S.finessJuridique}^M`,
            2: last.at,
            4: 'CANCEL',
            5: 'N',
            6: last.event,
            7: ufField(v.uf),
            8: ufField(v.uf),
            9: 'HMS',
          });
        break;
      }
      case 'Z99': {
        const first = v.movements[v.movements.length - 1];
        if (first)
          zbe = seg('ZBE', {
            1: `${first.id}^${S.sendingApplication}^${S.finessJuridique}^M`,
            2: first.at,
            4: 'UPDATE',
            5: 'N',
            6: first.event,
            7: ufField(v.uf),
            8: ufField(v.uf),
            9: 'HMS',
          });
        break;
      }
      default:
        break;
    }

    // MSH-1 is the field separator itself, so seg()'s field n is MSH-(n+1).
    const mshFields: Record<number, string> = {
      1: '^~\\&',
      2: S.sendingApplication,
      3: S.sendingFacility,
      4: S.receivingApplication,
      5: S.receivingFacility,
      6: at,
      8: `${messageType}^${event}^${GAP_STRUCTURES[event] ?? 'ADT_A01'}`,
      9: controlId,
      10: 'P',
      // An invoice or a payment is not a PAM-FR message: plain v2.5, no PAM profile in MSH-21.
      11: dft ? '2.5' : '2.5^FRA^2.11',
      14: enhanced ? 'AL' : '',
      15: enhanced ? appAck : '',
      16: 'FRA',
      17: CHARSET_TO_MSH18[charset],
      18: 'FR',
    };
    if (!dft) mshFields[20] = '2.11^IHE_FRANCE-2.11-PAM';
    const msh = seg('MSH', mshFields);
    const segments: string[] = [msh];
    segments.push(dft ? seg('EVN', { 1: event, 2: at }) : seg('EVN', { 2: at, 6: event === 'A05' ? (v.admitAt ?? at) : at }));
    const ids = [`${v.ipp}^^^${S.authority}&${v.site}&N^PI`];
    if (v.ins) ids.push(`${nir}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS`);
    ids.push(`${nir}^^^CPAM&1.2.250.1.213.1.4.1&ISO^NH`);
    const nom = escapeValue(b.nom);
    const prenom = escapeValue(b.prenom);
    const sex = b.nir.startsWith('2') ? 'F' : 'M';
    segments.push(
      seg('PID', {
        1: '1',
        3: ids.join('~'),
        5: `${nom}^${prenom}^^^^^D~${nom}^${prenom}^${prenom}^^^^L`,
        7: ymd(b.dateNaissance),
        8: sex,
        18: `${v.nda}^^^${auth}^AN`,
        24: b.rangNaissance > 1 ? 'Y' : '',
        25: b.rangNaissance > 1 ? String(b.rangNaissance) : '',
        32: v.ins ? 'VALI' : 'PROV',
      }),
    );
    if (event !== 'A31' || v.admitAt) {
      segments.push(
        seg('PV1', {
          1: '1',
          2: v.klass,
          3: `${v.uf.code}^^^${auth}^^^^^${escapeValue(v.uf.label)}`,
          19: `${v.number}^^^${auth}^VN`,
          44: v.admitAt ?? '',
          45: v.dischargeAt ?? '',
        }),
      );
    } else {
      segments.push('PV1|1|N');
    }
    if (zbe) segments.push(zbe);
    if (WITH_COVERAGE.has(event)) {
      const rightsFrom = ymd(b.attestation.debutValidite);
      const rightsTo = ymd(b.attestation.finValidite);
      segments.push(
        seg('IN1', {
          1: '1',
          2: 'AMO',
          3: S.amo.code,
          4: escapeValue(S.amo.name),
          12: `${day.slice(0, 4)}0101`,
          13: `${day.slice(0, 4)}1231`,
          16: `${nom}^${prenom}`,
          17: 'SEL',
          49: nir,
        }),
      );
      segments.push(seg('IN2', { 1: nir, 8: nir }));
      segments.push(seg('IN3', { 1: '1', 5: 'PC^80' }));
      segments.push(
        seg('IN1', {
          1: '2',
          2: 'AMC',
          3: b.amc.numeroAmc,
          12: rightsFrom,
          13: rightsTo,
          15: b.amc.typeConvention ?? '',
          16: `${nom}^${prenom}`,
          17: 'SEL',
          46: escapeValue(b.amc.csr ?? ''),
          49: escapeValue(b.numeroAdherent ?? ''),
        }),
      );
      segments.push(seg('IN2', { 28: v.extras ? 'FRJ~PRI' : 'FRJ' }));
      segments.push(seg('IN3', { 1: '1', 5: 'PC^100' }));
    }
    if (invoice) segments.push(...invoiceSegments(invoice));
    if (payment) {
      // The AMO payment notice, per the profile's data (lib/billing/amo.ts AMO_PAYMENT_HL7).
      const F = AMO_PAYMENT_HL7.fields;
      segments.push(
        seg(AMO_PAYMENT_HL7.segment, {
          [F.factureNumero]: payment.factureNumero,
          [F.montantAmo]: nm(payment.amoCents),
          [F.datePaiement]: ymd(payment.paidAt),
        }),
      );
    }
    return {
      index,
      controlId,
      messageType,
      event,
      venue: event === 'A31' && !v.admitAt ? '' : v.number,
      beneficiary: b.id,
      scenario: b.scenario,
      charset,
      ...(invoice ? { invoice } : {}),
      ...(payment ? { amoPayment: payment } : {}),
      segments,
    };
  };

  for (let index = 0; index < total; index++) {
    // The billing office's turn first, when one of its events is due (no draw from r: the ADT
    // stream of the seed stays the same).
    if (late.length && late[0].due <= index) {
      const l = late.shift()!;
      yield build(l.venue, l.event, index, l.invoice, l.payment);
      continue;
    }
    while (venues.length < open) venues.push(newVenue());
    const vi = Math.floor(r() * venues.length);
    const v = venues[vi];
    const event = v.events[v.next++];
    const over = v.next >= v.events.length;
    if (over) venues.splice(vi, 1);
    const m = build(v, event, index);
    if (over) bill(v, index);
    yield m;
  }
}

export type LineEnding = 'CR' | 'LF' | 'CRLF';
const ENDINGS: Record<LineEnding, string> = { CR: '\r', LF: '\n', CRLF: '\r\n' };

/** The payload bytes of a message: segment ends as asked, optional trailing blank lines. */
export function encodeGapMessage(m: GapMessage, ending: LineEnding = 'CR', trailingBlankLines = 0): Buffer {
  const e = ENDINGS[ending];
  return encode(m.segments.join(e) + e + e.repeat(Math.max(0, trailingBlankLines)), m.charset);
}
