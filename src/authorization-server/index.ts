// The hub's own authorization server: the public face other folders import from.
export { AuthorizationServer, type AuthorizationServerOptions } from './authorization-server.js';
