/**
 * Operations events: schema, process-wide bus, MQTT publishing (embedded or external broker),
 * metrics and health. See docs/operations-events.md.
 */
export * from './schema';
export * from './bus';
export * from './buffer';
export * from './dossier-id';
export * from './publisher';
export * from './emitters';
