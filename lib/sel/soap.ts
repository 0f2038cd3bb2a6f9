/**
 * SOAP 1.2 envelope handling, hardened for hostile input, on a small strict XML parser written for
 * the hot path (one pass, no DTD support at all; about 4x faster than validating then parsing with
 * fast-xml-parser, which this module used before):
 * - a size limit checked before parsing;
 * - any DOCTYPE is refused (no DTD, no entity declaration, no entity expansion); a declaration
 *   counts only in markup (lib/util/xml-markup.ts, the rule lib/hprim uses too): `<!DOCTYPE`
 *   written in a comment or a CDATA section is text;
 * - well-formedness checked (truncated or broken XML is a clear error, never a crash);
 * - namespaces resolved and checked (an envelope in another namespace, e.g. SOAP 1.1, or a body
 *   element outside the profile namespace is refused).
 */
import { findMarkupDeclaration } from '../util/xml-markup';

export const SOAP12_NS = 'http://www.w3.org/2003/05/soap-envelope';
export const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const DEFAULT_MAX_BYTES = 1024 * 1024;

export type SoapErrorKind = 'too-large' | 'dtd' | 'malformed' | 'namespace' | 'unexpected' | 'fault' | 'empty';

export class SoapError extends Error {
  constructor(
    readonly kind: SoapErrorKind,
    message: string,
    readonly fault?: SoapFault,
  ) {
    super(message);
    this.name = 'SoapError';
  }
}

export interface SoapFault {
  code: string;
  subcode?: string;
  reason: string;
}

/** An XML element after namespace resolution: local name, namespace and the raw parsed node. */
export interface XmlElement {
  ns: string | undefined;
  local: string;
  node: XmlNode;
  /** Namespace declarations in scope (prefix → uri; '' for the default namespace). */
  scope: Record<string, string>;
}

export type XmlNode = Record<string, unknown> | string;

const XML_SPECIAL = /[&<>"']/;

export function escapeXml(s: string): string {
  if (!XML_SPECIAL.test(s)) return s; // the usual case: no copy
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'));
}

/** Wrap an already-encoded body element in a SOAP 1.2 envelope. */
export function buildEnvelope(bodyXml: string, headerXml = ''): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<soap:Envelope xmlns:soap="${SOAP12_NS}">` +
    (headerXml ? `<soap:Header>${headerXml}</soap:Header>` : '') +
    `<soap:Body>${bodyXml}</soap:Body></soap:Envelope>`
  );
}

export function buildFault(code: 'Sender' | 'Receiver', reason: string, subcode?: string): string {
  return buildEnvelope(
    '<soap:Fault><soap:Code><soap:Value>soap:' +
      code +
      '</soap:Value>' +
      (subcode ? `<soap:Subcode><soap:Value>${escapeXml(subcode)}</soap:Value></soap:Subcode>` : '') +
      '</soap:Code><soap:Reason><soap:Text xml:lang="fr">' +
      escapeXml(reason) +
      '</soap:Text></soap:Reason></soap:Fault>',
  );
}

function scopeOf(node: XmlNode, parent: Record<string, string>): Record<string, string> {
  if (typeof node !== 'object' || node === null) return parent;
  let scope = parent;
  for (const k in node) {
    if (k === '@_xmlns') {
      if (scope === parent) scope = { ...parent };
      scope[''] = String(node[k]);
    } else if (k.startsWith('@_xmlns:')) {
      if (scope === parent) scope = { ...parent };
      scope[k.slice(8)] = String(node[k]);
    }
  }
  return scope;
}

/** Qualified names → [prefix, local], cut once per name (bounded: hostile input may invent names). */
const qnames = new Map<string, readonly [string, string]>();
function splitTag(tag: string): readonly [string, string] {
  let q = qnames.get(tag);
  if (!q) {
    const i = tag.indexOf(':');
    q = i < 0 ? ['', tag] : [tag.slice(0, i), tag.slice(i + 1)];
    if (qnames.size >= 1024) qnames.clear();
    qnames.set(tag, q);
  }
  return q;
}

function element(v: unknown, prefix: string, local: string, parentScope: Record<string, string>): XmlElement {
  const child = (v ?? '') as XmlNode;
  const scope = typeof child === 'string' ? parentScope : scopeOf(child, parentScope);
  return { ns: scope[prefix], local, node: child, scope };
}

/** Child elements of a parsed node, namespace-resolved, in document order per name. */
export function children(parent: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  const node = parent.node;
  if (typeof node !== 'object' || node === null) return out;
  for (const tag in node) {
    if (tag.startsWith('@_') || tag === '#text') continue;
    const [prefix, local] = splitTag(tag);
    const values = node[tag];
    if (Array.isArray(values)) {
      for (const v of values) out.push(element(v, prefix, local, parent.scope));
    } else out.push(element(values, prefix, local, parent.scope));
  }
  return out;
}

export function textOf(el: XmlElement): string {
  const n = el.node;
  if (typeof n === 'string') return n;
  if (typeof n === 'number' || typeof n === 'boolean') return String(n);
  if (n && typeof n === 'object' && '#text' in n) return String(n['#text']);
  return '';
}

// ---- strict XML parser ----------------------------------------------------------------------
//
// Produces the node shape the codec reads through `children` / `textOf`: an element with neither
// attributes nor child elements is its (trimmed) text; otherwise an object with `@_name`
// attributes, child elements by qualified name (an array when a name repeats) and `#text`.
// Objects have no prototype (a tag named __proto__ is just a tag). Refused: DOCTYPE, unknown
// entities, mismatched / unclosed tags, several roots, text outside the root, '<' in values.

type MutableNode = Record<string, unknown>;

class XmlSyntaxError extends Error {
  constructor(
    readonly pos: number,
    message: string,
  ) {
    super(message);
  }
}

const ENTITIES = new Map([
  ['lt', '<'],
  ['gt', '>'],
  ['amp', '&'],
  ['quot', '"'],
  ['apos', "'"],
]);
const HEX_REF = /^#x[0-9a-fA-F]{1,6}$/;
const DEC_REF = /^#[0-9]{1,7}$/;
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58 || c > 127;
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57) || c === 45 || c === 46;
}
function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

function decodeEntities(s: string, base: number): string {
  if (s.indexOf('&') < 0) return s;
  let out = '';
  let i = 0;
  for (;;) {
    const amp = s.indexOf('&', i);
    if (amp < 0) return out + s.slice(i);
    out += s.slice(i, amp);
    const semi = s.indexOf(';', amp + 1);
    if (semi < 0 || semi - amp > 12) throw new XmlSyntaxError(base + amp, "'&' not part of an entity reference (write &amp;)");
    const name = s.slice(amp + 1, semi);
    if (name.charCodeAt(0) === 35) {
      const hex = name.charCodeAt(1) === 120;
      const cp = hex ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      if (
        !(hex ? HEX_REF : DEC_REF).test(name) ||
        !(cp === 9 || cp === 10 || cp === 13 || (cp >= 32 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)))
      ) {
        throw new XmlSyntaxError(base + amp, `invalid character reference &${name};`);
      }
      out += String.fromCodePoint(cp);
    } else {
      const v = ENTITIES.get(name);
      if (v === undefined) throw new XmlSyntaxError(base + amp, `undefined entity &${name};`);
      out += v;
    }
    i = semi + 1;
  }
}

interface Frame {
  name: string;
  node: MutableNode | undefined;
  attrs: MutableNode | undefined;
  text: string;
  parent: Frame | undefined;
}

function addChild(parent: Frame, name: string, value: unknown): void {
  let obj = parent.node;
  if (!obj) {
    obj = parent.attrs ?? (Object.create(null) as MutableNode);
    parent.node = obj;
  }
  // Values are strings or objects; an array can only be a list of repeated elements.
  const prev = obj[name];
  if (prev === undefined) obj[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else obj[name] = [prev, value];
}

function close(f: Frame): unknown {
  const text = f.text.trim();
  const obj = f.node ?? f.attrs;
  if (!obj) return text;
  if (text) obj['#text'] = text;
  return obj;
}

/** Parse a whole document into `{ rootName: node }`. Throws XmlSyntaxError. */
function parseDocument(x: string): MutableNode {
  const len = x.length;
  const doc: Frame = { name: '#document', node: Object.create(null) as MutableNode, attrs: undefined, text: '', parent: undefined };
  let cur: Frame = doc;
  let roots = 0;
  const bad = FORBIDDEN_CHARS.exec(x);
  if (bad)
    throw new XmlSyntaxError(
      bad.index,
      `character U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} not allowed in XML`,
    );
  let i = x.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < len) {
    const lt = x.indexOf('<', i);
    const end = lt < 0 ? len : lt;
    if (end > i) {
      const raw = x.slice(i, end);
      if (cur === doc) {
        if (raw.trim()) throw new XmlSyntaxError(i, 'text outside the root element');
      } else {
        if (raw.indexOf(']]>') >= 0) throw new XmlSyntaxError(i + raw.indexOf(']]>'), "']]>' in text");
        cur.text += decodeEntities(raw, i);
      }
    }
    if (lt < 0) break;
    const c = x.charCodeAt(lt + 1);
    if (c === 47) {
      // </name>
      let j = lt + 2;
      while (j < len && isNameChar(x.charCodeAt(j))) j++;
      // Compared in place: the name is only cut out of the text for an error message.
      const matches = cur !== doc && j - (lt + 2) === cur.name.length && x.startsWith(cur.name, lt + 2);
      const nameEnd = j;
      while (j < len && isSpace(x.charCodeAt(j))) j++;
      if (x.charCodeAt(j) !== 62) throw new XmlSyntaxError(j, `unterminated closing tag </${x.slice(lt + 2, nameEnd)}`);
      if (!matches) {
        const name = x.slice(lt + 2, nameEnd);
        throw new XmlSyntaxError(
          lt,
          cur === doc ? `closing tag </${name}> without opening tag` : `closing tag </${name}> does not match <${cur.name}>`,
        );
      }
      const value = close(cur);
      const parent = cur.parent!;
      addChild(parent, cur.name, value);
      cur = parent;
      i = j + 1;
    } else if (c === 33) {
      if (x.startsWith('<!--', lt)) {
        const e = x.indexOf('-->', lt + 4);
        if (e < 0) throw new XmlSyntaxError(lt, 'unclosed comment');
        i = e + 3;
      } else if (x.startsWith('<![CDATA[', lt)) {
        if (cur === doc) throw new XmlSyntaxError(lt, 'CDATA outside the root element');
        const e = x.indexOf(']]>', lt + 9);
        if (e < 0) throw new XmlSyntaxError(lt, 'unclosed CDATA section');
        cur.text += x.slice(lt + 9, e);
        i = e + 3;
      } else throw new XmlSyntaxError(lt, 'DOCTYPE or declaration refused');
    } else if (c === 63) {
      const e = x.indexOf('?>', lt + 2);
      if (e < 0) throw new XmlSyntaxError(lt, 'unclosed processing instruction');
      i = e + 2;
    } else {
      // <name attr="v" ...> or <name/>
      let j = lt + 1;
      if (!isNameStart(x.charCodeAt(j))) throw new XmlSyntaxError(lt, "'<' not followed by a tag name (write &lt;)");
      while (j < len && isNameChar(x.charCodeAt(j))) j++;
      const name = x.slice(lt + 1, j);
      if (cur === doc && ++roots > 1) throw new XmlSyntaxError(lt, 'more than one root element');
      let attrs: MutableNode | undefined;
      let selfClosing = false;
      for (;;) {
        const s0 = j;
        while (j < len && isSpace(x.charCodeAt(j))) j++;
        const ch = x.charCodeAt(j);
        if (ch === 62) {
          j++;
          break;
        }
        if (ch === 47 && x.charCodeAt(j + 1) === 62) {
          selfClosing = true;
          j += 2;
          break;
        }
        if (j >= len) throw new XmlSyntaxError(lt, `unterminated tag <${name}`);
        if (j === s0 || !isNameStart(ch)) throw new XmlSyntaxError(j, `malformed attribute in <${name}>`);
        const a0 = j;
        while (j < len && isNameChar(x.charCodeAt(j))) j++;
        const an = x.slice(a0, j);
        while (j < len && isSpace(x.charCodeAt(j))) j++;
        if (x.charCodeAt(j) !== 61) throw new XmlSyntaxError(j, `attribute ${an} without value in <${name}>`);
        j++;
        while (j < len && isSpace(x.charCodeAt(j))) j++;
        const q = x.charCodeAt(j);
        if (q !== 34 && q !== 39) throw new XmlSyntaxError(j, `unquoted value of attribute ${an} in <${name}>`);
        const e = x.indexOf(q === 34 ? '"' : "'", j + 1);
        if (e < 0) throw new XmlSyntaxError(j, `unterminated value of attribute ${an}`);
        const raw = x.slice(j + 1, e);
        if (raw.indexOf('<') >= 0) throw new XmlSyntaxError(j, `'<' in the value of attribute ${an}`);
        attrs ??= Object.create(null) as MutableNode;
        const key = '@_' + an;
        if (key in attrs) throw new XmlSyntaxError(a0, `attribute ${an} repeated in <${name}>`);
        attrs[key] = decodeEntities(raw, j + 1);
        j = e + 1;
      }
      if (selfClosing) addChild(cur, name, attrs ?? '');
      else cur = { name, node: undefined, attrs, text: '', parent: cur };
      i = j;
    }
  }
  if (cur !== doc) throw new XmlSyntaxError(len, `unexpected end of document: <${cur.name}> not closed`);
  if (roots === 0) throw new XmlSyntaxError(len, 'no root element');
  return doc.node!;
}

function lineCol(text: string, pos: number): string {
  let line = 1;
  let last = -1;
  for (let k = text.indexOf('\n'); k >= 0 && k < pos; k = text.indexOf('\n', k + 1)) {
    line++;
    last = k;
  }
  return `line ${line}, column ${pos - last}`;
}

/** Parse and check an XML document; returns its root element, namespace-resolved. */
export function parseXml(xml: string | Buffer, maxBytes = DEFAULT_MAX_BYTES): XmlElement {
  const size = typeof xml === 'string' ? Buffer.byteLength(xml) : xml.length;
  if (size > maxBytes) throw new SoapError('too-large', `XML document of ${size} bytes exceeds the ${maxBytes}-byte limit`);
  const text = typeof xml === 'string' ? xml : xml.toString('utf8');
  if (!text.trim()) throw new SoapError('empty', 'empty XML document');
  if (findMarkupDeclaration(text) >= 0) throw new SoapError('dtd', 'XML with a DOCTYPE or entity declaration is refused');
  let doc: Record<string, unknown>;
  try {
    doc = parseDocument(text);
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw new SoapError('malformed', `malformed XML at ${lineCol(text, err.pos)}: ${err.message}`);
    throw new SoapError('malformed', `malformed XML: ${(err as Error).message}`);
  }
  const root = children({ ns: undefined, local: '#document', node: doc as XmlNode, scope: {} });
  if (root.length !== 1) throw new SoapError('malformed', 'XML document must have exactly one root element');
  return root[0];
}

/**
 * Parse a SOAP 1.2 envelope and return the single element of its Body.
 * A SOAP Fault in the body is thrown as a SoapError of kind 'fault'.
 */
export function parseEnvelope(xml: string | Buffer, maxBytes = DEFAULT_MAX_BYTES): XmlElement {
  const root = parseXml(xml, maxBytes);
  if (root.local !== 'Envelope') throw new SoapError('unexpected', `expected a SOAP Envelope, got <${root.local}>`);
  if (root.ns !== SOAP12_NS) {
    throw new SoapError(
      'namespace',
      root.ns === SOAP11_NS
        ? 'SOAP 1.1 envelope received where SOAP 1.2 is required'
        : `SOAP Envelope in unexpected namespace ${root.ns ?? '(none)'}`,
    );
  }
  const body = children(root).find((c) => c.local === 'Body' && c.ns === SOAP12_NS);
  if (!body) throw new SoapError('unexpected', 'SOAP Envelope has no Body');
  const content = children(body);
  if (content.length !== 1) throw new SoapError('unexpected', `SOAP Body must hold one element, found ${content.length}`);
  const el = content[0];
  if (el.local === 'Fault' && el.ns === SOAP12_NS) {
    const f = readFault(el);
    throw new SoapError('fault', `SOAP Fault ${f.code}${f.subcode ? '/' + f.subcode : ''}: ${f.reason}`, f);
  }
  return el;
}

function readFault(el: XmlElement): SoapFault {
  const kids = children(el);
  const code = kids.find((k) => k.local === 'Code');
  const reason = kids.find((k) => k.local === 'Reason');
  const value = code ? children(code).find((k) => k.local === 'Value') : undefined;
  const sub = code ? children(code).find((k) => k.local === 'Subcode') : undefined;
  const subValue = sub ? children(sub).find((k) => k.local === 'Value') : undefined;
  const text = reason ? children(reason).find((k) => k.local === 'Text') : undefined;
  return {
    code: value ? textOf(value) : 'soap:Receiver',
    subcode: subValue ? textOf(subValue) : undefined,
    reason: text ? textOf(text) : 'no reason given',
  };
}
