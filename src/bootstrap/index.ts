export { createHub, type Hub, type CreateHubOptions } from './hub.js';
export { ensureSecrets, type HubSecrets } from './secrets.js';
