// The OAuth client's public face: other folders import from here only.
export { createOAuthService } from './oauth-service.js';
export { DEFAULT_OAUTH_SETTINGS } from './parts.js';
export { challengeFromResponse, insufficientScope, type ParsedChallenge } from './challenge.js';
export {
  checkClientMetadataUrl,
  clientMetadataDocument,
  type ClientMetadataDocument,
  type ClientMetadataDocumentInput,
} from './client-metadata.js';
export { flowIdFor, parseFlowId } from './flow-ids.js';
export { createCookieSigner, createFlowBinding, type CookieSigner, type FlowBinding } from './binding.js';
export type {
  AuthorizationServerInfo,
  CallbackErrorCode,
  CallbackInput,
  CallbackResult,
  DiscoverInput,
  FlowStatusName,
  FlowStatusView,
  InitiatedFlow,
  InitiateInput,
  OAuthAuthState,
  OAuthChallenge,
  OAuthDiscovery,
  OAuthServerContext,
  OAuthService,
  OAuthServiceDeps,
  OAuthSettings,
  TokenMetadata,
} from './types.js';
