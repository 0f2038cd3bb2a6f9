import { readFileSync } from 'fs';
import { join } from 'path';
import * as iconv from 'iconv-lite';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import {
  ackXmlFor,
  buildAcquittementsPatients,
  parseHprimRecords,
  readHprimSante,
  readHprimXml,
  santeAckFor,
  fieldValue,
} from '../../lib/hprim';

const FIX = join(__dirname, '..', 'fixtures', 'hprim');
const VENUE = readFileSync(join(FIX, 'hprimxml-own-venue-debiteurs.xml'));
const ADM = readFileSync(join(FIX, 'hprim-own-adm-2-patients-utf8-cr.hpr'));
const NOW = new Date(2026, 2, 12, 10, 16, 5);
const parser = new XMLParser({
  ignoreAttributes: false,
  processEntities: true,
  htmlEntities: true,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  isArray: (n) => n === 'observation',
});

function parseAck(xml: string) {
  expect(XMLValidator.validate(xml)).toBe(true);
  return parser.parse(xml).acquittementsPatients;
}

describe('acquittementsPatients', () => {
  it('OK: well-formed, HPRIM namespace, names the acknowledged message, no observation', () => {
    const xml = ackXmlFor(readHprimXml(VENUE), { now: NOW });
    const ack = parseAck(xml);
    expect(ack['@_xmlns']).toBe('http://www.hprim.org/hprimXML');
    const ent = ack.enteteMessageAcquittement;
    expect(ent['@_statut']).toBe('OK');
    expect(ent.identifiantMessageAcquitte).toBe('EVT-20260312-000123');
    expect(ent.identifiantMessage).toBe('ACK-EVT-20260312-000123');
    expect(ent.dateHeureProduction).toBe('2026-03-12T10:16:05');
    expect(ent.destinataire.agents.agent.code).toBe('GAP01');
    expect(ack.observations).toBeUndefined();
  });

  it('erreur: one observation per error with code, libellé and location', () => {
    const bad = VENUE.toString('utf8')
      .replace('<numeroOrganisme>12345678</numeroOrganisme>', '')
      .replace('<date>1978-03-14</date>', '<date>14/03/1978</date>');
    const ack = parseAck(ackXmlFor(readHprimXml(bad), { now: NOW }));
    expect(ack.enteteMessageAcquittement['@_statut']).toBe('erreur');
    expect(ack.enteteMessageAcquittement.identifiantMessageAcquitte).toBe('EVT-20260312-000123');
    const obs = ack.observations.observation;
    expect(obs.map((o: Record<string, string>) => o.code)).toEqual(['BAD_DATE', 'MISSING_FIELD']);
    expect(obs[1].libelle).toContain('numéro AMC');
    expect(obs[1].commentaire).toBe('élément evenementPatient[2]/debiteursVenue/debiteurs/debiteur[2]/complementaire');
    expect(JSON.stringify(obs)).not.toMatch(/1978|DUPRÉ/);
  });

  it('escapes markup in every text it writes', () => {
    const xml = buildAcquittementsPatients({
      acknowledgedId: 'A<&>"\'B',
      statut: 'erreur',
      observations: [{ code: 'X&Y', libelle: '<script>', location: 'a"b' }],
      now: NOW,
    });
    const ack = parseAck(xml);
    expect(xml).not.toContain('<script>');
    expect(ack.enteteMessageAcquittement.identifiantMessageAcquitte).toBe('A<&>"\'B');
    expect(ack.observations.observation[0].libelle).toBe('<script>');
  });

  it('a refused hostile document is still acknowledged (statut erreur, XML_DTD)', () => {
    const ack = parseAck(ackXmlFor(readHprimXml('<!DOCTYPE x [<!ENTITY e "e">]><x/>'), { now: NOW }));
    expect(ack.enteteMessageAcquittement['@_statut']).toBe('erreur');
    expect(ack.observations.observation[0].code).toBe('XML_DTD');
  });
});

describe('HPRIM Santé acknowledgement / ERR file', () => {
  it('accepted file: H of type ACK, one OK record naming the file, L counts right', () => {
    const ack = santeAckFor(readHprimSante(ADM), { now: NOW });
    expect(ack.fileName).toBe('ADM20260312A.HPR.ACK');
    const rec = parseHprimRecords(ack.text);
    expect(rec.errors).toEqual([]);
    expect(rec.records.map((r) => r.type)).toEqual(['H', 'ERR', 'L']);
    const d = rec.delimiters;
    expect(fieldValue(rec.records[0], { field: 7 }, d)).toBe('ACK');
    expect(fieldValue(rec.records[0], { field: 10 }, d)).toBe('GAP01');
    expect(fieldValue(rec.records[0], { field: 14 }, d)).toBe('20260312101605');
    expect(rec.records[1].fields.slice(1, 5)).toEqual(['1', 'ADM20260312A.HPR', 'OK', '0']);
    expect(rec.records[2].fields).toEqual(['L', '1', '', '0', '3']);
    expect(ack.bytes.equals(iconv.encode(ack.text, 'utf8'))).toBe(true); // answers in the charset of the file
  });

  it('truncated file: H of type ERR, the ERR names line, record and field, the ack reads back as HPRIM', () => {
    const full = ADM.toString('utf8');
    const result = readHprimSante(Buffer.from(full.slice(0, full.indexOf('|CS|') + 2), 'utf8'));
    const ack = santeAckFor(result, { now: NOW });
    expect(ack.fileName).toBe('ADM20260312A.HPR.ERR');
    const rec = parseHprimRecords(ack.text);
    const d = rec.delimiters;
    expect(fieldValue(rec.records[0], { field: 7 }, d)).toBe('ERR');
    const err = rec.records[1];
    expect(err.fields.slice(1, 5)).toEqual(['1', 'ADM20260312A.HPR', 'ERREUR', 'TRUNCATED']);
    expect(fieldValue(err, { field: 6 }, d)).toContain('Fichier tronqué');
    expect([1, 2, 3].map((c) => fieldValue(err, { field: 7, component: c }, d))).toEqual(['5', 'AC', '6']);
    expect(rec.records[rec.records.length - 1].fields[4]).toBe(String(rec.records.length));
    // our own answer satisfies our own trailer check
    expect(readHprimSante(ack.text).errors).toEqual([expect.objectContaining({ code: 'NOT_ADM' })]);
  });

  it('ISO 8859-15 by default: accented libellés are encoded as single bytes', () => {
    const latin = readFileSync(join(FIX, 'hprim-own-adm-sortie-8859-15-crlf.hpr'));
    const ack = santeAckFor(readHprimSante(latin), { now: NOW });
    expect(ack.fileName.endsWith('.ACK')).toBe(true);
    expect(iconv.decode(ack.bytes, 'iso-8859-15')).toBe(ack.text);
    expect(ack.text).toContain('AVERTISSEMENT|VENUE_FROM_NDA|Numéro de venue absent');
    expect(ack.bytes.includes(Buffer.from('é', 'utf8'))).toBe(false);
  });

  it('delimiters inside a libellé are escaped', () => {
    const result = readHprimSante('H|~^\\&|F|A|B||ORU\rL|1\r');
    result.errors[0].message = 'a|b~c^d&e\\f';
    const rec = parseHprimRecords(santeAckFor(result, { now: NOW }).text);
    expect(rec.records[1].fields).toHaveLength(7);
    expect(fieldValue(rec.records[1], { field: 6 }, rec.delimiters)).toBe('a|b~c^d&e\\f');
  });
});
