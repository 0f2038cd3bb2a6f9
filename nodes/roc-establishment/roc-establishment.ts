/**
 * Config node `roc-establishment`: the hospital's identity (FINESS), its AMC directory, timeouts
 * and certificate. It owns one RocClient (one keep-alive agent, one annuaire cache, one circuit
 * breaker per AMC) shared by every service node that points at it.
 */
import fs from 'node:fs';
import type { NodeAPI, Node, NodeDef } from '../common/red';
import { RocClient } from '../../lib/sel/client';
import { resolveEstablishment, type EstablishmentConfig } from '../../lib/sel/establishment';
import type { EstablishmentNode } from '../common/establishment-node';

const DAY = 24 * 3600 * 1000;

export = function register(RED: NodeAPI): void {
  function RocEstablishment(this: EstablishmentNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const cfg = def as unknown as EstablishmentConfig;
    const resolve = (now = new Date()) => resolveEstablishment(cfg, this.credentials ?? {}, (p) => fs.readFileSync(p), now);
    const res = resolve();
    this.configErrors = res.errors;
    this.certificate = res.certificate;
    if (res.establishment) {
      this.client = new RocClient(res.establishment, {
        annuaireTtlMs: res.establishment.annuaireTtlMs,
        breaker: res.establishment.breaker,
      });
    } else {
      this.error(RED._('roc-establishment.log.invalid', { errors: res.errors.join(' ; ') }));
    }
    this.checkCertificate = (now = new Date()) => {
      this.certificate = resolve(now).certificate;
      const c = this.certificate;
      if (c?.level === 'expired') this.error(RED._('roc-establishment.log.certificateExpired', { date: c.notAfter }));
      else if (c?.level === 'warning')
        this.warn(RED._('roc-establishment.log.certificateExpiring', { days: c.daysLeft, date: c.notAfter }));
      return c;
    };
    if (this.certificate && this.certificate.level !== 'ok') this.checkCertificate();
    const timer = setInterval(() => this.checkCertificate(), DAY);
    timer.unref();

    this.on('close', (_removed, done) => {
      clearInterval(timer);
      const c = this.client;
      this.client = undefined;
      if (c) c.close();
      done();
    });
  }

  RED.nodes.registerType('roc-establishment', RocEstablishment as unknown as (this: Node, def: NodeDef) => void, {
    credentials: {
      p12: { type: 'text' },
      passphrase: { type: 'password' },
      cert: { type: 'text' },
      key: { type: 'password' },
      ca: { type: 'text' },
    },
  });
};
