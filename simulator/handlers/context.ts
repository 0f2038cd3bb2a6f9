/**
 * The simulator's state, shared by its handlers: the seed, the engagement book, the counters,
 * the duplicate-detection window and the precomputed pieces. server.ts creates one per
 * simulator; the handlers take it as their first argument.
 */
import type { ServerResponse } from 'node:http';
import type { OperationName } from '../../lib/sel/codec';
import type { EngagementBook } from '../engagements';
import type { SeedIndex } from '../seed';

export type Obj = Record<string, unknown>;
export type Delay = 'none' | 'slow' | 'hang';

export interface SimulatorStats {
  total: number;
  annuaire: number;
  idb: number;
  sim: number;
  clc: number;
  del: number;
  wsdl: number;
  xsd: number;
  hostile: number;
  faults: number;
  notFound: number;
  duplicates: number;
}

/** A SOAP answer, before its latency. */
export interface Answer {
  status: number;
  body: string;
  delay: Delay;
  op?: OperationName;
  statut?: 'OK' | 'KO';
  code?: string;
  requestId?: string;
}

export interface SimContext {
  index: SeedIndex;
  book: EngagementBook;
  stats: SimulatorStats;
  /** Base URL (e.g. https://127.0.0.1:PORT), known once the server listens. */
  base: string;
  /** Two characters in the response ids, different for each simulator. */
  tag: string;
  /** Last response id number given. */
  responseSeq: number;
  maxRequestBytes: number;
  /** How many recent answers `replay` keeps (0: no duplicate detection). */
  duplicateWindow: number;
  /** Recent answers by operation, access point, FINESS and request id. */
  replay: Map<string, Answer>;
  /** Catalogue messages without their action, by code. */
  msgCache: Map<string, Obj>;
  /** WSDL texts by base URL. */
  wsdlCache: Map<string, string>;
  xsd: string;
  /** One line per request (no patient data). */
  log?: (line: string) => void;
}

export function newStats(): SimulatorStats {
  return { total: 0, annuaire: 0, idb: 0, sim: 0, clc: 0, del: 0, wsdl: 0, xsd: 0, hostile: 0, faults: 0, notFound: 0, duplicates: 0 };
}

export function sendNow(res: ServerResponse, status: number, type: string, body: string): void {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
