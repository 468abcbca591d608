export {
  cacheableTool,
  createToolCache,
  type CachedTool,
  type ToolCache,
  type ToolCacheLogger,
  toolListIdentity,
  type ToolCacheOptions,
  type ToolListServer,
  type ToolSource,
} from './tool-cache.js';
export {
  listCatalog,
  PLUGIN_KEY_DELIMITER,
  type CatalogDeps,
  type CatalogUpstreams,
  type ListedServer,
  type ListedTool,
} from './tool-catalog.js';
export { callTool, type ToolCallOptions } from './tool-calls.js';
export {
  jsonSchemaObject,
  toolAnnotationsSchema,
  toolDetails,
  toolIconSchema,
  type ToolDetails,
} from './tool-details.js';
export {
  createEventStream,
  KEEP_ALIVE_MS,
  wantsEventStream,
  type EventStream,
  type EventStreamOptions,
} from './event-stream.js';
