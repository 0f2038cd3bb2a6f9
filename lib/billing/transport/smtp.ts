/**
 * Channels for the sealed billing files (issue 10 item 3): SMTP out (nodemailer), SMTP in
 * (smtp-server + mailparser) and a drop directory for an operator.
 *
 * **Layout of a message sent.** The S/MIME entity made by `sealEdiConsent` IS the message body
 * (RFC 8551 §3.2, as S/MIME mail clients and `openssl smime` do): the message's top-level
 * `Content-Type` is `application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"`, the
 * From / To / Subject / Date / Message-ID headers are added above it, nothing else. No
 * multipart wrapper: a multipart would carry an unencrypted text part for nothing, and an AMC's
 * S/MIME gateway decrypts a pkcs7-mime message as a whole. The receiver below (mailparser) sees
 * such a message as one attachment `smime.p7m` (or the filename given) whose content is the DER
 * EnvelopedData; `openEdiConsent` opens both that DER and the full entity.
 *
 * Nothing here logs; errors name the peer and the SMTP code, never a message's content.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { BillingTransportError } from './smime';

// ---------------------------------------------------------------------------------------------
// Sending

export interface SmtpSenderOptions {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (port 465 style). */
  secure?: boolean;
  /** STARTTLS required: the send fails if the server does not offer it (port 587/25 style). */
  requireTLS?: boolean;
  /** SMTP AUTH credentials (sent only over TLS unless the server allows otherwise). */
  auth?: { user: string; pass: string };
  /** Envelope and header sender, e.g. `facturation.roc@ch-exemple.fr`. */
  from: string;
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean; servername?: string };
  /** EHLO name (default: nodemailer's, the host name). */
  name?: string;
  /** Connection, greeting and socket timeouts in ms (default 15,000). */
  timeoutMs?: number;
}

export interface SmtpSendInput {
  to: string | string[];
  /** By convention `IR{version}/{emitter}/{AAAAMMJJHHMMSS}/{invoices on 5 digits}` (the caller's). */
  subject: string;
  /** The S/MIME entity from sealEdiConsent (headers + base64 body). */
  smime: Buffer;
  /** The name shown for the attachment (Content-Disposition filename); default `smime.p7m`. */
  filename?: string;
}

const ADDRESS_RE = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/;
const FILENAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function checkAddress(a: string, what: string): string {
  if (typeof a !== 'string' || a.length > 254 || !ADDRESS_RE.test(a))
    throw new BillingTransportError('BAD_INPUT', `SMTP: ${what} is not a plain e-mail address`);
  return a;
}

function encodeSubject(s: string): string {
  if (/[\r\n]/.test(s)) throw new BillingTransportError('BAD_INPUT', 'SMTP: the subject has a line break');
  if (/^[\x20-\x7e]*$/.test(s)) return s;
  return `=?UTF-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=`;
}

/** The RFC 5322 message: the S/MIME entity as the body, with the message headers above it. */
export function smimeMessage(o: {
  from: string;
  to: string[];
  subject: string;
  smime: Buffer;
  filename?: string;
  messageId: string;
  date?: Date;
}): Buffer {
  const text = o.smime.subarray(0, 4096).toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  if (end < 0 || !/^content-type:\s*application\/(x-)?pkcs7-mime/im.test(text.slice(0, end)))
    throw new BillingTransportError('BAD_INPUT', 'SMTP: the body is not an S/MIME application/pkcs7-mime entity');
  let head = text
    .slice(0, end)
    .split(/\r?\n/)
    .filter((l) => !/^mime-version:/i.test(l));
  if (o.filename) {
    if (!FILENAME_RE.test(o.filename)) throw new BillingTransportError('BAD_INPUT', 'SMTP: the filename must be among A-Z a-z 0-9 . _ -');
    head = head.map((l) => (/^content-disposition:/i.test(l) ? `Content-Disposition: attachment; filename="${o.filename}"` : l));
  }
  const headers = [
    `From: ${o.from}`,
    `To: ${o.to.join(', ')}`,
    `Subject: ${encodeSubject(o.subject)}`,
    `Date: ${(o.date ?? new Date()).toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${o.messageId}`,
    'MIME-Version: 1.0',
    ...head,
  ];
  const bodyStart = end + (text[end] === '\r' ? 4 : 2);
  return Buffer.concat([Buffer.from(headers.join('\r\n') + '\r\n\r\n', 'latin1'), o.smime.subarray(bodyStart)]);
}

/** Sends sealed files by SMTP. One connection per send (no pool): the volumes are a few files a day. */
export class SmtpSender {
  private readonly transport: Transporter<SMTPTransport.SentMessageInfo>;
  private readonly from: string;
  private readonly domain: string;

  constructor(o: SmtpSenderOptions) {
    this.from = checkAddress(o.from, 'the sender');
    this.domain = this.from.split('@')[1];
    if (o.secure && o.requireTLS)
      throw new BillingTransportError('BAD_INPUT', 'SMTP: choose secure (implicit TLS) or requireTLS (STARTTLS), not both');
    const t = o.timeoutMs ?? 15_000;
    this.transport = nodemailer.createTransport({
      host: o.host,
      port: o.port,
      secure: o.secure ?? false,
      requireTLS: o.requireTLS ?? false,
      auth: o.auth ? { user: o.auth.user, pass: o.auth.pass } : undefined,
      tls: o.tls ? { ca: o.tls.ca, rejectUnauthorized: o.tls.rejectUnauthorized ?? true, servername: o.tls.servername } : undefined,
      name: o.name,
      connectionTimeout: t,
      greetingTimeout: t,
      socketTimeout: t,
      logger: false,
      debug: false,
    });
  }

  async send(input: SmtpSendInput): Promise<{ messageId: string; accepted: string[]; rejected: string[] }> {
    const to = (Array.isArray(input.to) ? input.to : [input.to]).map((a) => checkAddress(a, 'a recipient'));
    if (!to.length) throw new BillingTransportError('BAD_INPUT', 'SMTP: no recipient');
    const messageId = `<${Date.now().toString(36)}.${randomBytes(8).toString('hex')}@${this.domain}>`;
    const raw = smimeMessage({ from: this.from, to, subject: input.subject, smime: input.smime, filename: input.filename, messageId });
    try {
      const info = await this.transport.sendMail({ envelope: { from: this.from, to }, raw });
      const addr = (x: unknown) => (typeof x === 'string' ? x : ((x as { address?: string })?.address ?? ''));
      return { messageId, accepted: (info.accepted ?? []).map(addr), rejected: (info.rejected ?? []).map(addr) };
    } catch (e) {
      const err = e as { code?: string; responseCode?: number; command?: string; message?: string };
      // The server's code and our command, or the socket/TLS error: never the message's content.
      const what = err.responseCode
        ? `the server answered ${err.responseCode}${err.command ? ` to ${err.command}` : ''}`
        : `${err.code ?? 'ERROR'} ${String(err.message ?? '').slice(0, 160)}`.trim();
      throw new BillingTransportError('SEND_FAILED', `SMTP: sending to ${this.hostLabel()} failed: ${what}`);
    }
  }

  private hostLabel(): string {
    const o = this.transport.options as SMTPTransport.Options;
    return `${o.host}:${o.port}`;
  }

  close(): void {
    this.transport.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Receiving

export interface ReceivedAttachment {
  filename?: string;
  contentType: string;
  content: Buffer;
}

export interface ReceivedMessage {
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** Envelope recipients (RCPT TO). */
  to: string[];
  subject: string;
  messageId?: string;
  /** The SMTP user when the client authenticated. */
  user?: string;
  attachments: ReceivedAttachment[];
  /** The message as received, when `keepRaw`. */
  raw?: Buffer;
}

export interface SmtpReceiverOptions {
  host?: string;
  port?: number;
  /** Require SMTP AUTH with these credentials (PLAIN/LOGIN; only over TLS unless allowInsecureAuth). */
  auth?: { user: string; pass: string };
  allowInsecureAuth?: boolean;
  /** Certificate and key: STARTTLS offered (or implicit TLS with `secure`). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  secure?: boolean;
  /** Refuse MAIL FROM before STARTTLS (default: true when `tls` is given). */
  requireTLS?: boolean;
  /** Messages above this are refused with 552 (default 64 MiB); advertised with SIZE. */
  maxMessageBytes?: number;
  /** Accept only these recipient addresses (case-insensitive); default any. */
  recipients?: string[];
  keepRaw?: boolean;
  /**
   * Called for each message before the server answers 250: when it throws (or rejects), the
   * server answers 451 and the sender keeps the message and retries; nothing is lost.
   */
  onMessage?: (m: ReceivedMessage) => void | Promise<void>;
}

const MAX_RECIPIENTS = 50;

/**
 * An embedded SMTP server for the billing mailbox. Emits `message` (ReceivedMessage) after each
 * accepted message, and `refused` ({ reason }) when one is refused (size, handler failure).
 */
export class SmtpReceiver extends EventEmitter {
  private server?: SMTPServer;
  private port = 0;
  private host = '127.0.0.1';

  async start(o: SmtpReceiverOptions = {}): Promise<{ host: string; port: number }> {
    if (this.server) throw new Error('SmtpReceiver: already started');
    const max = o.maxMessageBytes ?? 64 * 1024 * 1024;
    const requireTLS = o.requireTLS ?? !!o.tls;
    if ((o.secure || requireTLS) && !o.tls)
      throw new BillingTransportError('BAD_INPUT', 'SMTP receiver: TLS asked for without a certificate and key');
    const allowed = o.recipients ? new Set(o.recipients.map((r) => r.toLowerCase())) : undefined;
    const disabled: string[] = [];
    if (!o.auth) disabled.push('AUTH');
    if (!o.tls || o.secure) disabled.push('STARTTLS');
    const opts: SMTPServerOptions = {
      secure: !!o.secure,
      key: o.tls?.key,
      cert: o.tls?.cert,
      size: max,
      authOptional: !o.auth,
      allowInsecureAuth: !!o.allowInsecureAuth,
      disabledCommands: disabled,
      authMethods: ['PLAIN', 'LOGIN'],
      logger: false,
      banner: 'ROC Bridge billing mailbox',
      closeTimeout: 1000,
      socketTimeout: 60_000,
      maxClients: 20,
      onAuth: (auth, _session, cb) => {
        if (o.auth && auth.username === o.auth.user && auth.password === o.auth.pass) return cb(null, { user: auth.username });
        return cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      onMailFrom: (_addr, session, cb) => {
        if (requireTLS && !session.secure)
          return cb(Object.assign(new Error('Must issue a STARTTLS command first'), { responseCode: 530 }));
        return cb();
      },
      onRcptTo: (addr, session, cb) => {
        if (session.envelope.rcptTo.length >= MAX_RECIPIENTS)
          return cb(Object.assign(new Error('Too many recipients'), { responseCode: 452 }));
        if (allowed && !allowed.has(addr.address.toLowerCase()))
          return cb(Object.assign(new Error('No such mailbox here'), { responseCode: 550 }));
        return cb();
      },
      onData: (stream, session, cb) => this.onData(stream, session, cb, max, o),
    };
    const server = new SMTPServer(opts);
    // A client resetting its connection mid-transaction is an 'error' of smtp-server: passed on
    // only to whoever listens (an unheard 'error' would end the process).
    server.on('error', (e) => {
      if (this.listenerCount('error') > 0) this.emit('error', e);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error) => reject(e);
      server.server.once('error', onErr);
      server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => {
        server.server.off('error', onErr);
        resolve();
      });
    });
    const a = server.server.address() as AddressInfo;
    this.port = a.port;
    this.host = a.address;
    return { host: this.host, port: this.port };
  }

  get address(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }

  private onData(
    stream: NodeJS.ReadableStream & { sizeExceeded?: boolean },
    session: SMTPServerSession,
    cb: (err?: Error | null, message?: string) => void,
    max: number,
    o: SmtpReceiverOptions,
  ): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) over = true;
      else chunks.push(c);
    });
    stream.on('error', () => cb(Object.assign(new Error('Error reading the message'), { responseCode: 451 })));
    stream.on('end', () => {
      if (over || stream.sizeExceeded) {
        this.emit('refused', { reason: `message above ${max} bytes` });
        return cb(Object.assign(new Error(`Message exceeds the fixed maximum message size of ${max} bytes`), { responseCode: 552 }));
      }
      const raw = Buffer.concat(chunks);
      void this.deliver(raw, session, o).then(
        () => cb(null, 'Message accepted'),
        (e: unknown) => {
          this.emit('refused', { reason: e instanceof BillingTransportError ? e.message : 'the mailbox handler failed' });
          cb(Object.assign(new Error('Temporary failure, try again later'), { responseCode: 451 }));
        },
      );
    });
  }

  private async deliver(raw: Buffer, session: SMTPServerSession, o: SmtpReceiverOptions): Promise<void> {
    const parsed = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true, skipTextLinks: true });
    const env = session.envelope;
    const m: ReceivedMessage = {
      from: env.mailFrom ? env.mailFrom.address : '',
      to: env.rcptTo.map((r) => r.address),
      subject: parsed.subject ?? '',
      attachments: parsed.attachments.map((a) => {
        const out: ReceivedAttachment = { contentType: a.contentType, content: a.content };
        if (a.filename) out.filename = a.filename;
        return out;
      }),
    };
    if (parsed.messageId) m.messageId = parsed.messageId;
    if (session.user) m.user = String(session.user);
    if (o.keepRaw) m.raw = raw;
    if (o.onMessage) await o.onMessage(m);
    this.emit('message', m);
  }

  /** Stops listening and closes the open connections (within a second). */
  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------
// Drop directory

const DROP_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const MARKER = '.ok';

export interface ClaimedFile {
  name: string;
  /** Where the file now lives (`<dir>/claimed/<name>`), kept raw. */
  path: string;
  data: Buffer;
}

/**
 * A directory shared with an operator or a partner. Writing is atomic: the file is written to a
 * temporary name, synced, linked to its final name (never overwriting one already there) and only
 * then its `<name>.ok` marker appears; a reader takes only files whose marker is there. Claiming
 * moves the file to `claimed/` with a rename: of two readers, one gets it, once.
 */
export class DropDirectory {
  readonly claimedDir: string;

  constructor(
    readonly dir: string,
    private readonly opts: { maxFileBytes?: number } = {},
  ) {
    this.claimedDir = path.join(dir, 'claimed');
  }

  private checkName(name: string): void {
    if (!DROP_NAME_RE.test(name) || name.endsWith(MARKER) || name.includes('.tmp-'))
      throw new BillingTransportError(
        'BAD_INPUT',
        'drop directory: a file name is 1–200 characters among A-Z a-z 0-9 . _ - (not ending in .ok)',
      );
  }

  private async syncDir(): Promise<void> {
    const h = await fs.promises.open(this.dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  }

  private async writeAtomic(name: string, data: Buffer): Promise<void> {
    const tmp = path.join(this.dir, `.${name}.tmp-${randomBytes(6).toString('hex')}`);
    const h = await fs.promises.open(tmp, 'wx', 0o640);
    try {
      await h.writeFile(data);
      await h.sync();
    } finally {
      await h.close();
    }
    try {
      await fs.promises.link(tmp, path.join(this.dir, name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST')
        throw new BillingTransportError('BAD_INPUT', `drop directory: ${name} is already there (never overwritten)`);
      throw e;
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
  }

  /** Writes `name` atomically, then its `.ok` marker. Refuses a name already present. */
  async write(name: string, data: Buffer): Promise<string> {
    this.checkName(name);
    await fs.promises.mkdir(this.dir, { recursive: true });
    await this.writeAtomic(name, data);
    await this.writeAtomic(name + MARKER, Buffer.alloc(0));
    await this.syncDir();
    return path.join(this.dir, name);
  }

  /** The files ready to take (marker present), oldest name first. */
  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await fs.promises.readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const set = new Set(names);
    return names
      .filter((n) => n.endsWith(MARKER) && set.has(n.slice(0, -MARKER.length)))
      .map((n) => n.slice(0, -MARKER.length))
      .filter((n) => DROP_NAME_RE.test(n))
      .sort();
  }

  /** Takes one ready file: moved to `claimed/`, read, its marker removed. Undefined when another reader took it. */
  async claim(name: string): Promise<ClaimedFile | undefined> {
    this.checkName(name);
    await fs.promises.mkdir(this.claimedDir, { recursive: true });
    const from = path.join(this.dir, name);
    let to = path.join(this.claimedDir, name);
    try {
      await fs.promises.access(to);
      to = path.join(this.claimedDir, `${name}.${Date.now()}-${randomBytes(3).toString('hex')}`); // a replay of a known name: keep both
    } catch {
      // not there: the usual case
    }
    try {
      await fs.promises.rename(from, to);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    await fs.promises.rm(from + MARKER, { force: true });
    const st = await fs.promises.stat(to);
    const max = this.opts.maxFileBytes ?? 128 * 1024 * 1024;
    if (st.size > max)
      throw new BillingTransportError(
        'TOO_LARGE',
        `drop directory: ${name} is ${st.size} bytes, above the cap of ${max} (kept in claimed/)`,
      );
    return { name, path: to, data: await fs.promises.readFile(to) };
  }

  /** Claims every ready file, in name order. */
  async claimAll(): Promise<ClaimedFile[]> {
    const out: ClaimedFile[] = [];
    for (const n of await this.list()) {
      const c = await this.claim(n);
      if (c) out.push(c);
    }
    return out;
  }
}
