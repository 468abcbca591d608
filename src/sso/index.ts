// Single sign-on with OpenID Connect: the public face other folders import from.
export { ProviderClients } from './provider-clients.js';
export { PendingSignIns } from './pending-sign-ins.js';
export { groupSource, type ProvisioningDeps } from './provisioning.js';
export { SsoService, type SsoServiceOptions } from './sso-service.js';
export { ssoRoutes, type SsoRouteOptions, type SsoSessionStarter } from './sso-routes.js';
