import { readFileSync } from 'fs';
import { join } from 'path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ackFileName, detectHprimFormat, parseHprimRecords, readHprimFile, refusalText } from '../../lib/hprim';
import { FILE_REFUSALS } from '../../lib/hprim/profile';

const FIX = join(__dirname, '..', 'fixtures', 'hprim');
const NOW = new Date(2026, 2, 12, 10, 16, 5);
const acq = (b: Buffer) =>
  new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' }).parse(b.toString('utf8')).acquittementsPatients;

describe('readHprimFile: the one entry point for a dropped file (detection, reading, acknowledgement)', () => {
  it('HPRIM XML (with BOM and leading blank line) → acquittementsPatients named after the dropped file, acknowledging the message id', () => {
    const bytes = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('\n'),
      readFileSync(join(FIX, 'hprimxml-own-venue-debiteurs.xml')),
    ]);
    const r = readHprimFile('EVT-0312.xml', bytes, { now: NOW });
    expect(r).toMatchObject({ format: 'hprim-xml', ok: true, result: { messageId: 'EVT-20260312-000123' } });
    expect(r.ack.fileName).toBe('EVT-0312.acq.xml');
    expect(XMLValidator.validate(r.ack.bytes.toString('utf8'))).toBe(true);
    expect(acq(r.ack.bytes).enteteMessageAcquittement).toMatchObject({
      '@_statut': 'OK',
      identifiantMessageAcquitte: 'EVT-20260312-000123',
    });
  });

  it('HPRIM Santé accepted → <file>.ACK; truncated → <file>.ERR acknowledging H-3, TRUNCATED first', () => {
    const full = readFileSync(join(FIX, 'hprim-own-adm-sortie-8859-15-crlf.hpr'));
    const ok = readHprimFile('sortie.hpr', full, { now: NOW });
    expect(ok).toMatchObject({ format: 'hprim-sante', ok: true, errors: [] });
    expect(ok.result!.admissions).toHaveLength(1);
    expect(ok.ack.fileName).toBe('sortie.hpr.ACK');
    const cut = readHprimFile('sortie.hpr', full.subarray(0, 200), { now: NOW });
    expect(cut).toMatchObject({ format: 'hprim-sante', ok: false });
    expect(cut.ack.fileName).toBe('sortie.hpr.ERR');
    const rec = parseHprimRecords(cut.ack.bytes.toString('latin1'));
    expect(rec.records[1].fields.slice(1, 5)).toEqual(['1', 'ADM20260315B.HPR', 'ERREUR', 'TRUNCATED']);
  });

  it('neither format (a letter, a scan, an empty file) → NOT_HPRIM at line 1, answered in the format the name suggests', () => {
    for (const bytes of [
      Buffer.from('bonjour\n'),
      Buffer.from('Hello|world\n'),
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 255]),
      Buffer.alloc(0),
      Buffer.from('\r\n  \n'),
    ]) {
      const r = readHprimFile('dépôt 12.hpr', bytes, { now: NOW });
      expect(r).toMatchObject({ ok: false, errors: [{ code: 'NOT_HPRIM', message: FILE_REFUSALS.NOT_HPRIM, line: 1 }] });
      expect(r.format).toBeUndefined();
      expect(r.result).toBeUndefined();
      expect(r.ack).toMatchObject({ fileName: 'dépôt 12.hpr.ERR', format: 'hprim-sante' });
      const rec = parseHprimRecords(r.ack.bytes.toString('latin1'));
      expect(rec.records[1].fields.slice(1, 5)).toEqual(['1', 'dépôt 12.hpr', 'ERREUR', 'NOT_HPRIM']);
    }
    const x = readHprimFile('courrier.XML', Buffer.from('Madame, Monsieur,\n'), { now: NOW });
    expect(x.ack).toMatchObject({ fileName: 'courrier.acq.xml', format: 'hprim-xml' });
    expect(acq(x.ack.bytes).observations.observation).toMatchObject({ code: 'NOT_HPRIM', commentaire: 'ligne 1' });
  });

  it('over the size limit → FILE_TOO_LARGE without reading (the size alone is enough)', () => {
    const r = readHprimFile('gros.hpr', { size: 25 * 1024 * 1024 }, { now: NOW });
    expect(r).toMatchObject({
      ok: false,
      errors: [{ code: 'FILE_TOO_LARGE', message: `${FILE_REFUSALS.FILE_TOO_LARGE} : 26214400 octets, limite 20971520` }],
    });
    expect(r.ack.fileName).toBe('gros.hpr.ERR');
    const small = readHprimFile('petit.xml', Buffer.from('<x/>'), { maxFileBytes: 3, now: NOW });
    expect(small).toMatchObject({ ok: false, errors: [{ code: 'FILE_TOO_LARGE' }], ack: { fileName: 'petit.acq.xml' } });
  });

  it('the acknowledgement name never leaves its directory', () => {
    expect(ackFileName('../../etc/passwd', 'hprim-sante', false)).toBe('.._.._etc_passwd.ERR');
    expect(ackFileName('a\\b.xml', 'hprim-xml', true)).toBe('a_b.acq.xml');
    expect(ackFileName('', 'hprim-sante', true)).toBe('inconnu.ACK');
  });

  it('refusalText names the file, the first error, the count of the others and the acknowledgement', () => {
    const r = readHprimFile('scan.hpr', Buffer.from('%PDF-1.7'), { now: NOW });
    expect(refusalText({ file: 'scan.hpr', errors: r.errors, ackFile: r.ack.fileName })).toBe(
      `HPRIM : fichier scan.hpr refusé, ${FILE_REFUSALS.NOT_HPRIM} ; acquittement scan.hpr.ERR, fichier déplacé en erreur`,
    );
    expect(refusalText({ file: 'a.hpr', errors: [r.errors[0], r.errors[0], r.errors[0]] })).toMatch(
      /refusé, .* \(\+2 autre\(s\)\) ; acquittement -, /,
    );
  });
});

describe('detectHprimFormat', () => {
  it.each([
    ['H|~^\\&|F.HPR', 'hprim-sante'],
    ['\ufeff\r\n H;~^\\&|F', 'hprim-sante'],
    ['<?xml version="1.0"?><evenementsPatients/>', 'hprim-xml'],
    ['\ufeff\n\t<evenementsPatients/>', 'hprim-xml'],
    ['HPRIM', undefined],
    ['H 1', undefined],
    ['H', undefined],
    ['P|1|IPP', undefined],
    ['', undefined],
  ])('%j → %s', (text, format) => {
    expect(detectHprimFormat(Buffer.from(text, 'utf8'))).toBe(format);
  });
});
