/**
 * One frame in, one verdict out (lib/hl7/intake.ts) with the charset reading before it
 * (lib/hl7/charset.ts): the verdict and the ERR texts a GAP gets for an unknown or lying MSH-18,
 * a raw line break, a site mapping that cannot be read, an oversize frame; and the MSH-18 reading
 * itself (BOM, blanks, spellings, sniffing). Complements ack.test.ts and charset.test.ts.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { charsetFromMsh18, decodeFrame, decodeStrict, msh18For, readMsh18, readRawMsh } from '../../lib/hl7/charset';
import { acksFor, receive, rejectOversize } from '../../lib/hl7/intake';

const A01 = readFileSync(path.join(__dirname, '..', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'));
const TEXT = A01.toString('utf8');
const MSH = TEXT.split('\r')[0];
const withMsh18 = (v: string) => Buffer.from(TEXT.replace('|UNICODE UTF-8|', `|${v}|`), 'utf8');

describe('HL7 intake verdicts', () => {
  it('an unknown MSH-18: read with the default charset, accepted with a warning naming it', () => {
    const r = receive(Buffer.from(TEXT.replace('|UNICODE UTF-8|', '|KLINGON|'), 'latin1'));
    expect(r.ackCode).toBe('AA');
    expect(r.declaredCharset).toBe('KLINGON');
    expect(r.charset).toBe('iso-8859-15');
    expect(r.issues).toStrictEqual([
      {
        code: '103',
        severity: 'W',
        location: { segment: 'MSH', sequence: 1, field: 18 },
        message: 'Valeur absente de la table : jeu de caractères MSH-18 inconnu, iso-8859-15 utilisé',
      },
    ]);
    expect(r.admission?.warnings).toStrictEqual(r.issues);
  });

  it('bytes the declared UTF-8 cannot read: AE 103 at MSH-18, refused without being read', () => {
    const bad = Buffer.concat([withMsh18('UNICODE UTF-8'), Buffer.from([0xc3, 0x28])]);
    const r = receive(bad);
    expect(r).toMatchObject({ ackCode: 'AE', meaning: 'IGNORE', ignored: false, charset: 'utf8', declaredCharset: 'UNICODE UTF-8' });
    expect(r.issues).toStrictEqual([
      {
        code: '103',
        severity: 'E',
        location: { segment: 'MSH', sequence: 1, field: 18 },
        message:
          'Valeur absente de la table : octets invalides pour le jeu de caractères déclaré en MSH-18 (UTF-8), message refusé sans être lu',
      },
    ]);
    expect(r.admission).toBeUndefined();
    expect(r.text).toBeUndefined();
    expect(r.context.controlId).toBe('A01-UTF8-0001');
    expect(r.context.charset).toBe('utf8');
  });

  it('bytes a UTF-8 listener default cannot read, MSH-18 empty: the message says it was the default', () => {
    const latin = Buffer.from(TEXT.replace('|UNICODE UTF-8|', '||'), 'latin1');
    const r = receive(latin, { defaultCharset: 'utf8' });
    expect(r.ackCode).toBe('AE');
    expect(r.declaredCharset).toBeUndefined();
    expect(r.issues[0].message).toBe(
      'Valeur absente de la table : octets invalides pour le jeu de caractères par défaut (UTF-8, MSH-18 vide), message refusé sans être lu',
    );
    // an unknown MSH-18 falling back to a UTF-8 default: the refusal first, then the warning
    const unknown = receive(Buffer.from(TEXT.replace('|UNICODE UTF-8|', '|KLINGON|'), 'latin1'), { defaultCharset: 'utf8' });
    expect(unknown.issues.map((i) => [i.code, i.severity])).toStrictEqual([
      ['103', 'E'],
      ['103', 'W'],
    ]);
    expect(unknown.issues[0].message).toContain('déclaré en MSH-18 (UTF-8)');
  });

  it('a refused structure keeps the text and the charset; its ERR quotes the parser', () => {
    const r = receive(Buffer.from(TEXT.replace('MSH|^~\\&|', 'MSH|^~|'), 'utf8'));
    expect(r).toMatchObject({ ackCode: 'AR', meaning: 'IGNORE', ignored: false, charset: 'utf8', declaredCharset: 'UNICODE UTF-8' });
    expect(r.text).toContain('A01-UTF8-0001');
    expect(r.issues).toStrictEqual([
      {
        code: '102',
        severity: 'E',
        location: { segment: 'MSH', sequence: 1, field: 2 },
        message: 'Erreur de type de donnée : Caractères de codage (MSH-2) invalides : 4 caractères distincts attendus, par exemple ^~\\&',
      },
    ]);
  });

  it('a raw line break: the parser warning comes after the errors and before the mapper warnings', () => {
    const broken = TEXT.replace("12 rue de l'Église", "12 rue de l'Église\nrésidence Les Tilleuls")
      .replace('|19850714|', '|19851399|')
      .replace('|F|||', '|X|||');
    const r = receive(Buffer.from(broken, 'utf8'));
    expect(r.ackCode).toBe('AE');
    expect(r.issues.map((i) => [i.code, i.severity, i.location?.segment])).toStrictEqual([
      ['102', 'E', 'PID'],
      ['100', 'W', 'PID'],
      ['103', 'W', 'PID'],
    ]);
    expect(r.issues[1].message).toBe('Erreur de séquence de segments : Ligne 4 : pas un début de segment, rattachée au segment précédent');
    expect(r.admission?.warnings.map((w) => w.code)).toStrictEqual(['100', '103']);
    expect(r.message?.segments.map((s) => s.name)).toContain('ZBE');
  });

  it('ignored only when there is nothing wrong: an unknown event with a missing MSH-10 is AE', () => {
    const ev = TEXT.replace('ADT^A01^ADT_A01', 'ADT^A54^ADT_A54');
    expect(receive(Buffer.from(ev, 'utf8'))).toMatchObject({ ackCode: 'AA', ignored: true });
    const noId = receive(Buffer.from(ev.replace('|A01-UTF8-0001|', '||'), 'utf8'));
    expect(noId).toMatchObject({ ackCode: 'AE', ignored: false, meaning: 'IGNORE' });
    expect(receive(A01)).toMatchObject({ ackCode: 'AA', ignored: false, meaning: 'IDB' });
  });

  it('AR only for an unsupported type; other errors are AE', () => {
    expect(receive(Buffer.from(TEXT.replace('ADT^A01^ADT_A01', 'ORU^R01'), 'utf8')).ackCode).toBe('AR');
    expect(receive(Buffer.from(TEXT.replace('|19850714|', '|19851399|'), 'utf8')).ackCode).toBe('AE');
  });

  it('a site mapping that cannot be read: a generic 207 that quotes nothing, the header still echoed', () => {
    const r = receive(A01, { coverageMapping: { csr: 'pas un chemin' } });
    expect(r).toMatchObject({ ackCode: 'AE', meaning: 'IGNORE', ignored: false, charset: 'utf8' });
    expect(r.issues).toStrictEqual([
      { code: '207', severity: 'E', message: 'Erreur interne de l’application : le message n’a pas pu être traité' },
    ]);
    expect(r.context).toMatchObject({ controlId: 'A01-UTF8-0001', sendingApplication: 'CPAGE', charset: 'utf8' });
    expect(r.admission).toBeUndefined();
  });

  it('the ACKs once the listener knows whether it stored the message', () => {
    const stored = acksFor(receive(A01), false, { controlId: 'K1' });
    expect(stored.application?.code).toBe('AE');
    expect(stored.application?.text).toContain(
      '\rERR|||207^Application internal error^HL70357|E||||Erreur interne de l’application : enregistrement impossible, renvoyer le message\r',
    );
    expect(acksFor(receive(A01), true, { controlId: 'K2' }).application).toMatchObject({ code: 'AA', controlId: 'K2' });
    const refused = acksFor(receive(Buffer.from('PID|1')), false);
    expect(refused.application?.code).toBe('AR');
    expect(refused.application?.text).toContain('|100^Segment sequence error^HL70357|');
  });

  it('an oversize frame: its charset from the head’s MSH-18, else the listener default', () => {
    const head = A01.subarray(0, 300);
    const r = rejectOversize(head, 2_000_000, 1_048_576);
    expect(r).toMatchObject({ ackCode: 'AR', charset: 'utf8', meaning: 'IGNORE', ignored: false });
    expect(r.issues).toStrictEqual([
      {
        code: '207',
        severity: 'E',
        message: 'Erreur interne de l’application : message trop volumineux (2000000 octets, maximum 1048576)',
      },
    ]);
    const noDecl = Buffer.from(MSH.replace('|UNICODE UTF-8|', '||'), 'latin1');
    expect(rejectOversize(noDecl, 10, 5).charset).toBe('iso-8859-15');
    expect(rejectOversize(noDecl, 10, 5, { defaultCharset: 'windows-1252' }).charset).toBe('windows-1252');
    expect(rejectOversize(noDecl, 10, 5, { defaultCharset: 'windows-1252' }).context.charset).toBe('windows-1252');
  });
});

describe('MSH-18 read from the raw bytes', () => {
  it('skips a UTF-8 BOM and blank lines before MSH; needs MSH and a separator', () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('\r\n \t'), A01]);
    expect(readMsh18(bom)).toBe('UNICODE UTF-8');
    expect(readRawMsh(bom)?.[10]).toBe('A01-UTF8-0001');
    expect(readRawMsh(Buffer.from('MSH'))).toBeUndefined();
    expect(readRawMsh(Buffer.from('MSH|'))).toStrictEqual(['MSH', '|', '']);
    expect(readRawMsh(Buffer.from('MSX|^~\\&'))).toBeUndefined();
    expect(readRawMsh(Buffer.from('MXH|^~\\&'))).toBeUndefined();
    expect(readRawMsh(Buffer.from(' xMSH|^~\\&'))).toBeUndefined();
    expect(readRawMsh(Buffer.from([0xef, 0xbb, 0x4d, 0x53, 0x48, 0x7c]))).toBeUndefined();
  });

  it('only the three BOM bytes together are skipped; MSH must be there whole', () => {
    for (const prefix of [
      [0xef, 0x41, 0xbf],
      [0xef, 0xbb, 0x41],
      [0x41, 0xbb, 0xbf],
    ]) {
      expect(readRawMsh(Buffer.concat([Buffer.from(prefix), Buffer.from('MSH|^~\\&|CPAGE')]))).toBeUndefined();
    }
    expect(readRawMsh(Buffer.from('\rMSH'))).toBeUndefined();
    expect(readRawMsh(Buffer.from('XSH|^~\\&|CPAGE'))).toBeUndefined();
  });

  it('MSH-18 with MSH-2 empty or short: the standard separators', () => {
    const fields = (enc: string, msh18: string) => Buffer.from(`MSH|${enc}|A|B|C|D|E||ADT^A01|1|P|2.5|||||FRA|${msh18}`);
    expect(readMsh18(fields('', 'UTF-8^x'))).toBe('UTF-8');
    expect(readMsh18(fields('^', 'UTF-8~8859/1'))).toBe('UTF-8');
  });

  it('stops at the end of the MSH line (CR or LF)', () => {
    expect(readRawMsh(Buffer.from('MSH|^~\\&|CPAGE\nPID|1'))).toStrictEqual(['MSH', '|', '^~\\&', 'CPAGE']);
    expect(readRawMsh(Buffer.from('MSH|^~\\&|CPAGE\rPID|1'))).toStrictEqual(['MSH', '|', '^~\\&', 'CPAGE']);
  });

  it('reads at most 64 KiB of MSH line', () => {
    const long = Buffer.concat([Buffer.from('MSH|^~\\&|'), Buffer.alloc(70 * 1024, 0x41), Buffer.from('|UNICODE UTF-8')]);
    const f = readRawMsh(long);
    expect(f?.[3].length).toBe(64 * 1024 - 9);
  });

  it('takes the first repetition and component, trimmed, with the message’s own delimiters', () => {
    expect(readMsh18(withMsh18(' 8859/15 ~UNICODE UTF-8'))).toBe('8859/15');
    expect(readMsh18(withMsh18('8859/15^x'))).toBe('8859/15');
    expect(readMsh18(withMsh18('  '))).toBeUndefined();
    const odd = Buffer.from('MSH#*@!$#GAM#CHU#BRIDGE#CHU#20250101##ADT*A01#ID1#P#2.5######8859/1*x@UTF-8');
    expect(readMsh18(odd)).toBe('8859/1');
    expect(readMsh18(Buffer.from('MSH|^~\\&|A|B|C|D|E||ADT^A01|1|P|2.5|||||FRA'))).toBeUndefined();
    expect(readMsh18(Buffer.from('MSH|^~\\&|A|B|C|D|E||ADT^A01|1|P|2.5|||||FRA|UTF-8'))).toBe('UTF-8');
  });

  it('spellings: case, surrounding and doubled blanks do not matter', () => {
    expect(charsetFromMsh18(' unicode  utf-8 ')).toBe('utf8');
    expect(charsetFromMsh18('iso ir203')).toBe('iso-8859-15');
    expect(charsetFromMsh18('cp1252')).toBe('windows-1252');
    expect(charsetFromMsh18('ascii')).toBe('iso-8859-15');
    expect(charsetFromMsh18(undefined)).toBeUndefined();
    expect(charsetFromMsh18('')).toBeUndefined();
    expect([msh18For('utf8'), msh18For('latin1'), msh18For('iso-8859-15'), msh18For('windows-1252')]).toStrictEqual([
      'UNICODE UTF-8',
      '8859/1',
      '8859/15',
      '8859/15',
    ]);
  });
});

describe('frame decoding', () => {
  it('strict decoding fails only for UTF-8', () => {
    const bad = Buffer.from([0x41, 0xff, 0x42]);
    expect(decodeStrict(bad, 'utf8')).toBeUndefined();
    expect(decodeStrict(bad, 'latin1')).toBe('AÿB');
    expect(decodeStrict(Buffer.from('Hélène', 'utf8'), 'utf8')).toBe('Hélène');
  });

  it('flags invalid bytes and still gives a lenient text', () => {
    const d = decodeFrame(Buffer.concat([withMsh18('UTF-8'), Buffer.from([0xff])]));
    expect(d).toMatchObject({ charset: 'utf8', source: 'msh-18', declared: 'UTF-8', unknownDeclared: false, invalid: true });
    expect(d.text).toContain('Hélène');
    expect(d.text.endsWith('\uFFFD')).toBe(true);
    expect(decodeFrame(A01).invalid).toBe(false);
  });

  it('sniffs UTF-8 only when MSH-18 is empty, the default is not UTF-8 and there are non-ASCII bytes', () => {
    const empty = Buffer.from(TEXT.replace('|UNICODE UTF-8|', '||'), 'utf8');
    expect(decodeFrame(empty, { sniffUtf8: true })).toMatchObject({ charset: 'utf8', source: 'sniffed' });
    expect(decodeFrame(empty, { sniffUtf8: false })).toMatchObject({ charset: 'iso-8859-15', source: 'default' });
    expect(decodeFrame(empty, { sniffUtf8: true, defaultCharset: 'utf8' })).toMatchObject({ charset: 'utf8', source: 'default' });
    const ascii = Buffer.from('MSH|^~\\&|CPAGE|CHU-NORD|||20250114||ADT^A01|1|P|2.5\rPID|1||481516\r');
    expect(decodeFrame(ascii, { sniffUtf8: true })).toMatchObject({ charset: 'iso-8859-15', source: 'default' });
    const unknown = Buffer.from(TEXT.replace('|UNICODE UTF-8|', '|KLINGON|'), 'utf8');
    expect(decodeFrame(unknown, { sniffUtf8: true })).toMatchObject({ charset: 'iso-8859-15', source: 'default', unknownDeclared: true });
    expect(decodeFrame(withMsh18('8859/15'), { sniffUtf8: true })).toMatchObject({ charset: 'iso-8859-15', source: 'msh-18' });
  });
});
