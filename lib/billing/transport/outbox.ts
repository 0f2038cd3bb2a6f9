/**
 * The S/MIME outbox: each billing file (DRE-ES, ARL) handed by the nodes is sealed for the
 * destination AMC's certificate (`sealEdiConsent`: zlib, application/EDI-consent, optional
 * signature, EnvelopedData) and sent by SMTP (`SmtpSender`), or written sealed to a drop
 * directory. It records nothing: the nodes record the files' states in the journal (a send that
 * throws leaves the file WRITTEN, sent again at the next start under the same name).
 */
import { existsSync } from 'fs';
import * as path from 'path';
import type { BillingFileOut, BillingOutbox } from '../outbox';
import { BillingTransportError, sealEdiConsent, type SealOptions } from './smime';
import { DropDirectory, SmtpSender, type SmtpSenderOptions } from './smtp';

/** Where an AMC's billing files go and what they are encrypted for. */
export interface AmcBillingPartner {
  /** The AMC's billing mailbox (SMTP); not needed with a drop directory. */
  address?: string;
  /** The AMC's encryption certificate (PEM). */
  certificatePem: string;
}

export interface SmimeSmtpOutboxOptions {
  /** numéro AMC → its address and certificate (configuration or annuaire); undefined: unknown AMC. */
  resolve: (amc: string) => AmcBillingPartner | undefined | Promise<AmcBillingPartner | undefined>;
  /** SMTP relay (the site's); either this or `dropDir`. */
  smtp?: SmtpSenderOptions;
  /** Drop directory where the sealed files are written (name + `.p7m`), for an operator or a mail robot. */
  dropDir?: string;
  /** The establishment's certificate and key: the files are signed with them when given. */
  signer?: { certPem: string; keyPem: string };
  cipher?: SealOptions['cipher'];
  /** Our FINESS (the subject's emitter); default: taken from the file name. */
  emitter?: string;
  now?: () => Date;
}

/** `IR3/{emitter}/{AAAAMMJJHHMMSS}/{file name}`: the subject names the file, never its content. */
function subjectOf(emitter: string, name: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `IR3/${emitter}/${stamp}/${name}`;
}

export class SmimeSmtpOutbox implements BillingOutbox {
  private readonly sender?: SmtpSender;
  private readonly drop?: DropDirectory;

  constructor(private readonly o: SmimeSmtpOutboxOptions) {
    if (!o.smtp === !o.dropDir)
      throw new BillingTransportError('BAD_INPUT', 'S/MIME outbox: give either an SMTP relay or a drop directory');
    if (o.smtp) this.sender = new SmtpSender(o.smtp);
    if (o.dropDir) this.drop = new DropDirectory(o.dropDir);
  }

  async send(file: BillingFileOut): Promise<void> {
    const partner = await this.o.resolve(file.amc);
    if (!partner?.certificatePem)
      throw new BillingTransportError('BAD_INPUT', `S/MIME outbox: no certificate configured for AMC ${file.amc}`);
    const now = this.o.now?.() ?? new Date();
    const inner = file.name.replace(/\.[A-Za-z0-9]+$/, '') + '.Z';
    const sealed = sealEdiConsent(file.bytes, {
      recipientCertPem: partner.certificatePem,
      ...(this.o.signer ? { signer: this.o.signer } : {}),
      ...(this.o.cipher ? { cipher: this.o.cipher } : {}),
      filename: inner,
      now,
    });
    if (this.drop) {
      const name = `${file.name}.p7m`;
      // sent again after a crash between writing and recording it sent: the first one is there
      // (or already claimed by the reader): the directory holds each file once.
      if (existsSync(path.join(this.drop.dir, name)) || existsSync(path.join(this.drop.claimedDir, name))) return;
      await this.drop.write(name, sealed);
      return;
    }
    if (!partner.address) throw new BillingTransportError('BAD_INPUT', `S/MIME outbox: no address configured for AMC ${file.amc}`);
    const emitter = this.o.emitter ?? file.name.split('_')[1] ?? 'ROC';
    const r = await this.sender!.send({
      to: partner.address,
      subject: subjectOf(emitter, file.name, now),
      smime: sealed,
      filename: `${file.name}.p7m`,
    });
    if (r.rejected.length || !r.accepted.length)
      throw new BillingTransportError('SEND_FAILED', `SMTP: the relay did not accept the file for AMC ${file.amc}`);
  }

  close(): void {
    this.sender?.close();
  }
}
