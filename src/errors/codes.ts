/**
 * The one table of error codes: each stable code maps to an HTTP status and a message that is safe
 * to show any caller. Code branches on `code`, never on `message`.
 * Documented for API users in docs/errors.md; a test keeps the two in step.
 */
export const errorTable = {
  HUB_ERR_BAD_REQUEST: { status: 400, message: 'Bad request' },
  HUB_ERR_VALIDATION: { status: 400, message: 'Invalid request' },
  HUB_ERR_MALFORMED_JSON: { status: 400, message: 'Request body is not valid JSON' },
  HUB_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported content type' },
  HUB_ERR_BODY_TOO_LARGE: { status: 413, message: 'Request body is too large' },
  HUB_ERR_UNAUTHENTICATED: { status: 401, message: 'Authentication required' },
  HUB_ERR_INVALID_TOKEN: { status: 401, message: 'Invalid or expired token' },
  HUB_ERR_INVALID_CREDENTIALS: { status: 401, message: 'Invalid email or password' },
  HUB_ERR_FORBIDDEN: { status: 403, message: 'Forbidden: Insufficient permissions' },
  HUB_ERR_ACCOUNT_DISABLED: { status: 403, message: 'This account is disabled' },
  HUB_ERR_CSRF: { status: 403, message: 'Missing or wrong X-CSRF-Token for this browser session' },
  HUB_ERR_NOT_FOUND: { status: 404, message: 'Not found' },
  HUB_ERR_ROUTE_NOT_FOUND: { status: 404, message: 'Route not found' },
  HUB_ERR_SERVER_NOT_FOUND: { status: 404, message: 'MCP server not found in configuration' },
  HUB_ERR_DESTINATION_OWNER_ONLY: {
    status: 403,
    message: "Only the server's owner or an administrator can change where it connects",
  },
  HUB_ERR_INVALID_SERVER_NAME: { status: 400, message: 'Invalid server name' },
  HUB_ERR_USER_EXISTS: { status: 409, message: 'A user with this email already exists' },
  HUB_ERR_USER_NOT_FOUND: { status: 404, message: 'User not found' },
  HUB_ERR_CONFLICT: { status: 409, message: 'Conflict' },
  HUB_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests' },
  HUB_ERR_CONFIG_INVALID: { status: 500, message: 'Configuration is invalid' },
  HUB_ERR_SECRET_MISSING: { status: 500, message: 'A required secret is not configured' },
  HUB_ERR_DECRYPT_FAILED: { status: 500, message: 'Stored credential could not be decrypted' },
  HUB_ERR_NOT_READY: { status: 503, message: 'Service not ready' },
  HUB_ERR_DB_UNAVAILABLE: { status: 503, message: 'The database is unavailable; retry shortly' },
  HUB_ERR_KV_UNAVAILABLE: {
    status: 503,
    message: 'The key-value store (Redis) is unavailable; retry shortly',
  },
  HUB_ERR_SHUTTING_DOWN: { status: 503, message: 'The hub is shutting down; retry shortly' },
  HUB_ERR_UPSTREAM_UNAVAILABLE: { status: 502, message: 'MCP server is unavailable' },
  HUB_ERR_UPSTREAM_TIMEOUT: { status: 504, message: 'MCP server did not answer in time' },
  HUB_ERR_RESULT_TOO_LARGE: { status: 502, message: 'MCP server result is larger than the hub accepts' },
  HUB_ERR_CIRCUIT_OPEN: { status: 503, message: 'MCP server is failing; retry later' },
  HUB_ERR_MISSING_USER_VARS: { status: 400, message: 'This server needs values you have not set yet' },
  HUB_ERR_TOOL_NOT_FOUND: { status: 404, message: 'Tool not found on this server' },
  HUB_ERR_CAPABILITY_UNSUPPORTED: { status: 409, message: 'This MCP server does not offer that feature' },
  HUB_ERR_UPSTREAM_REFUSED: { status: 422, message: 'The MCP server refused the request' },
  HUB_ERR_EGRESS_DENIED: { status: 403, message: 'Destination not allowed' },
  HUB_ERR_EGRESS_FAILED: { status: 502, message: 'Upstream response was refused' },
  HUB_ERR_INTERNAL: { status: 500, message: 'Internal server error' },
  HUB_ERR_OAUTH_REQUIRED: { status: 401, message: 'This server needs your authorization first' },
  HUB_ERR_OAUTH_NEEDS_AUTH: {
    status: 401,
    message: 'Your authorization for this server expired or was revoked; authorize again',
  },
  HUB_ERR_OAUTH_FLOW_NOT_FOUND: { status: 404, message: 'Flow not found' },
  HUB_ERR_OAUTH_DISCOVERY_FAILED: {
    status: 502,
    message: "Could not discover the server's authorization settings; the server may be misconfigured",
  },
  HUB_ERR_OAUTH_METADATA_INVALID: {
    status: 502,
    message: "The server's authorization metadata is invalid or unsafe",
  },
  HUB_ERR_OAUTH_PKCE_UNSUPPORTED: {
    status: 502,
    message: 'The authorization server does not support PKCE with S256',
  },
  HUB_ERR_OAUTH_REGISTRATION_FAILED: {
    status: 502,
    message: 'Could not register with the authorization server',
  },
  HUB_ERR_OAUTH_TOKEN_FAILED: { status: 502, message: 'The authorization server did not issue a token' },
  HUB_ERR_OAUTH_INSUFFICIENT_SCOPE: {
    status: 403,
    message: 'This server needs more permissions than you granted; authorize again',
  },
  HUB_ERR_OAUTH_STEP_UP_LIMIT: {
    status: 403,
    message: 'The server keeps asking for more permissions than were granted; giving up',
  },
  HUB_ERR_MCP_INSPECTION_FAILED: {
    status: 400,
    message: 'Could not connect to the MCP server to inspect it',
  },
  HUB_ERR_MCP_DOMAIN_NOT_ALLOWED: { status: 403, message: "The MCP server's address is not allowed" },
  HUB_ERR_ROLES_READ_ONLY: {
    status: 409,
    message: 'Role permissions are set in switchboard.yaml, not through the API',
  },
} as const satisfies Record<string, { status: number; message: string }>;

/** Every stable error code the hub can answer with. */
export type HubErrorCode = keyof typeof errorTable;
