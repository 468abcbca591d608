import { z } from 'zod';
import { parseAllowedAddress, parseAllowedDomain } from './allowed-domains.js';
import { milliseconds } from './schema-primitives.js';

/** Idle connections are closed after 15 minutes unless a server or `mcpSettings` says otherwise. */
export const DEFAULT_IDLE_TIMEOUT_MS = 15 * 60 * 1000;
/**
 * Connect-and-initialise timeout for servers without their own `initTimeout`. A minute, because a stdio
 * server started through `npx` downloads its package on first use.
 */
export const DEFAULT_INIT_TIMEOUT_MS = 60_000;
/** How many app-level servers are connected at once during start-up. */
export const DEFAULT_STARTUP_CONCURRENCY = 4;

const allowedDomainSchema = z.string().superRefine((entry, ctx) => {
  const parsed = parseAllowedDomain(entry);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
});

const allowedAddressSchema = z.string().superRefine((entry, ctx) => {
  const parsed = parseAllowedAddress(entry);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
});

const countSchema = z.number().int().min(0);

/**
 * LibreChat's `mcpSettings.catalogRecovery`: how its tool catalog recovers from failed discovery. The hub
 * has no such catalog; the section is checked so a typo is still caught, and reported as unused at start.
 */
const catalogRecoverySchema = z.strictObject({
  discoveryBackoffMs: z.array(milliseconds()).optional(),
  discoveryTimeoutMs: milliseconds().optional(),
  discoverySettleGraceMs: milliseconds().optional(),
  reauthRetryMs: milliseconds().optional(),
  maxStateEntries: countSchema.optional(),
  maxDetachedDiscoveries: countSchema.optional(),
  generationReadTimeoutMs: milliseconds().optional(),
  authorizationFenceRetryMs: z.array(milliseconds()).optional(),
  authorizationFenceTimeoutMs: milliseconds().optional(),
  authorizationFenceRetryIntervalMs: milliseconds().optional(),
  authorizationFenceRetryBatchSize: countSchema.optional(),
});

/** A limit in requests per minute; 1 at least, since 0 would shut the route. */
const perMinuteSchema = z.number().int().min(1);

/**
 * `mcpSettings.rateLimits`: requests per minute on the routes the hub limits, per user when the caller
 * is authenticated and per client address otherwise. Every key is optional; the defaults (tool calls
 * 600, reinitialize 30, server creation 20, OAuth initiate 30, OAuth callback 60, sign-in 10,
 * single sign-on 30) are applied where the hub is built. With `REDIS_URL` the counts are shared by
 * every instance.
 */
export const rateLimitsSchema = z.strictObject({
  toolCalls: perMinuteSchema.optional(),
  reinitialize: perMinuteSchema.optional(),
  serverCreation: perMinuteSchema.optional(),
  oauthInitiate: perMinuteSchema.optional(),
  oauthCallback: perMinuteSchema.optional(),
  /** Password sign-in (`/api/auth/login`, `/api/auth/session`, `/auth/signin`) per address; password changes per user. */
  signIn: perMinuteSchema.optional(),
  /** Single sign-on start and callback, per address. */
  sso: perMinuteSchema.optional(),
});

/** Validated `mcpSettings.rateLimits`: only the keys the file set. */
export type RateLimitsSettings = z.output<typeof rateLimitsSchema>;

/**
 * `mcpSettings`: LibreChat's keys (`allowedDomains`, `allowedAddresses`) unchanged, plus the hub's
 * connection defaults. The two lists stay absent when not given, because LibreChat gives "not set" its
 * own meaning (no allowlist) that differs from an empty list.
 */
export const mcpSettingsSchema = z.strictObject({
  allowedDomains: z.array(allowedDomainSchema).optional(),
  allowedAddresses: z.array(allowedAddressSchema).optional(),
  /** Close a connection after this long without use, ms; a server's own `idleTimeout` wins. */
  idleTimeout: milliseconds().default(DEFAULT_IDLE_TIMEOUT_MS),
  /** Default connect-and-initialise timeout, ms; a server's own `initTimeout` wins. */
  initTimeout: milliseconds().default(DEFAULT_INIT_TIMEOUT_MS),
  /**
   * Total bound of one call that progress does not extend, ms (default 10 minutes, applied where
   * servers are resolved); a server's own `maxCallDuration` wins.
   */
  maxCallDuration: milliseconds().min(1).optional(),
  /**
   * The largest JSON-RPC message taken from an MCP server, bytes, on every transport (default
   * 10 MiB, applied by the connection pool): a larger result fails its own call
   * (HUB_ERR_RESULT_TOO_LARGE) and the connection goes on.
   */
  maxResultBytes: z.number().int().min(1024).optional(),
  /**
   * How many connections of their own one user's MCP sessions may hold to one server, all their
   * sessions together (default 3, applied where connections are opened). A session whose client
   * takes sampling, elicitation or roots gets such a connection (a process, for stdio); past the cap
   * it shares the pooled connection instead. 0 opens none.
   */
  maxSessionConnections: countSchema.optional(),
  /** The same cap over every user and server of this hub instance together (default 100). */
  maxSessionConnectionsTotal: countSchema.optional(),
  /** App-level servers connected in parallel at start-up. */
  startupConcurrency: z.number().int().min(1).max(64).default(DEFAULT_STARTUP_CONCURRENCY),
  catalogRecovery: catalogRecoverySchema.optional(),
  rateLimits: rateLimitsSchema.optional(),
});

/** Validated `mcpSettings`, with defaults filled in. */
export type McpSettings = z.output<typeof mcpSettingsSchema>;
