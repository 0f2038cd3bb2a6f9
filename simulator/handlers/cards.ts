/** GET /cards/<beneficiaryId>.png or .txt: a seeded beneficiary's test card (simulator/cards.ts). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { cardResponse } from '../cards';
import type { SimContext } from './context';

/** `name`: the last path segment (<id>.png or <id>.txt); `query`: e.g. rotate=90&page=1. */
export function handleCard(ctx: SimContext, req: IncomingMessage, res: ServerResponse, path: string, name: string, query: string): void {
  void cardResponse(ctx.index.seed, name, query).then((c) => {
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(c.status, { 'Content-Type': c.type, 'Content-Length': Buffer.byteLength(c.body), 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : c.body);
    ctx.log?.(`GET ${path} ${c.status}`);
  });
}
