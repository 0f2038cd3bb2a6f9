/** GET /sel?wsdl, /sel/<pointAcces>?wsdl (WSDL, XSD inlined) and /sel/roc.xsd. */
import type { ServerResponse } from 'node:http';
import { generateWsdl } from '../../lib/sel/wsdl';
import { sendNow, type SimContext } from './context';

function wsdlFor(ctx: SimContext, b: string): string {
  let w = ctx.wsdlCache.get(b);
  if (!w) ctx.wsdlCache.set(b, (w = generateWsdl(b)));
  return w;
}

/** Answer a WSDL or XSD request; false when the path is neither (or an unknown access point). */
export function handleWsdl(ctx: SimContext, res: ServerResponse, path: string, parts: string[], query: string): boolean {
  if (parts[0] === 'sel' && parts.length <= 2 && /^wsdl\b/i.test(query)) {
    const b = parts.length === 1 ? `${ctx.base}/sel` : ctx.index.accessPoints.has(parts[1]) ? `${ctx.base}/sel/${parts[1]}` : undefined;
    if (b) {
      ctx.stats.wsdl++;
      sendNow(res, 200, 'text/xml; charset=utf-8', wsdlFor(ctx, b));
      ctx.log?.(`GET ${path}?wsdl 200`);
      return true;
    }
  }
  if (parts.length === 2 && parts[0] === 'sel' && parts[1] === 'roc.xsd') {
    ctx.stats.xsd++;
    sendNow(res, 200, 'text/xml; charset=utf-8', ctx.xsd);
    ctx.log?.(`GET ${path} 200`);
    return true;
  }
  return false;
}
