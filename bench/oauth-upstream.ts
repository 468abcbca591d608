/**
 * The benchmark's OAuth-protected upstream, in a process of its own so its CPU is counted apart from
 * the client's: test/peers' oidc-provider authorization server (hour-long access tokens, so the
 * token stays warm through a run) and its JWT-protected MCP server, both on 127.0.0.1. Prints one
 * line `OAUTH_UPSTREAM <json>` with the MCP server's URL, then runs until SIGTERM.
 */
import { startAuthorizationServer } from '../test/peers/oauth-as.js';
import { startProtectedMcpServer } from '../test/peers/protected-mcp.js';

const as = await startAuthorizationServer({ accessTokenTtlSeconds: 3600 });
const mcp = await startProtectedMcpServer(as);
process.stdout.write(`OAUTH_UPSTREAM ${JSON.stringify({ url: mcp.url, issuer: as.issuer })}\n`);
process.once('SIGTERM', () => {
  void Promise.all([mcp.stop(), as.stop()]).finally(() => process.exit(0));
});
