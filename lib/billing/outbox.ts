/**
 * Where billing files leave the bridge. The nodes hand each file (DRE-ES, ARL) to a
 * `BillingOutbox`; the S/MIME + SMTP transport (lib/billing/transport, the lead wires it) is one,
 * `DirectoryOutbox` another: it writes the file to a drop directory for an operator or a mail
 * robot, atomically (a temporary name, fsync, then rename), under the file's own name, so sending
 * the same file again (after a crash between writing and recording it sent) replaces it: the
 * directory never holds a file twice.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'fs';
import * as path from 'path';

export interface BillingFileOut {
  /** File name, e.g. DREES_750100125_0000123456_00000012.dre (no directory part). */
  name: string;
  bytes: Buffer;
  /** numéro AMC of the destination (the transport finds its address and certificate). */
  amc: string;
}

export interface BillingOutbox {
  send(file: BillingFileOut): Promise<void>;
}

/** One file received from the AMC (ARL or RSP), already opened (S/MIME removed). */
export interface BillingFileIn {
  bytes: Buffer;
  name?: string;
}

/**
 * Where the AMC's files come in, when the runtime injects it (settings `rocBilling.inbox`, read by
 * roc-rsp): e.g. its embedded SMTP mailbox. The handler resolves once the file is processed
 * (recorded in the journal); a rejection tells the source to keep the file and offer it again.
 */
export interface BillingInbox {
  subscribe(handler: (file: BillingFileIn) => Promise<void>): () => void;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$/;

export class DirectoryOutbox implements BillingOutbox {
  constructor(readonly dir: string) {
    if (!dir) throw new Error('DirectoryOutbox: a directory is needed');
  }

  async send(file: BillingFileOut): Promise<void> {
    if (!SAFE_NAME.test(file.name)) throw new Error('DirectoryOutbox: unsafe file name');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const final = path.join(this.dir, file.name);
    const tmp = path.join(this.dir, `.${file.name}.${process.pid}.tmp`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, file.bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, final);
  }
}
