export { gatewayRoutes, type GatewayOptions } from './mcp-endpoint.js';
export { exposedName, exposedUri, parseExposedUri } from './names.js';
