export {
  createUpstreamService,
  type UpstreamService,
  type ServerStatus,
  type CallerConnection,
} from './upstream-service.js';
export { connectionKey, isKeyOfServer } from './connection-keys.js';
export { connectAtStartup, type StartupConnector } from './startup.js';
