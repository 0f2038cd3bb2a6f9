/**
 * XSD and WSDL 1.1 (SOAP 1.2 binding) generated from the profile, so the schema the simulator
 * publishes and the messages the clients send can never drift apart. When the official ROC
 * WSDL/XSD are available, they replace the profile and these documents together.
 */
import { PROFILE, type FieldSpec, type SelProfile } from './profile';
import { escapeXml } from './soap';

const XS: Record<string, string> = {
  string: 'xs:string',
  date: 'xs:date',
  dateTime: 'xs:dateTime',
  decimal: 'xs:decimal',
  integer: 'xs:int',
  boolean: 'xs:boolean',
};

function elementDecl(f: FieldSpec): string {
  const occurs = `${f.required ? '' : ' minOccurs="0"'}${f.repeated ? ' maxOccurs="unbounded"' : ''}`;
  if (XS[f.type] && (f.values || f.pattern || f.maxLength)) {
    let facets = '';
    if (f.values) facets += f.values.map((v) => `<xs:enumeration value="${escapeXml(v)}"/>`).join('');
    if (f.pattern) facets += `<xs:pattern value="${escapeXml(f.pattern)}"/>`;
    if (f.maxLength) facets += `<xs:maxLength value="${f.maxLength}"/>`;
    return `<xs:element name="${f.element}"${occurs}><xs:simpleType><xs:restriction base="${XS[f.type]}">${facets}</xs:restriction></xs:simpleType></xs:element>`;
  }
  const type = XS[f.type] ?? `tns:${f.type}`;
  return `<xs:element name="${f.element}" type="${type}"${occurs}/>`;
}

/** The XML Schema of the profile (targetNamespace = profile namespace). */
export function generateXsd(profile: SelProfile = PROFILE): string {
  const ns = profile.namespaces.roc;
  let out = `<?xml version="1.0" encoding="UTF-8"?>\n`;
  out += `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="${ns}" targetNamespace="${ns}" elementFormDefault="qualified" version="${profile.version}">\n`;
  out += `  <xs:annotation><xs:documentation>ROC Bridge SEL profile ${profile.id} ${profile.version} [profile]: generated from lib/sel/profile.ts</xs:documentation></xs:annotation>\n`;
  for (const [name, fields] of Object.entries(profile.types)) {
    out += `  <xs:complexType name="${name}"><xs:sequence>${fields.map(elementDecl).join('')}</xs:sequence></xs:complexType>\n`;
  }
  for (const op of Object.values(profile.operations)) {
    out += `  <xs:element name="${op.request.element}" type="tns:${op.request.type}"/>\n`;
    out += `  <xs:element name="${op.response.element}" type="tns:${op.response.type}"/>\n`;
  }
  out += `</xs:schema>\n`;
  return out;
}

/**
 * WSDL 1.1 with a SOAP 1.2 document/literal binding. `baseUrl` is where the services listen;
 * each operation gets its own port (the annuaire gives each service its own URL).
 * `xsdLocation` makes the WSDL import the schema instead of inlining it.
 */
export function generateWsdl(baseUrl: string, profile: SelProfile = PROFILE, opts: { xsdLocation?: string } = {}): string {
  const ns = profile.namespaces.roc;
  const ops = Object.entries(profile.operations);
  let types: string;
  if (opts.xsdLocation) {
    types = `<wsdl:types><xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="${ns}-wsdl"><xs:import namespace="${ns}" schemaLocation="${escapeXml(opts.xsdLocation)}"/></xs:schema></wsdl:types>`;
  } else {
    types = `<wsdl:types>${generateXsd(profile).replace(/^<\?xml[^>]*>\s*/, '')}</wsdl:types>`;
  }
  let out = `<?xml version="1.0" encoding="UTF-8"?>\n`;
  out += `<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="${ns}" targetNamespace="${ns}" name="RocSel">\n`;
  out += types + '\n';
  for (const [, op] of ops) {
    out += `<wsdl:message name="${op.request.element}"><wsdl:part name="parameters" element="tns:${op.request.element}"/></wsdl:message>\n`;
    out += `<wsdl:message name="${op.response.element}"><wsdl:part name="parameters" element="tns:${op.response.element}"/></wsdl:message>\n`;
  }
  for (const [key, op] of ops) {
    out += `<wsdl:portType name="${op.name}PortType"><wsdl:operation name="${op.name}"><wsdl:input message="tns:${op.request.element}"/><wsdl:output message="tns:${op.response.element}"/></wsdl:operation></wsdl:portType>\n`;
    out += `<wsdl:binding name="${op.name}Binding" type="tns:${op.name}PortType"><soap12:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/><wsdl:operation name="${op.name}"><soap12:operation soapAction="${escapeXml(op.action)}" style="document"/><wsdl:input><soap12:body use="literal"/></wsdl:input><wsdl:output><soap12:body use="literal"/></wsdl:output></wsdl:operation></wsdl:binding>\n`;
    void key;
  }
  out += `<wsdl:service name="RocSelService">`;
  for (const [, op] of ops) {
    out += `<wsdl:port name="${op.name}Port" binding="tns:${op.name}Binding"><soap12:address location="${escapeXml(baseUrl.replace(/\/$/, '') + op.path)}"/></wsdl:port>`;
  }
  out += `</wsdl:service>\n</wsdl:definitions>\n`;
  return out;
}
