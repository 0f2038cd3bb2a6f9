/** Public API of the ROC online-services layer (SEL): clients, transport, breaker, cache, validation, codec. */
export { RocClient, type Establishment, type RocClientOptions, type ResultFor, type AnyResult } from './client';
export {
  postSoap,
  SoapTransport,
  TransportError,
  classify,
  sanitize,
  type TransportErrorKind,
  type TlsMaterial,
  type AgentOptions,
  type PostOptions,
  type SoapHttpResponse,
} from './transport';
export { CircuitBreaker, type BreakerOptions, type BreakerState, type BreakerSnapshot } from './breaker';
export { AnnuaireCache, cacheKey, type AnnuaireAnswer, type AnnuaireCacheOptions, type CacheEntry } from './cache';
export { validateDossier, amcTarget, normaliseNumeroAmc, engagementToCancel, isRealDate } from './validate';
export { Codec, codec, type OperationName } from './codec';
export { SoapError, parseEnvelope, parseXml, buildEnvelope, buildFault, escapeXml, type SoapFault, type SoapErrorKind } from './soap';
export { PROFILE, type SelProfile, type FieldSpec, type OperationSpec } from './profile';
export { messageFor, enrich, catalogue, loadCatalogue, type Catalogue } from './catalogue';
