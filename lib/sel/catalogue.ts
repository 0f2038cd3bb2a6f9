/**
 * The AMC error catalogue (REFERREURAMC / REFGROUPEERREUR) as data.
 *
 * Codes, labels and groups are loaded from `catalogue/erreurs-amc.json`, never compiled into an
 * enum: the official catalogue replaces the file. Each group drives a GAP behaviour (`action`).
 * Codes prefixed `BR-` are the bridge's own (technical failures and dossier validation).
 */
import type { ActionGap, RocMessage, Severite } from '../model/dossier';
import data from './catalogue/erreurs-amc.json';

interface Entry {
  groupe: string;
  severite: string;
  libelle: string;
}

export interface Catalogue {
  version: string;
  groupes: Record<string, { libelle: string; action: string }>;
  erreurs: Record<string, Entry>;
  bridge: Record<string, Entry>;
}

let current: Catalogue = data as Catalogue;

/** Replace the catalogue (e.g. with the official tables converted to the same JSON shape). */
export function loadCatalogue(c: Catalogue): void {
  current = c;
}

export function catalogue(): Catalogue {
  return current;
}

/** Build a message for a code, filling group, severity, label and GAP action from the catalogue. */
export function messageFor(code: string, overrides: Partial<RocMessage> = {}): RocMessage {
  const entry = current.erreurs[code] ?? current.bridge[code];
  const groupe = overrides.groupe || entry?.groupe || 'INCONNU';
  const action = (current.groupes[groupe]?.action as ActionGap | undefined) ?? 'TRAITEMENT_MANUEL';
  return {
    code,
    groupe,
    severite: (overrides.severite || entry?.severite || 'ERREUR') as Severite,
    libelle: overrides.libelle || entry?.libelle || `Code ${code} inconnu du catalogue`,
    action,
  };
}

/** Complete a message received from an AMC with what the catalogue knows (group, action). */
export function enrich(m: Partial<RocMessage> & { code: string }): RocMessage {
  return messageFor(m.code, m);
}
