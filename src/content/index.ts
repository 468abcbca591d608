export {
  complete,
  getPrompt,
  listPrompts,
  listResources,
  listResourceTemplates,
  LOG_LEVELS,
  readResource,
  setLogLevel,
  type CompletionRequest,
  type LogLevel,
} from './server-content.js';
export { requestFromServer, type ServerFeature, type ServerTarget } from './server-requests.js';
export {
  completionResultSchema,
  emptyResultSchema,
  promptListSchema,
  promptResultSchema,
  readResourceResultSchema,
  resourceListSchema,
  resourceTemplateListSchema,
} from './result-schemas.js';
