/**
 * HPRIM XML `evenementsPatients` reader (namespace http://www.hprim.org/hprimXML). Hardened: size
 * limit, DOCTYPE / ENTITY declarations refused before any parsing (a `<!DOCTYPE` written in a comment,
 * a CDATA section or an attribute value is content, not a declaration), fast-xml-parser's validator for
 * well-formedness (its line is reported), root element and namespace checked. Each
 * `evenementPatient` child (venuePatient, mouvementPatient, debiteursVenue) becomes one
 * `Admission` (lib/model/admission.ts). Element names are in ./profile.ts.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import {
  normaliseNumeroAmc,
  type Admission,
  type AdmissionVenue,
  type Coverage,
  type Identifier,
  type RocMeaning,
} from '../model/admission';
import { decodeBytes } from '../model/charset';
import { digitsDateToIso } from '../model/dates';
import { findMarkupDeclaration, maskXmlContent } from '../util/xml-markup';
import {
  ERROR_CODES,
  WARNING_LABELS,
  HPRIM_XML_NS,
  XML,
  XML_ACTIONS,
  XML_DEBITEUR,
  XML_DISCHARGE_IS_CLC,
  XML_EVENT_MEANINGS,
  XML_LIST_ELEMENTS,
  XML_MAX_BYTES,
  XML_MOUVEMENT,
  XML_NATURE_VENUE,
  XML_PATIENT,
  XML_VENUE,
  type HprimErrorCode,
  type HprimWarningCode,
} from './profile';
import type { HprimIssue, HprimReadResult } from './types';

type Node = Record<string, unknown>;

/** Shared with lib/sel (SOAP answers): lib/util/xml-markup.ts. */
export { maskXmlContent };

export interface XmlOptions {
  maxBytes?: number;
}

/** '&' that does not start one of the five XML entities or a character reference. */
const BAD_AMP_RE = /&(?!(?:amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9A-Fa-f]{1,6});)/;
const LISTS = new Set(XML_LIST_ELEMENTS);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  // numeric character references (&#233;); named HTML entities never get here (BAD_AMP_RE)
  htmlEntities: true,
  isArray: (name) => LISTS.has(name),
});

function issue(code: HprimErrorCode | HprimWarningCode, detail: string, place: { line?: number; record?: string } = {}): HprimIssue {
  const label = (ERROR_CODES as Record<string, string>)[code] ?? (WARNING_LABELS as Record<string, string>)[code];
  const where = [place.line !== undefined ? `ligne ${place.line}` : '', place.record ? `élément ${place.record}` : '']
    .filter(Boolean)
    .join(', ');
  const out: HprimIssue = { code, message: `${label ?? code}${detail ? ' : ' + detail : ''}${where ? ` (${where})` : ''}` };
  if (place.line !== undefined) out.line = place.line;
  if (place.record !== undefined) out.record = place.record;
  return out;
}

function obj(v: unknown): Node | undefined {
  if (Array.isArray(v)) return obj(v[0]);
  return v && typeof v === 'object' ? (v as Node) : undefined;
}
function list(v: unknown): Node[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => (x && typeof x === 'object' ? (x as Node) : ({ '#text': x } as Node)));
}
function text(v: unknown): string {
  if (Array.isArray(v)) return text(v[0]);
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const o = obj(v);
  return o && '#text' in o ? String(o['#text']).trim() : '';
}
/** Follow a path of element names; returns undefined when any step is missing. */
function at(n: unknown, ...path: string[]): unknown {
  let cur: unknown = n;
  for (const p of path) {
    const o = obj(cur);
    if (!o) return undefined;
    cur = o[p];
  }
  return cur;
}

/** Root element: local name, prefix and the namespace it is bound to (read from its start tag). */
function rootInfo(source: string): { local: string; ns?: string } | undefined {
  const xml = maskXmlContent(source, false);
  const re = /<([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)([^>]*)>/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(xml))) {
    const before = xml.slice(Math.max(0, m.index - 1), m.index + 2);
    if (before.includes('<?') || before.includes('<!')) continue;
    const [prefix, local] = m[1].includes(':') ? m[1].split(':') : ['', m[1]];
    const attr = prefix ? `xmlns:${prefix}` : 'xmlns';
    const nsm = new RegExp(`\\s${attr.replace(':', '\\:')}\\s*=\\s*["']([^"']*)["']`).exec(m[2]);
    return { local, ns: nsm?.[1] };
  }
  return undefined;
}

/** date (+ heure) → ISO. Accepts xs:date / xs:dateTime and HPRIM compact dates. */
function isoDate(dateText: string, heure = ''): string | undefined {
  const d = dateText.trim();
  if (!d) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(d);
  let compact = m ? m[1] + m[2] + m[3] + (m[4] ? m[4] + m[5] + (m[6] ?? '') : '') : d;
  if (heure && !m?.[4]) {
    const h = /^(\d{2}):(\d{2})(?::(\d{2}))?/.exec(heure.trim());
    if (h) compact += h[1] + h[2] + (h[3] ?? '');
  }
  return digitsDateToIso(compact);
}

class Reader {
  errors: HprimIssue[] = [];
  warnings: HprimIssue[] = [];
  date(n: unknown, what: string, where: string): string | undefined {
    if (typeof n === 'string' || typeof n === 'number') n = { '#text': String(n) };
    const o = obj(n);
    if (!o) return undefined;
    // <x><date/><heure/></x>, <x><dateHeureOptionnelle>…</x> or a plain text date
    const inner = obj(o[XML_VENUE.dateHeure]) ?? o;
    const d = text(inner[XML_PATIENT.date]) || text(inner);
    if (!d) return undefined;
    const iso = isoDate(d, text(inner[XML_PATIENT.heure]));
    if (!iso) this.errors.push(issue('BAD_DATE', `${what} : AAAA-MM-JJ attendu`, { record: where }));
    return iso;
  }
}

function identifiant(n: unknown): string {
  return text(at(n, XML_PATIENT.identifiant, XML_PATIENT.emetteur, XML_PATIENT.valeur)) || text(at(n, XML_PATIENT.identifiant));
}

function readPatient(r: Reader, n: unknown, adm: Admission, where: string): void {
  const ipp = identifiant(n);
  if (!ipp) r.errors.push(issue('MISSING_FIELD', 'identifiant du patient (IPP)', { record: `${where}/patient` }));
  else {
    const id: Identifier = { value: ipp, type: 'PI' };
    adm.patient.ipp = id;
    adm.patient.identifiers.push(id);
    adm.orderingKey = ipp;
    adm.orderingKeySource = 'PID-3';
  }
  const pp = obj(at(n, XML_PATIENT.personnePhysique));
  if (!pp) return;
  const sexe = text(pp[XML_PATIENT.sexe]);
  if (sexe) adm.patient.sexe = sexe.toUpperCase();
  const nom = text(pp[XML_PATIENT.nomUsuel]);
  const nomN = text(pp[XML_PATIENT.nomNaissance]);
  if (nom || nomN) adm.patient.nom = nom || nomN;
  if (nomN) adm.patient.nomNaissance = nomN;
  const prenoms = list(at(pp, XML_PATIENT.prenoms, XML_PATIENT.prenom))
    .map(text)
    .filter(Boolean);
  if (prenoms.length) {
    adm.patient.prenom = prenoms[0];
    adm.patient.premierPrenom = prenoms[0];
    adm.patient.prenoms = prenoms.join(' ');
  }
  const dn = r.date(pp[XML_PATIENT.dateNaissance], 'date de naissance', `${where}/patient`);
  if (dn) adm.patient.dateNaissance = dn.slice(0, 10);
}

function readVenue(r: Reader, n: unknown, adm: Admission, where: string): AdmissionVenue | undefined {
  const v = obj(n);
  if (!v) return undefined;
  const venue: AdmissionVenue = {};
  const num = identifiant(v);
  if (num) venue.numeroVenue = { value: num, type: 'VN' };
  const nda = text(v[XML_VENUE.nda]);
  if (nda) venue.nda = { value: nda, type: 'AN' };
  const nature = text(at(v, XML_VENUE.nature, '@_valeur')) || text(v[XML_VENUE.nature]);
  if (nature) {
    venue.patientClass = nature;
    const t = XML_NATURE_VENUE[nature.toLowerCase()];
    if (t) venue.type = t;
    else r.warnings.push(issue('UNKNOWN_CLASS', 'natureVenueHprim inconnue du profil', { record: `${where}/venue` }));
  }
  const e = r.date(v[XML_VENUE.entree], "date d'entrée", `${where}/venue/entree`);
  if (e) venue.admitDateTime = e;
  const s = r.date(v[XML_VENUE.sortie], 'date de sortie', `${where}/venue/sortie`);
  if (s) venue.dischargeDateTime = s;
  if (num) {
    adm.orderingKey = num;
    adm.orderingKeySource = 'PV1-19';
  } else if (nda) {
    adm.orderingKey = nda;
    adm.orderingKeySource = 'PID-18';
  }
  return venue;
}

function readMouvement(r: Reader, n: unknown, adm: Admission, where: string): void {
  const m = list(n)[0];
  if (!m) return;
  const mv: NonNullable<Admission['movement']> = {};
  const id = identifiant(m) || text(m[XML_MOUVEMENT.identifiant]);
  if (id) mv.id = id;
  const d = r.date(m[XML_MOUVEMENT.dateHeure], 'date du mouvement', `${where}/mouvement`);
  if (d) mv.dateTime = d;
  adm.movement = { ...adm.movement, ...mv };
  const uf = obj(m[XML_MOUVEMENT.ufMedicale]);
  const ufs = obj(m[XML_MOUVEMENT.ufSoins]);
  adm.venue ??= {};
  if (uf) adm.venue.ufMedicale = { code: text(uf[XML_MOUVEMENT.code]) || undefined, libelle: text(uf[XML_MOUVEMENT.libelle]) || undefined };
  if (ufs) adm.venue.ufSoins = { code: text(ufs[XML_MOUVEMENT.code]) || undefined, libelle: text(ufs[XML_MOUVEMENT.libelle]) || undefined };
}

function readDebiteurs(r: Reader, n: unknown, adm: Admission, where: string): void {
  const D = XML_DEBITEUR;
  list(at(n, D.debiteur)).forEach((deb, i) => {
    const a = obj(deb[D.assurance]);
    if (!a) return;
    const place = `${where}/debiteurs/debiteur[${i + 1}]`;
    const cov: Coverage = { setId: i + 1, extras: [], taux: [] };
    const deb0 = r.date(at(a, D.dates, D.debut), 'début de droits', place);
    const fin = r.date(at(a, D.dates, D.fin), 'fin de droits', place);
    if (deb0) cov.debutDroits = deb0.slice(0, 10);
    if (fin) cov.finDroits = fin.slice(0, 10);
    const amo = obj(a[D.obligatoire]);
    const amc = obj(a[D.complementaire]);
    if (amo) {
      cov.kind = 'AMO';
      const code = text(amo[D.grandRegime]) + text(amo[D.caisse]) + text(amo[D.centre]);
      if (code) {
        cov.numeroAmcBrut = code;
        cov.organisme = code;
      }
      const nir = text(at(a, D.assure, D.immatriculation)).replace(/\s/g, '');
      if (nir && !adm.patient.nir) {
        if (/^[0-9][0-9AB]{12}(\d{2})?$/i.test(nir)) {
          const id: Identifier = { value: nir.toUpperCase(), type: 'NH' };
          adm.patient.nir = id;
          adm.patient.identifiers.push(id);
        } else r.errors.push(issue('BAD_VALUE', 'immatriculation : NIR de 13 ou 15 caractères attendu', { record: place }));
      }
    } else if (amc) {
      cov.kind = 'AMC';
      const num = text(amc[D.numeroAmc]);
      if (!num) r.errors.push(issue('MISSING_FIELD', 'numéro AMC', { record: `${place}/${D.complementaire}` }));
      else {
        cov.numeroAmcBrut = num;
        const numeroAmc = normaliseNumeroAmc(num);
        if (numeroAmc) cov.numeroAmc = numeroAmc;
        else r.errors.push(issue('BAD_VALUE', 'numéro AMC : 10 chiffres au plus attendus', { record: `${place}/${D.complementaire}` }));
      }
      const adh = text(amc[D.numeroAdherent]);
      if (adh) cov.numeroAdherent = adh;
      const tc = text(amc[D.typeConvention]);
      if (tc) cov.typeConvention = tc;
      const org = text(a['nom']);
      if (org) cov.organisme = org;
    } else {
      r.warnings.push(issue('IGNORED_DEBITEUR', 'assurance ni obligatoire ni complémentaire : ignorée', { record: place }));
      return;
    }
    adm.coverages.push(cov);
  });
}

/** Read an HPRIM XML evenementsPatients document. Never throws. */
export function readHprimXml(input: Buffer | string, options: XmlOptions = {}): HprimReadResult {
  const result: HprimReadResult = { ok: false, format: 'hprim-xml', admissions: [], errors: [], warnings: [], charset: 'utf8' };
  const max = options.maxBytes ?? XML_MAX_BYTES;
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > max) {
    result.errors.push(issue('XML_TOO_LARGE', `${size} octets, limite ${max}`));
    return result;
  }
  let xml = typeof input === 'string' ? input : input.toString('utf8');
  if (typeof input !== 'string') {
    const decl = /^\s*<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']/i.exec(input.toString('latin1', 0, 200));
    const enc = decl?.[1].toUpperCase();
    if (enc && enc !== 'UTF-8' && enc !== 'UTF8') {
      result.charset = enc.includes('15') ? 'iso-8859-15' : enc.includes('1252') ? 'windows-1252' : 'latin1';
      xml = decodeBytes(input, result.charset);
    }
  }
  if (xml.charCodeAt(0) === 0xfeff) xml = xml.slice(1);
  // Tolerated: blank lines before the XML declaration (strictly, it must come first).
  xml = xml.replace(/^\s+(?=<\?xml)/, '');
  if (!xml.trim()) {
    result.errors.push(issue('EMPTY', '', { line: 1 }));
    return result;
  }
  // declarations are looked for in markup only: a comment, a CDATA section or an attribute value
  // that mentions <!DOCTYPE or <!ENTITY is content
  const dtd = findMarkupDeclaration(xml);
  if (dtd >= 0) {
    const line = xml.slice(0, dtd).split('\n').length;
    result.errors.push(issue('XML_DTD', 'aucune DTD ni entité n’est acceptée', { line }));
    return result;
  }
  // '&' is checked outside comments, CDATA sections and PIs (there it is text); attribute values kept
  const amp = maskXmlContent(xml, false).search(BAD_AMP_RE);
  if (amp >= 0) {
    result.errors.push(issue('XML_MALFORMED', 'entité non déclarée ou « & » non échappé', { line: xml.slice(0, amp).split('\n').length }));
    return result;
  }
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    // Element names from the validator's message (names only: values are never quoted back).
    const names = [...valid.err.msg.matchAll(/["']([A-Za-z_][\w.:-]{0,60})["']/g)].map((m) => m[1]);
    const unclosed = valid.err.code === 'InvalidXml' && /found/.test(valid.err.msg) && valid.err.line === 1 && names.length > 0;
    if (unclosed) {
      const lastLine = xml.trimEnd().split('\n').length;
      result.errors.push(
        issue('XML_MALFORMED', `fin de document, élément(s) non fermé(s) : ${names.join('/')}`, {
          line: lastLine,
          record: names[names.length - 1],
        }),
      );
    } else {
      const detail = `${valid.err.code}${names.length ? ' (' + names.join(', ') + ')' : ''}, colonne ${valid.err.col}`;
      result.errors.push(issue('XML_MALFORMED', detail, { line: valid.err.line }));
    }
    return result;
  }
  const root = rootInfo(xml);
  if (!root || root.local !== XML.root) {
    result.errors.push(issue('XML_NOT_EVENEMENTS', root ? `racine ${root.local}` : 'pas de racine', { line: 1, record: root?.local }));
    return result;
  }
  result.messageType = XML.root;
  if (root.ns !== HPRIM_XML_NS) {
    result.errors.push(issue('XML_NAMESPACE', HPRIM_XML_NS, { record: XML.root }));
    return result;
  }
  let doc: Node;
  try {
    doc = parser.parse(xml) as Node;
  } catch (err) {
    // the parser refused what the validator let through (e.g. an unclosed processing instruction): no line known, the document is the place
    result.errors.push(issue('XML_MALFORMED', (err as Error).message.split('\n')[0].slice(0, 120), { record: XML.root }));
    return result;
  }
  const ev = obj(doc[XML.root]) ?? {};
  const ent = obj(ev[XML.entete]);
  const r = new Reader();
  const messageId = text(ent?.[XML.identifiantMessage]);
  if (!messageId) r.errors.push(issue('MISSING_FIELD', 'identifiantMessage', { record: XML.entete }));
  else result.messageId = messageId;
  const agentCode = (n: unknown) => text(at(list(at(n, 'agents', 'agent'))[0], 'code'));
  const sender = agentCode(ent?.[XML.emetteur]);
  if (sender) result.sender = sender;
  const receiver = agentCode(ent?.[XML.destinataire]);
  if (receiver) result.receiver = receiver;
  const dateProd = text(ent?.[XML.dateHeureProduction]);
  const messageDateTime = dateProd ? isoDate(dateProd) : undefined;
  const version = text(ev['@_version']);

  const evts = list(ev[XML.evenement]);
  if (evts.length === 0) r.errors.push(issue('MISSING_FIELD', 'aucun evenementPatient', { record: XML.root }));
  evts.forEach((e, i) => {
    if (!(XML.venuePatient in e) && !(XML.mouvementPatient in e) && !(XML.debiteursVenue in e)) {
      r.warnings.push(
        issue('UNKNOWN_EVENT', 'ni venuePatient, ni mouvementPatient, ni debiteursVenue : ignoré', {
          record: `evenementPatient[${i + 1}]`,
        }),
      );
    }
    for (const kind of [XML.venuePatient, XML.mouvementPatient, XML.debiteursVenue]) {
      for (const node of list(e[kind])) {
        const where = `evenementPatient[${i + 1}]/${kind}`;
        const w0 = r.warnings.length;
        const actionRaw = text(node['@_action']).toLowerCase();
        let meaning: RocMeaning = XML_EVENT_MEANINGS[kind]?.[actionRaw] ?? 'IGNORE';
        if (!XML_EVENT_MEANINGS[kind]?.[actionRaw])
          r.warnings.push(issue('UNKNOWN_EVENT', `action « ${actionRaw.slice(0, 20)} » inconnue du profil : ignorée`, { record: where }));
        const adm: Admission = {
          messageType: XML.root,
          event: kind,
          meaning,
          controlId: `${messageId}#${i + 1}`,
          patient: { identifiers: [] },
          coverages: [],
          finess: {},
          warnings: [],
          charset: result.charset,
        };
        if (sender) adm.sendingApplication = sender;
        if (receiver) adm.receivingApplication = receiver;
        if (messageDateTime) adm.messageDateTime = messageDateTime;
        if (version) adm.version = version;
        if (XML_ACTIONS[actionRaw]) adm.movement = { action: XML_ACTIONS[actionRaw] };
        readPatient(r, node['patient'], adm, where);
        const venue = readVenue(r, node['venue'], adm, where);
        if (venue) adm.venue = venue;
        if (kind === XML.mouvementPatient) readMouvement(r, node[XML_MOUVEMENT.mouvement], adm, where);
        if (kind === XML.debiteursVenue) readDebiteurs(r, node['debiteurs'], adm, where);
        if (kind === XML.venuePatient && XML_DISCHARGE_IS_CLC && meaning !== 'DEL' && adm.venue?.dischargeDateTime) meaning = 'CLC';
        adm.meaning = meaning;
        if (meaning !== 'IGNORE' && meaning !== 'IDENTITY' && !adm.venue?.numeroVenue && !adm.venue?.nda) {
          r.errors.push(issue('MISSING_FIELD', 'numéro de venue ou NDA', { record: `${where}/venue` }));
        }
        if (meaning === 'IDB' && !adm.venue?.admitDateTime)
          r.errors.push(issue('MISSING_FIELD', "date d'entrée", { record: `${where}/venue/entree` }));
        // Warnings found while reading this event also travel with its admission (like lib/hl7).
        for (const w of r.warnings.slice(w0))
          adm.warnings.push({
            code: w.code === 'UNKNOWN_EVENT' ? '201' : '103',
            severity: 'W',
            message: w.message,
            location: { segment: w.record ?? kind },
          });
        result.admissions.push(adm);
      }
    }
  });
  result.errors.push(...r.errors);
  result.warnings.push(...r.warnings);
  result.ok = result.errors.length === 0;
  if (!result.ok) result.admissions = [];
  return result;
}
