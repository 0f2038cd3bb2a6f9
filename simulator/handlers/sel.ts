/** The SEL online services of the simulated AMCs: IDB, SIM, CLC, DEL. */
import { createHash } from 'node:crypto';
import { toEuros, type InvoiceResult } from '../engine';
import { addDays, checkRights, computeAmounts, idbValidUntil } from '../rights';
import { delayOf, header, ko, msg, ok } from './answer';
import type { Answer, Obj, SimContext } from './context';

function money(r: InvoiceResult) {
  return {
    montants: {
      totalFacture: toEuros(r.totalFactureCents),
      totalAmo: toEuros(r.totalAmoCents),
      totalAmc: toEuros(r.totalAmcCents),
      resteACharge: toEuros(r.resteAChargeCents),
    },
    lignes: r.lignes.map((l) => ({
      numero: l.numero,
      code: l.code,
      montantAmc: toEuros(l.amcCents),
      montantPatient: toEuros(l.patientCents),
    })),
  };
}

function localDate(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** `ap`: the access point asked (undefined: the generic one, serving every ROC AMC). */
export function idb(ctx: SimContext, ap: string | undefined, p: Obj): Answer {
  const { index } = ctx;
  const d = checkRights(index, ap, p);
  if (!d.ok) return ko(ctx, 'idb', p, d.code, d.libelle, delayOf(d.incident));
  const entree = String((p.venue as Obj).dateEntree);
  return ok(
    'idb',
    {
      enTete: header(ctx, p),
      statut: 'OK',
      messages: [msg(ctx, '0000')],
      couverture: d.contract.couverture,
      consignes: d.contract.consignes,
      dateValidite: idbValidUntil(index, entree, d.periode),
    },
    delayOf(d.incident),
  );
}

export function sim(ctx: SimContext, ap: string | undefined, p: Obj): Answer {
  const d = checkRights(ctx.index, ap, p);
  if (!d.ok) return ko(ctx, 'sim', p, d.code, d.libelle, delayOf(d.incident));
  const a = computeAmounts(d.contract, p.facture as Obj);
  if (!a.ok) return ko(ctx, 'sim', p, a.code, a.libelle, delayOf(d.incident));
  return ok(
    'sim',
    { enTete: header(ctx, p), statut: 'OK', messages: [msg(ctx, '0000')], ...money(a.result), consignes: d.contract.consignes },
    delayOf(d.incident),
  );
}

export function clc(ctx: SimContext, ap: string | undefined, p: Obj): Answer {
  const { index, book } = ctx;
  const d = checkRights(index, ap, p);
  if (!d.ok) return ko(ctx, 'clc', p, d.code, d.libelle, delayOf(d.incident));
  const facture = p.facture as Obj;
  const a = computeAmounts(d.contract, facture);
  if (!a.ok) return ko(ctx, 'clc', p, a.code, a.libelle, delayOf(d.incident));
  const enTete = p.enTete as Obj;
  const finessGeographique = String(enTete.finessGeographique);
  const numeroFacture = String(facture.numero);
  const fingerprint = createHash('sha1')
    .update(JSON.stringify([d.amc.numeroAmc, d.beneficiary.id, p.venue, facture.lignes]))
    .digest('base64');
  const existing = book.forInvoice(finessGeographique, numeroFacture);
  if (existing) {
    if (existing.fingerprint !== fingerprint) return ko(ctx, 'clc', p, '6023', undefined, delayOf(d.incident));
    return ok('clc', { enTete: header(ctx, p), ...existing.answer }, delayOf(d.incident));
  }
  const now = new Date();
  const numero = book.nextNumero(d.amc.numeroAmc);
  const dateValidite = addDays(localDate(now), index.seed.parametres.validiteEngagementJours);
  const answer = {
    statut: 'OK',
    messages: [msg(ctx, '0000')],
    ...money(a.result),
    consignes: d.contract.consignes,
    numeroEngagement: numero,
    dateValiditeEngagement: dateValidite,
  };
  book.record(
    {
      numero,
      numeroAmc: d.amc.numeroAmc,
      pointAcces: ap ?? '*',
      finessJuridique: String(enTete.finessJuridique),
      finessGeographique,
      numeroFacture,
      idRequete: String(enTete.requestId),
      montantAmc: toEuros(a.result.totalAmcCents),
      dateCalcul: now.toISOString(),
      dateValidite,
      etat: 'ACTIF',
    },
    fingerprint,
    answer,
  );
  return ok('clc', { enTete: header(ctx, p), ...answer }, delayOf(d.incident));
}

export function del(ctx: SimContext, ap: string | undefined, p: Obj): Answer {
  const { index, book } = ctx;
  const numero = String(p.numeroEngagement ?? '');
  const served = ap === undefined ? () => true : (n: string) => index.amcs.get(n)?.accessPoints.has(ap) === true;
  const current = book.get(numero);
  if (current && p.numeroFacture !== undefined && p.numeroFacture !== current.numeroFacture) {
    return ko(ctx, 'del', p, '6020', 'Engagement inconnu pour ce numéro de facture', 'none', { numeroEngagement: numero });
  }
  const r = book.cancel(numero, served, p.motif as string | undefined);
  if (!r.ok) return ko(ctx, 'del', p, r.code, undefined, 'none', { numeroEngagement: numero });
  return ok('del', { enTete: header(ctx, p), statut: 'OK', messages: [msg(ctx, '0000')], numeroEngagement: numero });
}
