/**
 * ROC Bridge library: the domain and protocols, free of Node-RED, usable on its own.
 * Namespaced so names from different protocols never collide.
 */
export * from './model/dossier';
export { checkFiness, finessKey } from './model/finess';
export * as sel from './sel';
export * as security from './security/tls';
export * as datamatrix from './datamatrix';
export * as hl7 from './hl7';
export * as hprim from './hprim';
export * as store from './store';
