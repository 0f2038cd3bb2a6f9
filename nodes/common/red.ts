/**
 * The small part of the Node-RED runtime API our adapters use, typed locally (Node-RED ships
 * no TypeScript types of its own). Only nodes/ may import this.
 */
export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export interface NodeMessage {
  _msgid?: string;
  payload?: unknown;
  roc?: Record<string, unknown>;
  [k: string]: unknown;
}

export type SendFn = (msg: NodeMessage | (NodeMessage | null)[] | null) => void;
export type DoneFn = (err?: Error) => void;

export interface Node {
  id: string;
  type: string;
  name?: string;
  credentials: Record<string, string | undefined>;
  on(event: 'input', cb: (msg: NodeMessage, send: SendFn, done: DoneFn) => void): void;
  on(event: 'close', cb: (removed: boolean, done: () => void) => void): void;
  status(s: NodeStatus | Record<string, never>): void;
  log(m: string): void;
  warn(m: string): void;
  error(m: string | Error, msg?: NodeMessage): void;
  send(msg: NodeMessage | (NodeMessage | null)[]): void;
}

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  [k: string]: unknown;
}

export interface NodeAPI {
  nodes: {
    createNode(node: object, def: NodeDef): void;
    registerType(
      type: string,
      ctor: (this: Node, def: NodeDef) => void,
      opts?: { credentials?: Record<string, { type: 'text' | 'password' }>; settings?: Record<string, unknown> },
    ): void;
    getNode(id: string): unknown;
  };
  httpAdmin: { get(path: string, ...handlers: unknown[]): void; post(path: string, ...handlers: unknown[]): void };
  auth: { needsPermission(p: string): unknown };
  log: { info(m: string): void; warn(m: string): void; error(m: string): void };
  util: { evaluateNodeProperty(value: unknown, type: string, node: Node, msg: NodeMessage): unknown };
  _: (key: string, subs?: Record<string, unknown>) => string;
}
