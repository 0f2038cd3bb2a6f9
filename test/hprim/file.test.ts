import { readFileSync } from 'fs';
import { join } from 'path';
import { XMLValidator } from 'fast-xml-parser';
import { answerFor, parseHprimRecords, readHprimFile } from '../../lib/hprim';

const FIX = join(__dirname, '..', 'fixtures', 'hprim');
const NOW = new Date(2026, 2, 12, 10, 16, 5);

describe('readHprimFile / answerFor: one entry point for a dropped file', () => {
  it('HPRIM XML (with BOM and leading blank line) → acquittementsPatients named after the message', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('\n'), readFileSync(join(FIX, 'hprimxml-own-venue-debiteurs.xml'))]);
    const r = readHprimFile(bytes);
    expect(r).toMatchObject({ format: 'hprim-xml', ok: true, messageId: 'EVT-20260312-000123' });
    const a = answerFor(r, { now: NOW });
    expect(a.fileName).toBe('EVT-20260312-000123.ack.xml');
    expect(XMLValidator.validate(a.bytes.toString('utf8'))).toBe(true);
    expect(a.bytes.toString('utf8')).toContain('<identifiantMessageAcquitte>EVT-20260312-000123</identifiantMessageAcquitte>');
  });

  it('HPRIM Santé truncated → .ERR file; unreadable header → named after the dropped file', () => {
    const full = readFileSync(join(FIX, 'hprim-own-adm-sortie-8859-15-crlf.hpr'));
    const r = readHprimFile(full.subarray(0, 200));
    expect(r).toMatchObject({ format: 'hprim-sante', ok: false });
    expect(answerFor(r, { now: NOW }).fileName).toBe('ADM20260315B.HPR.ERR');
    const junk = readHprimFile(Buffer.from('bonjour\n'));
    const a = answerFor(junk, { now: NOW, fallbackId: 'dépôt 12/03.hpr' });
    expect(a.fileName).toBe('d_p_t_12_03.hpr.ERR');
    const rec = parseHprimRecords(a.bytes.toString('latin1'));
    expect(rec.records[1].fields.slice(1, 5)).toEqual(['1', 'dépôt 12/03.hpr', 'ERREUR', 'NO_HEADER']);
  });
});
