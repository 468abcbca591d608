export { createToolCache, type CachedTool, type ToolCache } from './tool-cache.js';
export { listCatalog, PLUGIN_KEY_DELIMITER, type ListedServer, type ListedTool } from './tool-catalog.js';
export { callTool, type ToolCallOptions } from './tool-calls.js';
