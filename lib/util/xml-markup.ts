/**
 * Where XML markup is: the one rule both XML readers (lib/hprim HPRIM XML, lib/sel SOAP answers)
 * use to refuse DTDs. A markup declaration (`<!DOCTYPE`, `<!ENTITY`…) counts only in markup: the
 * same characters written inside a comment, a CDATA section, a processing instruction or an
 * attribute value are text, and refusing them would refuse a legitimate document.
 */

/** A markup declaration (only ever found in a DTD): DOCTYPE, ENTITY, ELEMENT, ATTLIST, NOTATION. */
export const MARKUP_DECLARATION_RE = /<!(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)/i;

/**
 * The document with what is content, not markup, blanked out (each character replaced by a space,
 * line breaks kept, so offsets and line numbers are unchanged): comments, CDATA sections,
 * processing instructions and, when `attributes`, quoted attribute values. What remains can be
 * searched for real declarations: `<!DOCTYPE` written inside a comment, a CDATA section or an
 * attribute value is text, not a DTD. An unterminated comment/CDATA/PI is blanked to the end (the
 * validator then refuses the document as malformed).
 */
export function maskXmlContent(xml: string, attributes = true): string {
  const out: string[] = [];
  // runs of spaces between the line breaks (a regex replace costs ~20x more on a 1 MB CDATA section)
  const blank = (from: number, to: number) => {
    let k = from;
    for (let j = from; j < to; j++) {
      const c = xml.charCodeAt(j);
      if (c === 10 || c === 13) {
        if (j > k) out.push(' '.repeat(j - k));
        out.push(xml[j]);
        k = j + 1;
      }
    }
    if (to > k) out.push(' '.repeat(to - k));
  };
  let i = 0;
  const n = xml.length;
  while (i < n) {
    const lt = xml.indexOf('<', i);
    if (lt < 0) {
      out.push(xml.slice(i));
      break;
    }
    out.push(xml.slice(i, lt));
    let open = '';
    let close = '';
    if (xml.startsWith('<!--', lt)) [open, close] = ['<!--', '-->'];
    else if (xml.startsWith('<![CDATA[', lt)) [open, close] = ['<![CDATA[', ']]>'];
    else if (xml.startsWith('<?', lt)) [open, close] = ['<?', '?>'];
    if (open) {
      const end = xml.indexOf(close, lt + open.length);
      const stop = end < 0 ? n : end + close.length;
      blank(lt, stop);
      i = stop;
      continue;
    }
    if (xml.startsWith('<!', lt)) {
      // a declaration (or something malformed): kept as is, for MARKUP_DECLARATION_RE and the parsers
      out.push('<!');
      i = lt + 2;
      continue;
    }
    // a start or end tag: up to its '>' outside quotes; quoted values blanked when asked
    let k = lt + 1;
    let quote = '';
    let qStart = 0;
    out.push('<');
    for (; k < n; k++) {
      const c = xml[k];
      if (quote) {
        if (c === quote) {
          if (attributes) blank(qStart, k);
          else out.push(xml.slice(qStart, k));
          out.push(c);
          quote = '';
        }
        continue;
      }
      if (c === '"' || c === "'") {
        quote = c;
        qStart = k + 1;
        out.push(c);
        continue;
      }
      if (c === '<') break; // malformed: '<' inside a tag; the next markup starts here
      out.push(c);
      if (c === '>') {
        k++;
        break;
      }
    }
    if (quote) {
      if (attributes) blank(qStart, k);
      else out.push(xml.slice(qStart, k));
    }
    i = k;
  }
  return out.join('');
}

/**
 * Offset of the first markup declaration (DOCTYPE, ENTITY, ELEMENT, ATTLIST, NOTATION) that is
 * markup, not text; -1 when there is none. A document without `<!` is answered without masking.
 */
export function findMarkupDeclaration(xml: string): number {
  if (xml.indexOf('<!') < 0) return -1;
  return maskXmlContent(xml).search(MARKUP_DECLARATION_RE);
}
