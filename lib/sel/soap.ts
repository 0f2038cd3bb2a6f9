/**
 * SOAP 1.2 envelope handling on fast-xml-parser, hardened for hostile input:
 * - a size limit checked before parsing;
 * - any DOCTYPE is refused (no DTD, no entity declaration, no entity expansion);
 * - well-formedness checked (truncated or broken XML is a clear error, never a crash);
 * - namespaces resolved and checked (an envelope in another namespace, e.g. SOAP 1.1, or a body
 *   element outside the profile namespace is refused).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

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

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  // An empty map (not `false`): fast-xml-parser 5 then decodes numeric character references
  // (&#233; &#xE9;) as XML requires, and no HTML named entity; with `false` it leaves them as
  // literal text. The option is typed boolean, hence the cast (covered by test/sel codec tests).
  htmlEntities: {} as unknown as boolean,
  ignoreDeclaration: true,
  ignorePiTags: true,
  alwaysCreateTextNode: false,
});

const DOCTYPE_RE = /<!DOCTYPE|<!ENTITY/i;

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
  );
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

function split(tag: string): [string, string] {
  const i = tag.indexOf(':');
  return i < 0 ? ['', tag] : [tag.slice(0, i), tag.slice(i + 1)];
}

/** Child elements of a parsed node, namespace-resolved, in document order per name. */
export function children(parent: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  const node = parent.node;
  if (typeof node !== 'object' || node === null) return out;
  for (const tag in node) {
    if (tag.startsWith('@_') || tag === '#text') continue;
    const [prefix, local] = split(tag);
    const values = node[tag];
    const list = Array.isArray(values) ? values : [values];
    for (const v of list) {
      const child = (v ?? '') as XmlNode;
      const scope = scopeOf(child, parent.scope);
      out.push({ ns: scope[prefix], local, node: child, scope });
    }
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

/** Parse and check an XML document; returns its root element, namespace-resolved. */
export function parseXml(xml: string | Buffer, maxBytes = DEFAULT_MAX_BYTES): XmlElement {
  const size = typeof xml === 'string' ? Buffer.byteLength(xml) : xml.length;
  if (size > maxBytes) throw new SoapError('too-large', `XML document of ${size} bytes exceeds the ${maxBytes}-byte limit`);
  const text = typeof xml === 'string' ? xml : xml.toString('utf8');
  if (!text.trim()) throw new SoapError('empty', 'empty XML document');
  if (DOCTYPE_RE.test(text)) throw new SoapError('dtd', 'XML with a DOCTYPE or entity declaration is refused');
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    const e = valid.err;
    throw new SoapError('malformed', `malformed XML at line ${e.line}, column ${e.col}: ${e.msg}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text) as Record<string, unknown>;
  } catch (err) {
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
