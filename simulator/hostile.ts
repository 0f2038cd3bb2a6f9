/**
 * Hostile answers of the AMC miroir's test-only access points, for client robustness tests.
 * Each mode answers every service of its access point the same broken way, whatever the request:
 *
 * | mode            | what the client receives                                                   |
 * | --------------- | -------------------------------------------------------------------------- |
 * | entities        | 200, SOAP 1.2 answer preceded by a billion-laughs DOCTYPE                  |
 * | huge            | 200, a well-formed SOAP answer of 50 MiB (streamed, chunked)               |
 * | wrong-namespace | 200, valid SOAP 1.2 envelope, body element in another namespace            |
 * | soap11          | 200, SOAP 1.1 envelope (text/xml)                                          |
 * | html-500        | 500, an HTML error page (text/html)                                        |
 * | reset           | 200 headers and half the body, then the connection is destroyed            |
 * | truncated       | 200, complete HTTP message whose XML is cut in the middle                 |
 * | fault           | 500, SOAP 1.2 Fault (soap:Receiver)                                        |
 * | not-xml         | 200, text/plain garbage                                                    |
 */
import type { ServerResponse } from 'node:http';
import { codec, type OperationName } from '../lib/sel/codec';
import { PROFILE } from '../lib/sel/profile';
import { buildFault, SOAP11_NS } from '../lib/sel/soap';
import type { HostileMode } from './seed';

export const SOAP_CONTENT_TYPE = 'application/soap+xml; charset=utf-8';
export const DEFAULT_HUGE_BYTES = 50 * 1024 * 1024;

const NS = PROFILE.namespaces.roc;

function plainAnswer(op: OperationName): string {
  return codec.encodeResponse(op, {
    enTete: { requestId: 'HOSTILE', responseId: 'HOSTILE', horodatage: '2026-01-01T00:00:00Z' },
    statut: 'OK',
    messages: [{ code: '0000', groupe: 'OK', severite: 'INFO', libelle: 'Traitement effectué' }],
  });
}

function bodyOf(envelope: string): string {
  const start = envelope.indexOf('<soap:Body>') + '<soap:Body>'.length;
  return envelope.slice(start, envelope.lastIndexOf('</soap:Body>'));
}

function billionLaughs(op: OperationName): string {
  let dtd = '<!DOCTYPE lolz [\n  <!ENTITY lol "lol">\n';
  for (let i = 1; i <= 9; i++) {
    const prev = i === 1 ? 'lol' : `lol${i - 1}`;
    dtd += `  <!ENTITY lol${i} "${`&${prev};`.repeat(10)}">\n`;
  }
  dtd += ']>\n';
  const el = PROFILE.operations[op].response.element;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    dtd +
    '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>' +
    `<roc:${el} xmlns:roc="${NS}"><roc:EnTeteReponse><roc:IdRequete>&lol9;</roc:IdRequete></roc:EnTeteReponse>` +
    `<roc:Statut>OK</roc:Statut></roc:${el}></soap:Body></soap:Envelope>`
  );
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function streamHuge(res: ServerResponse, op: OperationName, totalBytes: number): void {
  const el = PROFILE.operations[op].response.element;
  const head = Buffer.from(
    '<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>' +
      `<roc:${el} xmlns:roc="${NS}"><roc:EnTeteReponse><roc:IdRequete>HOSTILE</roc:IdRequete></roc:EnTeteReponse><roc:Statut>OK</roc:Statut>`,
  );
  const tail = Buffer.from(`</roc:${el}></soap:Body></soap:Envelope>`);
  const msg = `<roc:Message><roc:Code>0000</roc:Code><roc:Libelle>${'x'.repeat(200)}</roc:Libelle></roc:Message>`;
  const chunk = Buffer.from(msg.repeat(Math.ceil(65536 / msg.length)));
  let left = Math.max(0, totalBytes - head.length - tail.length);
  res.writeHead(200, { 'Content-Type': SOAP_CONTENT_TYPE });
  res.write(head);
  const pump = (): void => {
    while (left > 0 && !res.destroyed) {
      // Whole <Message> elements only, so the document stays well-formed; the last one may
      // overshoot the target size by less than one element.
      const n = Math.min(chunk.length, Math.ceil(left / msg.length) * msg.length);
      left -= n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end(tail);
  };
  pump();
}

/** Answer a request to a hostile access point. */
export function respondHostile(mode: HostileMode, op: OperationName, res: ServerResponse, opts: { hugeBytes?: number } = {}): void {
  switch (mode) {
    case 'entities':
      return send(res, 200, SOAP_CONTENT_TYPE, billionLaughs(op));
    case 'huge':
      return streamHuge(res, op, opts.hugeBytes ?? DEFAULT_HUGE_BYTES);
    case 'wrong-namespace':
      return send(res, 200, SOAP_CONTENT_TYPE, plainAnswer(op).split(NS).join('urn:autre-editeur:roc:2.0'));
    case 'soap11': {
      const env = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="${SOAP11_NS}"><soapenv:Body>${bodyOf(plainAnswer(op))}</soapenv:Body></soapenv:Envelope>`;
      return send(res, 200, 'text/xml; charset=utf-8', env);
    }
    case 'html-500':
      return send(
        res,
        500,
        'text/html; charset=utf-8',
        '<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1>' +
          '<p>The server encountered an internal error and was unable to complete your request.</p><hr><address>Apache/2.4.41 Server</address></body></html>',
      );
    case 'reset': {
      const body = Buffer.from(plainAnswer(op));
      res.writeHead(200, { 'Content-Type': SOAP_CONTENT_TYPE, 'Content-Length': body.length });
      res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
      return;
    }
    case 'truncated': {
      const full = plainAnswer(op);
      return send(res, 200, SOAP_CONTENT_TYPE, full.slice(0, Math.floor(full.length * 0.6)));
    }
    case 'fault':
      return send(res, 500, SOAP_CONTENT_TYPE, buildFault('Receiver', "Service momentanément indisponible (maintenance de l'organisme)"));
    case 'not-xml':
      return send(res, 200, 'text/plain; charset=utf-8', "OK;0000;ceci n'est pas du XML\n\u0000\u0001garbage{{{");
  }
}
