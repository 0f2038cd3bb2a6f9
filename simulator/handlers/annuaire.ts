/** RechercheAnnuaire: an AMC's identity and, when it is in ROC, the URLs of its access point. */
import { lookupAnnuaire } from '../seed';
import { header, ko, msg, ok } from './answer';
import type { Answer, Obj, SimContext } from './context';

export function annuaire(ctx: SimContext, p: Obj): Answer {
  const { index } = ctx;
  const t = ((p.enTete as Obj).amc ?? {}) as Obj;
  const r = lookupAnnuaire(index, String(t.numeroAmc ?? ''), t.typeConvention as string | undefined, t.csr as string | undefined);
  if (!r.found) return ko(ctx, 'annuaire', p, r.code);
  const amc = { numeroAmc: r.amc.numeroAmc, nom: r.amc.nom, operateur: r.enRoc ? r.operateur : undefined, enRoc: r.enRoc };
  if (!r.enRoc) return ok('annuaire', { enTete: header(ctx, p), statut: 'OK', messages: [msg(ctx, '0000')], amc });
  return ok('annuaire', {
    enTete: header(ctx, p),
    statut: 'OK',
    messages: [msg(ctx, '0000')],
    amc,
    services: ['idb', 'sim', 'clc', 'del'].map((s) => ({ service: s, url: `${ctx.base}/sel/${r.accessPoint.id}/${s}` })),
    dureeValidite: index.seed.parametres.dureeValiditeAnnuaireSecondes,
  });
}
