export { HubError, isHubError, type HubErrorOptions } from './hub-error.js';
export { errorTable, type HubErrorCode } from './codes.js';
export { type Result, ok, fail } from './result.js';
