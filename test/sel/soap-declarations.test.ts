/**
 * A SOAP answer is refused as a DTD only for a declaration in markup: `<!DOCTYPE` or `<!ENTITY`
 * written inside a CDATA section or a comment is text (an AMC copying an HTML page or an example
 * into a libellé), the same rule as HPRIM XML (lib/util/xml-markup.ts).
 */
import { parseEnvelope, parseXml, SoapError, SOAP12_NS } from '../../lib/sel/soap';
import { findMarkupDeclaration, maskXmlContent } from '../../lib/util/xml-markup';

const NS = 'urn:roc-bridge:profile:sel:1.0';
function answer(inner: string, prolog = ''): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>${prolog}` +
    `<soap:Envelope xmlns:soap="${SOAP12_NS}"><soap:Body><roc:IdbReponse xmlns:roc="${NS}">` +
    `<roc:Statut>OK</roc:Statut>${inner}</roc:IdbReponse></soap:Body></soap:Envelope>`
  );
}
function kindOf(xml: string): string {
  try {
    parseEnvelope(xml);
  } catch (e) {
    return (e as SoapError).kind;
  }
  return 'accepted';
}

describe('SOAP answers: declarations count only in markup', () => {
  it('a DOCTYPE inside a CDATA section is text: the answer is read and the libellé kept as sent', () => {
    const libelle = '<!DOCTYPE html><p>Chambre particulière : 60 € par jour</p>';
    const el = parseEnvelope(answer(`<roc:Libelle><![CDATA[${libelle}]]></roc:Libelle>`));
    expect(el.local).toBe('IdbReponse');
    expect((el.node as Record<string, unknown>)['roc:Libelle']).toBe(libelle);
  });

  it('an ENTITY declaration inside a comment (before the envelope or inside the body) is text', () => {
    const comment = '<!-- exemple à ne pas suivre : <!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]> -->';
    expect(kindOf(answer('', comment))).toBe('accepted');
    expect(kindOf(answer(comment))).toBe('accepted');
  });

  it('a real DOCTYPE is still refused as dtd, also right after a comment or a CDATA section that mentions one', () => {
    const dtd = '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>';
    expect(kindOf(answer('', dtd))).toBe('dtd');
    expect(kindOf(answer('', `<!-- <!DOCTYPE --> ${dtd}`))).toBe('dtd');
    // the comment ends at the first "-->": a CDATA opener inside it hides nothing
    expect(kindOf(answer('', `<!-- <![CDATA[ -->${dtd}<!-- ]]> -->`))).toBe('dtd');
    expect(() => parseXml(`<?xml version="1.0"?>${dtd}<r>&x;</r>`)).toThrow(expect.objectContaining({ kind: 'dtd' }));
  });

  it('a declaration hidden by an unterminated comment or CDATA section is never read: malformed', () => {
    const hidden = '<!ENTITY x SYSTEM "file:///etc/passwd">';
    expect(kindOf(answer('', `<!-- ${hidden}`))).toBe('malformed');
    expect(kindOf(answer(`<roc:Libelle><![CDATA[${hidden}</roc:Libelle>`))).toBe('malformed');
  });

  it('ELEMENT, ATTLIST and NOTATION declarations in markup are refused as dtd too (one rule with HPRIM XML)', () => {
    for (const d of ['<!ELEMENT r ANY>', '<!ATTLIST r a CDATA #IMPLIED>', '<!NOTATION n SYSTEM "x">'])
      expect(kindOf(answer('', d))).toBe('dtd');
  });
});

describe('findMarkupDeclaration / maskXmlContent', () => {
  it('finds the declaration in markup, skips comments, CDATA, processing instructions and attribute values', () => {
    expect(findMarkupDeclaration('<r>sans déclaration</r>')).toBe(-1);
    expect(findMarkupDeclaration('<?x <!DOCTYPE ?><r a="<!ENTITY"><!-- <!DOCTYPE --><![CDATA[<!ENTITY]]></r>')).toBe(-1);
    const xml = '<!-- <!DOCTYPE -->\n<!doctype r>';
    expect(findMarkupDeclaration(xml)).toBe(xml.lastIndexOf('<!doctype'));
  });

  it('keeps offsets and line breaks: a masked document has the same length and lines', () => {
    const xml = '<r a="x\ny"><!-- un\ncommentaire --><![CDATA[a\r\nb]]></r>';
    const masked = maskXmlContent(xml);
    expect(masked).toHaveLength(xml.length);
    expect(masked.split('\n')).toHaveLength(xml.split('\n').length);
    expect(masked).not.toMatch(/commentaire|CDATA/);
  });
});
