/**
 * One journal per file in a process, shared by reference count.
 *
 * Every node that uses the journal (roc-mllp-in, roc-mllp-out, the roc-journal config node) calls
 * `acquire(file, options)`: the first call opens the file, the next ones get the same instance;
 * each `release()` drops one reference and the last one closes the journal (pending commits are
 * flushed). An acquire that comes while the last close is still running waits for it, then opens
 * the file again. The options of the first acquire open the file; later ones are not applied
 * (durability, retention and backoff are the journal's, not a user's).
 *
 * A lease can also `claim` a role on the journal (e.g. `inbound`: the dispatcher of received
 * messages, one per journal, else two listeners would both take the same work).
 *
 * Pure TypeScript: no Node-RED import; the opener is injected (tests use a fake one).
 */
import path from 'node:path';

/** The default journal file: `${ROC_USER_DIR or ./.node-red}/roc-journal.sqlite`. */
export function defaultJournalFile(): string {
  return path.join(process.env.ROC_USER_DIR || path.resolve('.node-red'), 'roc-journal.sqlite');
}

/** The absolute path a journal file setting designates (empty: the default file). */
export function journalPath(file: string | undefined | null): string {
  const f = String(file ?? '').trim();
  return path.resolve(f || defaultJournalFile());
}

export interface Closable {
  close(): Promise<void>;
}

export interface Lease<J> {
  readonly journal: J;
  readonly file: string;
  /**
   * Takes a role on this journal for `owner`. Returns undefined when granted (or already held by
   * `owner`), else the owner holding it. Released with the lease.
   */
  claim(role: string, owner: string): string | undefined;
  /** Drops this reference (idempotent); the last one closes the journal. */
  release(): Promise<void>;
}

interface Entry<J> {
  journal: J;
  refs: number;
  roles: Map<string, string>;
}

export class JournalRegistry<J extends Closable, O> {
  private readonly open = new Map<string, Entry<J>>();
  private readonly closing = new Map<string, Promise<void>>();

  constructor(private readonly opener: (file: string, options: O) => J) {}

  /** Opens the file or shares its open journal. Throws what the opener throws (nothing is held). */
  async acquire(file: string, options: O): Promise<Lease<J>> {
    const key = journalPath(file);
    // A close in progress: wait for it (the file must be closed before it is opened again).
    for (let c = this.closing.get(key); c; c = this.closing.get(key)) await c.catch(() => undefined);
    return this.acquireOpen(key, options);
  }

  /**
   * Synchronous acquire, for node constructors: shares the open journal or opens the file now.
   * Throws if the file is still being closed (use `acquire` then) or if the opener fails.
   */
  acquireSync(file: string, options: O): Lease<J> {
    const key = journalPath(file);
    if (this.closing.has(key) && !this.open.has(key)) throw new Error('journal en cours de fermeture');
    return this.acquireOpen(key, options);
  }

  private acquireOpen(key: string, options: O): Lease<J> {
    let entry = this.open.get(key);
    if (!entry) {
      entry = { journal: this.opener(key, options), refs: 0, roles: new Map() };
      this.open.set(key, entry);
    }
    entry.refs++;
    const e = entry;
    const mine = new Set<string>();
    let released = false;
    return {
      journal: e.journal,
      file: key,
      claim: (role, owner) => {
        const holder = e.roles.get(role);
        if (holder !== undefined && holder !== owner) return holder;
        e.roles.set(role, owner);
        mine.add(role);
        return undefined;
      },
      release: () => {
        if (released) return this.closing.get(key) ?? Promise.resolve();
        released = true;
        for (const role of mine) e.roles.delete(role);
        e.refs--;
        if (e.refs > 0) return Promise.resolve();
        this.open.delete(key);
        // No other close of this file can start before this one ends: `acquire` waits for it and
        // `acquireSync` refuses, so the entry removed here is this close's own.
        const done = e.journal.close().finally(() => this.closing.delete(key));
        this.closing.set(key, done);
        return done;
      },
    };
  }

  /** References held on a file (0: closed). */
  refs(file: string): number {
    return this.open.get(journalPath(file))?.refs ?? 0;
  }

  /** Files open now. */
  files(): string[] {
    return [...this.open.keys()];
  }

  /** Resolves once every close in progress has finished. */
  async settled(): Promise<void> {
    await Promise.all([...this.closing.values()].map((c) => c.catch(() => undefined)));
  }
}
