/**
 * PAM-FR 2.11 ADT → `Admission` (msg.roc.admission), and `Admission` → `Partial<RocDossier>`.
 *
 * Every profile choice (event meanings, required fields, date sources, PV1-2 mapping, name types,
 * FINESS/INS markers, ZBE actions) comes from ./profile.ts and can be overridden per listener.
 * Validation problems carry an HL7 location and a table-0357 code so the listener can NACK
 * precisely; their messages are French and never contain patient data (no names, NIR, dates).
 */
import { compactDateToIso as hl7DateToIso } from '../model/dates';
import type { Beneficiaire, RocDossier, AmcTarget, Venue, AssureAmo } from '../model/dossier';
import { readInvoice } from './dft';
import { readAmoPayment } from './bar';
import { formatLocation, parsePath, type Er7Message, type Repetition, type Segment } from './er7';
import {
  COVERAGE_KINDS,
  DATE_SOURCES,
  DEFAULT_DATE_SOURCES,
  DFT_EVENT_MEANINGS,
  BAR_EVENT_MEANINGS,
  EVENT_MEANINGS,
  FIELD_LABELS,
  FINESS_KINDS,
  IDENTIFIER_TYPES,
  INS_OIDS,
  INS_QUALIFIED_STATUS,
  NAME_TYPES,
  NUMERO_AMC_LENGTH,
  PATIENT_CLASS_TO_VENUE,
  REQUIRED_BY_MEANING,
  SEX_VALUES,
  SUPPORTED_MESSAGE_TYPES,
  TABLE_0357,
  ZBE_ACTIONS,
} from './profile';
import type {
  Admission,
  AdmissionMovement,
  AdmissionPatient,
  AdmissionUf,
  AdmissionVenue,
  AssigningAuthority,
  Coverage,
  CoverageRate,
  Hl7Charset,
  Hl7ErrorCode,
  Hl7Issue,
  Hl7Location,
  Identifier,
  InsIdentifier,
  RocMeaning,
} from './types';

/**
 * Where a site's GAP puts what PAM-FR has no field for, as field paths (data). Paths on IN1, IN2
 * or IN3 are read inside each coverage group (`IN3[2]-4` = the group's second IN3); any other
 * segment is read message-wide. Default: none (the directory is the fallback).
 * Example: `{ typeConvention: 'IN1-15', csr: 'IN1-46' }`.
 */
export interface CoverageMapping {
  typeConvention?: string;
  csr?: string;
}

export interface PamFrOptions {
  coverageMapping?: CoverageMapping;
  /** Merged over EVENT_MEANINGS. */
  eventMeanings?: Record<string, RocMeaning>;
  /** Replaces PATIENT_CLASS_TO_VENUE. */
  patientClassToVenue?: Record<string, string>;
  /** Merged over REQUIRED_BY_MEANING (per meaning, replaces the list). */
  required?: Partial<Record<RocMeaning, readonly string[]>>;
  /** Charset the frame was decoded with (recorded on the admission). */
  charset?: Hl7Charset;
}

export interface AdmissionResult {
  /** Built whenever the header could be read, even with errors (for logs and the journal). */
  admission?: Admission;
  meaning: RocMeaning;
  /** Severity E: the message must be refused (AE, or AR for 200). */
  errors: Hl7Issue[];
  /** Severity W: accepted, reported. */
  warnings: Hl7Issue[];
  ok: boolean;
}

/** HL7 TS/DT/DTM → ISO 8601: shared with lib/hprim, it lives in lib/model/dates.ts (compactDateToIso). */
export { hl7DateToIso };

// ---------------------------------------------------------------------------------------------
// Helpers

/** HL7 null ("") counts as absent. */
function clean(v: string): string {
  return v === '""' ? '' : v.trim();
}

function label(path: string): string {
  const key = path.replace(/\[\d+\]/g, '').replace(/\.\d+(\.\d+)?$/, '');
  const l = FIELD_LABELS[key];
  return l ? `${path} (${l})` : path;
}

function locOf(path: string, sequence?: number): Hl7Location {
  const p = parsePath(path);
  const l: Hl7Location = { segment: p.segment, sequence: sequence ?? p.occurrence, field: p.field };
  if (p.repetition !== undefined) l.repetition = p.repetition;
  if (p.component !== undefined) l.component = p.component;
  if (p.subcomponent !== undefined) l.subcomponent = p.subcomponent;
  return l;
}

function issue(code: Hl7ErrorCode, severity: 'E' | 'W', location: Hl7Location | undefined, detail: string): Hl7Issue {
  const base = TABLE_0357[code].fr;
  return { code, severity, location, message: detail ? `${base} : ${detail}` : base };
}

function hd(r: Repetition, comp: number): AssigningAuthority | undefined {
  const namespace = clean(r.get(comp, 1));
  const universalId = clean(r.get(comp, 2));
  const universalIdType = clean(r.get(comp, 3));
  if (!namespace && !universalId && !universalIdType) return undefined;
  const a: AssigningAuthority = {};
  if (namespace) a.namespace = namespace;
  if (universalId) a.universalId = universalId;
  if (universalIdType) a.universalIdType = universalIdType;
  return a;
}

const FINESS_RE = /^(\d{9}|2[AB]\d{7})$/;

function finessOf(a: AssigningAuthority | undefined): Identifier['finess'] {
  if (!a?.universalId || !a.universalIdType) return undefined;
  const kind = FINESS_KINDS[a.universalIdType.toUpperCase()];
  if (!kind || !FINESS_RE.test(a.universalId)) return undefined;
  return { numero: a.universalId, kind };
}

class Reader {
  readonly errors: Hl7Issue[] = [];
  readonly warnings: Hl7Issue[] = [];
  readonly finess: { juridique?: string; geographique?: string } = {};
  constructor(readonly msg: Er7Message) {}

  v(path: string): string {
    return clean(this.msg.get(path));
  }

  error(code: Hl7ErrorCode, location: Hl7Location | undefined, detail: string): void {
    this.errors.push(issue(code, 'E', location, detail));
  }
  warn(code: Hl7ErrorCode, location: Hl7Location | undefined, detail: string): void {
    this.warnings.push(issue(code, 'W', location, detail));
  }

  noteFiness(f: Identifier['finess']): void {
    if (!f) return;
    if (f.kind === 'juridique' && !this.finess.juridique) this.finess.juridique = f.numero;
    if (f.kind === 'geographique' && !this.finess.geographique) this.finess.geographique = f.numero;
  }

  /** A date at a path: '' absent, undefined invalid (error 102 recorded). */
  date(seg: Segment | undefined, field: number, path: string, severity: 'E' | 'W' = 'E'): string | undefined | '' {
    if (!seg) return '';
    const raw = clean(seg.get(field));
    if (raw === '') return '';
    const iso = hl7DateToIso(raw);
    if (iso === undefined) {
      const detail = `date invalide en ${label(path)}, format attendu AAAAMMJJ[HHMM[SS]]`;
      if (severity === 'E') this.error('102', seg.location(field), detail);
      else this.warn('102', seg.location(field), detail);
    }
    return iso;
  }

  identifier(r: Repetition): Identifier | undefined {
    const value = clean(r.get(1));
    if (!value) return undefined;
    const id: Identifier = { value };
    const type = clean(r.get(5));
    if (type) id.type = type;
    const authority = hd(r, 4);
    if (authority) {
      id.authority = authority;
      const f = finessOf(authority);
      if (f) {
        id.finess = f;
        this.noteFiness(f);
      }
    }
    const since = clean(r.get(7));
    if (since) {
      const iso = hl7DateToIso(since);
      if (iso) id.since = iso;
    }
    return id;
  }
}

// ---------------------------------------------------------------------------------------------
// Header

function meaningOf(event: string, options: PamFrOptions): RocMeaning {
  const table = options.eventMeanings ? { ...EVENT_MEANINGS, ...options.eventMeanings } : EVENT_MEANINGS;
  return table[event] ?? 'IGNORE';
}

// ---------------------------------------------------------------------------------------------
// Patient

function readPatient(r: Reader, pid: Segment | undefined): AdmissionPatient {
  const patient: AdmissionPatient = { identifiers: [] };
  if (!pid) return patient;
  const status = clean(pid.get(32));
  if (status) patient.identityStatus = status;
  const insCandidates: InsIdentifier[] = [];
  for (const rep of pid.repetitions(3)) {
    const id = r.identifier(rep);
    if (!id) continue;
    patient.identifiers.push(id);
    if (id.type === IDENTIFIER_TYPES.ipp && !patient.ipp) patient.ipp = id;
    else if (id.type === IDENTIFIER_TYPES.nir && !patient.nir) patient.nir = id;
    else if (id.type === IDENTIFIER_TYPES.ins) {
      const oid = id.authority?.universalId;
      const ins: InsIdentifier = { ...id };
      if (oid) {
        ins.oid = oid;
        const nature = INS_OIDS[oid];
        if (nature) ins.nature = nature;
      }
      insCandidates.push(ins);
    }
  }
  if (insCandidates.length && status === INS_QUALIFIED_STATUS) {
    patient.ins = insCandidates.find((i) => i.nature === 'INS-NIR') ?? insCandidates[0];
  }

  // Names: PAM-FR 2.11 — L birth name (+ first given name, list of given names), D usual name.
  let birth: Repetition | undefined;
  let usual: Repetition | undefined;
  const names = pid.repetitions(5);
  for (const rep of names) {
    const t = clean(rep.get(7)).toUpperCase();
    if (!birth && NAME_TYPES.birth.includes(t)) birth = rep;
    else if (!usual && NAME_TYPES.usual.includes(t)) usual = rep;
  }
  if (!birth && !usual && names.length) birth = names[0];
  if (birth) {
    const nom = clean(birth.get(1));
    const prenom = clean(birth.get(2));
    const prenoms = clean(birth.get(3));
    if (nom) patient.nomNaissance = nom;
    if (prenom) patient.premierPrenom = prenom;
    if (prenoms) patient.prenoms = prenoms;
  }
  const usualNom = usual ? clean(usual.get(1)) : '';
  const usualPrenom = usual ? clean(usual.get(2)) : '';
  const nom = usualNom || patient.nomNaissance;
  const prenom = usualPrenom || patient.premierPrenom;
  if (nom) patient.nom = nom;
  if (prenom) patient.prenom = prenom;

  const dob = r.date(pid, 7, 'PID-7');
  if (dob) patient.dateNaissance = dob;
  const sexe = clean(pid.get(8));
  if (sexe) {
    patient.sexe = sexe;
    if (!SEX_VALUES.includes(sexe)) r.warn('103', pid.location(8), `valeur hors table 0001 en ${label('PID-8')}`);
  }
  const rank = clean(pid.get(25));
  if (rank) {
    if (/^\d{1,2}$/.test(rank) && Number(rank) >= 1) patient.rangNaissance = Number(rank);
    else r.error('102', pid.location(25), `${label('PID-25')} doit être un entier positif`);
  }
  return patient;
}

// ---------------------------------------------------------------------------------------------
// Venue and movement

function uf(r: Reader, seg: Segment, field: number): AdmissionUf | undefined {
  const rep = seg.repetitions(field)[0];
  if (!rep) return undefined;
  const libelle = clean(rep.get(1));
  const code = clean(rep.get(10)) || clean(rep.get(3));
  r.noteFiness(finessOf(hd(rep, 6)));
  if (!libelle && !code) return undefined;
  const u: AdmissionUf = {};
  if (code) u.code = code;
  if (libelle) u.libelle = libelle;
  return u;
}

/** ZBE, with the published one-field shift tolerated (ZBE-4 empty, action in ZBE-5). */
function readMovement(
  r: Reader,
  zbe: Segment | undefined,
): { movement?: AdmissionMovement; ufMedicale?: AdmissionUf; ufSoins?: AdmissionUf } {
  if (!zbe) return {};
  const mv: AdmissionMovement = {};
  const id = clean(zbe.get(1));
  if (id) mv.id = id;
  const date = r.date(zbe, 2, 'ZBE-2');
  if (date) mv.dateTime = date;
  const a4 = clean(zbe.get(4)).toUpperCase();
  const a5 = clean(zbe.get(5)).toUpperCase();
  let shift = 0;
  if (!ZBE_ACTIONS.includes(a4) && ZBE_ACTIONS.includes(a5)) {
    shift = 1;
    mv.shifted = true;
    r.warn('100', zbe.location(4), 'ZBE décalé d’un champ à partir de ZBE-4 (défaut connu), lu avec correction');
  }
  const f = (n: number): number => (n >= 4 ? n + shift : n);
  const action = clean(zbe.get(f(4))).toUpperCase();
  if (action) {
    if (ZBE_ACTIONS.includes(action)) mv.action = action;
    else r.error('103', zbe.location(4), `${label('ZBE-4')} doit valoir ${ZBE_ACTIONS.join(', ')}`);
  }
  const historic = clean(zbe.get(f(5))).toUpperCase();
  if (historic === 'Y' || historic === 'N') mv.historic = historic === 'Y';
  else if (historic) r.warn('103', zbe.location(f(5)), `${label('ZBE-5')} doit valoir Y ou N`);
  const orig = clean(zbe.get(f(6)));
  if (orig) mv.originalEvent = orig;
  const nature = clean(zbe.get(f(9)));
  if (nature) mv.nature = nature;
  return { movement: mv, ufMedicale: uf(r, zbe, f(7)), ufSoins: uf(r, zbe, f(8)) };
}

function readVenue(
  r: Reader,
  pid: Segment | undefined,
  pv1: Segment | undefined,
  pv2: Segment | undefined,
  options: PamFrOptions,
): AdmissionVenue | undefined {
  if (!pv1 && !pid?.has(18)) return undefined;
  const venue: AdmissionVenue = {};
  const ndaRep = pid?.repetitions(18)[0];
  const nda = ndaRep ? r.identifier(ndaRep) : undefined;
  if (nda) venue.nda = nda;
  if (!pv1) return venue;
  const nvRep = pv1.repetitions(19)[0];
  const nv = nvRep ? r.identifier(nvRep) : undefined;
  if (nv) venue.numeroVenue = nv;
  const cls = clean(pv1.get(2)).toUpperCase();
  if (cls) {
    venue.patientClass = cls;
    const map = options.patientClassToVenue ?? PATIENT_CLASS_TO_VENUE;
    const type = map[cls];
    if (type) venue.type = type;
    else r.warn('103', pv1.location(2), `${label('PV1-2')} sans type de venue ROC correspondant`);
  }
  const locRep = pv1.repetitions(3)[0];
  if (locRep) {
    const pointOfCare = clean(locRep.get(1));
    const room = clean(locRep.get(2));
    const bed = clean(locRep.get(3));
    const facility = hd(locRep, 4);
    r.noteFiness(finessOf(facility));
    const l: NonNullable<AdmissionVenue['location']> = {};
    if (pointOfCare) l.pointOfCare = pointOfCare;
    if (room) l.room = room;
    if (bed) l.bed = bed;
    if (facility) l.facility = facility;
    if (Object.keys(l).length) venue.location = l;
    if (pointOfCare) venue.ufMedicale = { code: pointOfCare };
  }
  const admit = r.date(pv1, 44, 'PV1-44');
  if (admit) venue.admitDateTime = admit;
  const discharge = r.date(pv1, 45, 'PV1-45');
  if (discharge) venue.dischargeDateTime = discharge;
  const expected = r.date(pv2, 8, 'PV2-8');
  if (expected) venue.expectedAdmitDateTime = expected;
  return venue;
}

// ---------------------------------------------------------------------------------------------
// Coverage groups

function groupSegment(group: Segment[], name: string, occurrence: number): Segment | undefined {
  let k = 0;
  for (const s of group) if (s.name === name && ++k === occurrence) return s;
  return undefined;
}

function mapped(r: Reader, group: Segment[], path: string | undefined): string | undefined {
  if (!path) return undefined;
  const p = parsePath(path);
  const seg = ['IN1', 'IN2', 'IN3'].includes(p.segment)
    ? groupSegment(group, p.segment, p.occurrence)
    : r.msg.segment(p.segment, p.occurrence);
  if (!seg) return undefined;
  const v = clean(seg.get(p.field, p.repetition ?? 1, p.component ?? 1, p.subcomponent ?? 1));
  return v || undefined;
}

function readCoverages(r: Reader, options: PamFrOptions): Coverage[] {
  const groups: Segment[][] = [];
  for (const s of r.msg.segments) {
    if (s.name === 'IN1') groups.push([s]);
    else if ((s.name === 'IN2' || s.name === 'IN3') && groups.length) groups[groups.length - 1].push(s);
  }
  return groups.map((group) => {
    const in1 = group[0];
    const cov: Coverage = { extras: [], taux: [] };
    const setId = clean(in1.get(1));
    if (/^\d+$/.test(setId)) cov.setId = Number(setId);
    const kind = clean(in1.get(2)).toUpperCase();
    if (kind) cov.kind = kind;
    else r.warn('101', in1.location(2), `${label('IN1-2')} absent`);
    const amc = clean(in1.get(3));
    if (amc) {
      cov.numeroAmcBrut = amc;
      const digits = amc.replace(/[\s.-]/g, '');
      if (/^\d+$/.test(digits) && digits.length <= NUMERO_AMC_LENGTH) cov.numeroAmc = digits.padStart(NUMERO_AMC_LENGTH, '0');
      else if (kind === COVERAGE_KINDS.amc) r.warn('102', in1.location(3), `${label('IN1-3')} : 10 chiffres au plus attendus`);
    } else if (kind === COVERAGE_KINDS.amc) {
      r.error('101', in1.location(3), `${label('IN1-3')} absent pour une couverture AMC`);
    }
    const org = clean(in1.get(4));
    if (org) cov.organisme = org;
    const deb = r.date(in1, 12, 'IN1-12');
    if (deb) cov.debutDroits = deb.slice(0, 10);
    const fin = r.date(in1, 13, 'IN1-13');
    if (fin) cov.finDroits = fin.slice(0, 10);
    const contrat = clean(in1.get(36));
    if (contrat) cov.numeroContrat = contrat;
    const adherent = clean(in1.get(49));
    if (adherent) cov.numeroAdherent = adherent;
    for (const s of group) {
      if (s.name === 'IN2') {
        for (const rep of s.repetitions(28)) {
          const x = clean(rep.get(1));
          if (x && !cov.extras.includes(x)) cov.extras.push(x);
        }
      } else if (s.name === 'IN3') {
        s.repetitions(5).forEach((rep, k) => {
          const rate: CoverageRate = {};
          const ind = clean(rep.get(1));
          const q = clean(rep.get(2));
          const cur = clean(rep.get(3));
          if (ind) rate.indicator = ind;
          if (q) {
            const n = Number(q.replace(',', '.'));
            if (Number.isFinite(n)) rate.quantity = n;
            else r.warn('102', s.location(5, 2, k + 1), `${label('IN3-5')} : nombre attendu`);
          }
          if (cur) rate.currency = cur;
          if (Object.keys(rate).length) cov.taux.push(rate);
        });
      }
    }
    const tc = mapped(r, group, options.coverageMapping?.typeConvention);
    if (tc) cov.typeConvention = tc;
    const csr = mapped(r, group, options.coverageMapping?.csr);
    if (csr) cov.csr = csr;
    return cov;
  });
}

// ---------------------------------------------------------------------------------------------
// Main entry

/** Resolve the first present path of a chain. */
function firstPresent(r: Reader, chain: readonly string[]): string | undefined {
  return chain.find((p) => r.v(p) !== '');
}

/**
 * Map a parsed ER7 message to an Admission and validate it for its ROC meaning. Never throws on
 * message content; an unsupported message type is a 200 error, an unknown event is `IGNORE`
 * (no error: the listener answers AA and does nothing).
 */
export function parseAdmission(msg: Er7Message, options: PamFrOptions = {}): AdmissionResult {
  const r = new Reader(msg);
  const messageType = r.v('MSH-9.1').toUpperCase();
  const event = r.v('MSH-9.2').toUpperCase();
  const structure = r.v('MSH-9.3');
  const controlId = clean(msg.raw('MSH-10'));
  if (!controlId) r.error('101', locOf('MSH-10'), `${label('MSH-10')} absent`);
  if (!messageType) r.error('101', locOf('MSH-9.1'), `${label('MSH-9')} absent`);
  else if (!SUPPORTED_MESSAGE_TYPES.includes(messageType)) {
    r.error('200', locOf('MSH-9.1'), `seuls les messages ${SUPPORTED_MESSAGE_TYPES.join(', ')} sont traités`);
  }
  if (messageType && !event) r.error('101', locOf('MSH-9.2'), `événement (MSH-9.2) absent`);

  // DFT (docs/dft-intake.md): only the triggers of DFT_EVENT_MEANINGS (P03, the invoice); any other
  // is refused AR 200 at MSH-9.2, never acknowledged and dropped.
  const isDft = messageType === 'DFT';
  const dftMeaning = isDft && Object.prototype.hasOwnProperty.call(DFT_EVENT_MEANINGS, event) ? DFT_EVENT_MEANINGS[event] : undefined;
  if (isDft && event && !dftMeaning) {
    r.error('200', locOf('MSH-9.2'), `seuls les messages DFT^${Object.keys(DFT_EVENT_MEANINGS).join(', DFT^')} sont traités`);
  }
  // BAR (docs/amo-payments.md): only BAR_EVENT_MEANINGS (P05, the AMO payment notice), likewise.
  const isBar = messageType === 'BAR';
  const barMeaning = isBar && Object.prototype.hasOwnProperty.call(BAR_EVENT_MEANINGS, event) ? BAR_EVENT_MEANINGS[event] : undefined;
  if (isBar && event && !barMeaning) {
    r.error('200', locOf('MSH-9.2'), `seuls les messages BAR^${Object.keys(BAR_EVENT_MEANINGS).join(', BAR^')} sont traités`);
  }
  if (!messageType || !SUPPORTED_MESSAGE_TYPES.includes(messageType) || (isDft && !dftMeaning) || (isBar && !barMeaning)) {
    return { meaning: 'IGNORE', errors: r.errors, warnings: r.warnings, ok: false };
  }
  // A missing MSH-10 does not stop the mapping: every problem is reported at once.
  const meaning: RocMeaning = dftMeaning ?? barMeaning ?? (event ? meaningOf(event, options) : 'IGNORE');

  const admission: Admission = {
    messageType,
    event,
    meaning,
    controlId,
    patient: { identifiers: [] },
    coverages: [],
    finess: r.finess,
    warnings: r.warnings,
  };
  if (structure) admission.structure = structure;
  const hdText = (path: string): string | undefined => {
    const ns = r.v(`${path}.1`);
    const uid = r.v(`${path}.2`);
    return ns || uid || undefined;
  };
  const sApp = hdText('MSH-3');
  const sFac = hdText('MSH-4');
  const rApp = hdText('MSH-5');
  const rFac = hdText('MSH-6');
  if (sApp) admission.sendingApplication = sApp;
  if (sFac) admission.sendingFacility = sFac;
  if (rApp) admission.receivingApplication = rApp;
  if (rFac) admission.receivingFacility = rFac;
  const msh = msg.msh;
  const mdt = r.date(msh, 7, 'MSH-7', 'W');
  if (mdt) admission.messageDateTime = mdt;
  const version = r.v('MSH-12.1');
  if (version) admission.version = version;
  if (options.charset) admission.charset = options.charset;

  if (meaning === 'IGNORE') {
    return { admission, meaning, errors: r.errors, warnings: r.warnings, ok: r.errors.length === 0 };
  }

  const evn = msg.segment('EVN');
  const occurred = r.date(evn, 6, 'EVN-6', 'W') || r.date(evn, 2, 'EVN-2', 'W');
  if (occurred) admission.eventDateTime = occurred;

  const pid = msg.segment('PID');
  const pv1 = msg.segment('PV1');
  const pv2 = msg.segment('PV2');
  if (!pid) r.error('100', { segment: 'PID', sequence: 1 }, 'segment PID absent');
  admission.patient = readPatient(r, pid);
  const mrg = msg.segment('MRG');
  if (mrg) {
    const prev = mrg
      .repetitions(1)
      .map((rep) => r.identifier(rep))
      .filter((x): x is Identifier => x !== undefined);
    if (prev.length) admission.patient.previousIdentifiers = prev;
  }
  const venue = readVenue(r, pid, pv1, pv2, options);
  const mv = readMovement(r, msg.segment('ZBE'));
  if (mv.movement) admission.movement = mv.movement;
  if (venue) {
    if (mv.ufMedicale) venue.ufMedicale = mv.ufMedicale;
    if (mv.ufSoins) venue.ufSoins = mv.ufSoins;
    admission.venue = venue;
  }
  admission.coverages = readCoverages(r, options);

  // Dates that may come from fallbacks (see DATE_SOURCES).
  if (admission.venue) {
    const fromPath = (path: string): string | undefined => {
      if (path === 'PV1-44') return admission.venue?.admitDateTime;
      if (path === 'PV1-45') return admission.venue?.dischargeDateTime;
      if (path === 'PV2-8') return admission.venue?.expectedAdmitDateTime;
      if (path === 'ZBE-2') return admission.movement?.dateTime;
      return hl7DateToIso(r.v(path));
    };
    const admitChain = DATE_SOURCES.admit[meaning] ?? DEFAULT_DATE_SOURCES.admit;
    const dischargeChain = DATE_SOURCES.discharge[meaning] ?? DEFAULT_DATE_SOURCES.discharge;
    for (const p of admitChain) {
      const v = fromPath(p);
      if (v) {
        admission.venue.admitDateTime = v;
        if (p !== 'PV1-44') admission.venue.admitDateSource = p;
        break;
      }
    }
    for (const p of dischargeChain) {
      const v = fromPath(p);
      if (v) {
        admission.venue.dischargeDateTime = v;
        if (p !== 'PV1-45') admission.venue.dischargeDateSource = p;
        break;
      }
    }
  }

  // Required fields for this meaning.
  const required = options.required?.[meaning] ?? REQUIRED_BY_MEANING[meaning];
  const presentAlready = new Set(r.errors.map((e) => (e.location ? formatLocation(e.location) : '')));
  for (const chain of required) {
    const alternatives = chain.split('|');
    const first = alternatives[0];
    const segName = first.slice(0, 3);
    if (!msg.segment(segName) && alternatives.every((a) => !msg.segment(a.slice(0, 3)))) {
      if (!presentAlready.has(segName)) {
        r.error('100', { segment: segName, sequence: 1 }, `segment ${segName} absent`);
        presentAlready.add(segName);
      }
      continue;
    }
    const found = firstPresent(r, alternatives);
    const loc = locOf(first);
    if (presentAlready.has(formatLocation(loc))) continue;
    if (!found) r.error('101', loc, `${label(first)} absent`);
    else if (found !== first && first === 'PV1-19') {
      r.warn('101', loc, `${label(first)} absent, ${label(found)} utilisé pour ordonner les mouvements`);
    }
  }

  // DFT^P03: the invoice segments (ZFA, FT1 + ZFT), after PID/PV1/IN1 read as for an ADT.
  if (meaning === 'INVOICE') {
    const inv = readInvoice(msg);
    r.errors.push(...inv.errors);
    if (inv.facture) admission.facture = inv.facture;
  }
  // BAR^P05: the AMO payment (ZFA-1, -4, -7 of AMO_PAYMENT_HL7), after PID/PV1 read as for an ADT.
  if (meaning === 'AMO_PAYMENT') {
    const pay = readAmoPayment(msg);
    const at = (l: Hl7Issue['location']): string => (l ? formatLocation(l) : '');
    for (const e of pay.errors) if (!r.errors.some((x) => at(x.location) === at(e.location))) r.errors.push(e);
    if (pay.payment) admission.amoPayment = pay.payment;
  }

  // Ordering key: PV1-19, else NDA, else IPP.
  const v = admission.venue;
  if (v?.numeroVenue) {
    admission.orderingKey = `PV1-19:${v.numeroVenue.value}`;
    admission.orderingKeySource = 'PV1-19';
  } else if (v?.nda) {
    admission.orderingKey = `PID-18:${v.nda.value}`;
    admission.orderingKeySource = 'PID-18';
  } else if (admission.patient.ipp) {
    admission.orderingKey = `PID-3:${admission.patient.ipp.value}`;
    admission.orderingKeySource = 'PID-3';
  }

  return { admission, meaning, errors: r.errors, warnings: r.warnings, ok: r.errors.length === 0 };
}

// ---------------------------------------------------------------------------------------------
// Admission → dossier

function covers(c: Coverage, date: string | undefined): boolean {
  if (!date) return true;
  const d = date.slice(0, 10);
  return (!c.debutDroits || c.debutDroits <= d) && (!c.finDroits || d <= c.finDroits);
}

/**
 * The ROC dossier parts an admission gives (`msg.roc` input part):
 * - `amc`: the AMC coverage group (IN1-2 = AMC) whose rights cover the entry date, else the first;
 * - `beneficiaire`: billing NIR (PID-3 type NH), else the qualified INS when NIR-based; birth date,
 *   rank, names; numéro d'adhérent from the AMC group. Present only when NIR, birth date, name and
 *   first name are all known;
 * - `assureAmo`: from the AMO group's IN1-3 when it is the 9-digit régime+caisse+centre;
 * - `venue`: type (from PV1-2), entry/discharge dates (date part), NDA, venue number. Present only
 *   when type and entry date are known.
 */
export function admissionToDossier(a: Admission): Partial<RocDossier> {
  const out: Partial<RocDossier> = {};
  const entry = a.venue?.admitDateTime;
  const amcs = a.coverages.filter((c) => c.kind === COVERAGE_KINDS.amc && c.numeroAmc);
  const amcCov = amcs.find((c) => covers(c, entry)) ?? amcs[0];
  if (amcCov?.numeroAmc) {
    const amc: AmcTarget = { numeroAmc: amcCov.numeroAmc };
    if (amcCov.typeConvention) amc.typeConvention = amcCov.typeConvention;
    if (amcCov.csr) amc.csr = amcCov.csr;
    out.amc = amc;
  }
  const p = a.patient;
  let nirFull = p.nir?.value;
  if (!nirFull && p.ins?.nature === 'INS-NIR') nirFull = p.ins.value;
  if (nirFull && p.dateNaissance && p.nom && p.prenom) {
    const b: Beneficiaire = {
      nir: nirFull.slice(0, 13),
      dateNaissance: p.dateNaissance.slice(0, 10),
      nom: p.nom,
      prenom: p.prenom,
    };
    if (nirFull.length === 15) b.cleNir = nirFull.slice(13);
    if (p.rangNaissance !== undefined) b.rangNaissance = p.rangNaissance;
    if (p.nomNaissance && p.nomNaissance !== p.nom) b.nomNaissance = p.nomNaissance;
    if (amcCov?.numeroAdherent) b.numeroAdherent = amcCov.numeroAdherent;
    out.beneficiaire = b;
  }
  const amo = a.coverages.find((c) => c.kind === COVERAGE_KINDS.amo && c.numeroAmcBrut && /^\d{9}$/.test(c.numeroAmcBrut));
  if (amo?.numeroAmcBrut) {
    const code = amo.numeroAmcBrut;
    const assure: AssureAmo = { regime: code.slice(0, 2), caisse: code.slice(2, 5), centre: code.slice(5, 9) };
    out.assureAmo = assure;
  }
  const v = a.venue;
  if (v?.type && v.admitDateTime) {
    const venue: Venue = { type: v.type, dateEntree: v.admitDateTime.slice(0, 10) };
    if (v.dischargeDateTime) venue.dateSortie = v.dischargeDateTime.slice(0, 10);
    if (v.nda) venue.numeroDossier = v.nda.value;
    if (v.numeroVenue) venue.numeroVenue = v.numeroVenue.value;
    out.venue = venue;
  }
  return out;
}
