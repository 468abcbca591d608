import { createHash } from 'node:crypto';
import type { Identity } from '../auth/index.js';
import type { Random } from '../core/index.js';
import { HubError } from '../errors/index.js';
import type { Kv } from '../kv/index.js';
import { flowIdFor, type OAuthService } from '../oauth/index.js';
import type { RegisteredServer } from '../registry/index.js';
import type { UpstreamService } from './upstream-service.js';

/** A started authorization: what the caller opens in a browser. */
export interface StartedAuthorization {
  flowId: string;
  oauthUrl: string;
  /** Milliseconds the caller has to finish in the browser: the authorization URL's and the flow's lifetime. */
  oauthTimeout: number;
}

/** What a browser sign-in link stands for: one pending flow, and the hub user who must sign in to use it. */
export interface BrowserLinkTicket {
  flowId: string;
  /** The user who must prove themselves in the browser (for a shared authorization: the admin who started it). */
  userId: string;
  serverName: string;
}

/** Why a browser sign-in link could not be used. */
export type BrowserLinkRefusal =
  /** Unknown, expired or already used. */
  | 'unknown'
  /** The browser proved another user; the link is used up all the same. */
  | 'other_user'
  /** The flow it was made for is over (completed, failed, cancelled or expired). */
  | 'flow_gone';

/** The outcome of {@link AuthorizationStarter.redeemBrowserLink}. */
export type BrowserLinkRedemption =
  ({ ok: true; authorizationUrl: string } & BrowserLinkTicket) | { ok: false; reason: BrowserLinkRefusal };

/** Starts OAuth flows for callers and remembers each flow's authorization URL for `initiate`. */
export interface AuthorizationStarter {
  start(caller: Identity, server: RegisteredServer): Promise<StartedAuthorization>;
  /** The authorization URL of the caller's latest flow for a server, while it lives. */
  pendingUrl(flowId: string): Promise<string | null>;
  /**
   * A single-use hub URL (`<publicUrl>/api/mcp/oauth/link/<ticket>`) that lets a browser without hub cookies
   * take part in the caller's pending flow, once it signs in as the caller. For clients that hold a
   * bearer token but no browser session (MCP clients). Throws `HUB_ERR_FORBIDDEN` as `start` does,
   * and `HUB_ERR_OAUTH_FLOW_NOT_FOUND` unless `flowId` is the caller's pending flow for the server.
   */
  browserLink(caller: Identity, server: RegisteredServer, flowId: string): Promise<string>;
  /** The link's facts without using it up; null when unknown, expired or used. */
  peekBrowserLink(ticket: string): Promise<BrowserLinkTicket | null>;
  /**
   * Uses the link up (atomically: of concurrent callers at most one succeeds) on behalf of the user the
   * browser proved to be, and answers the flow's authorization URL when that user is the link's.
   */
  redeemBrowserLink(ticket: string, signedInUserId: string): Promise<BrowserLinkRedemption>;
}

/**
 * Whether the caller may start, see, bind, cancel or revoke the authorization whose tokens belong
 * to `owner`: their own, or, for an admin, the shared (`system`) one everybody's calls use.
 */
export function mayActFor(owner: string, caller: Pick<Identity, 'userId' | 'role'>): boolean {
  return owner === caller.userId || caller.role === 'ADMIN';
}

/** Same lifetime as the flow's state (10 minutes), which every start renews. */
const URL_TTL_MS = 10 * 60_000;
/** 256 bits: a link can neither be guessed nor enumerated. */
const TICKET_BYTES = 32;
/** A ticket as minted: 32 bytes in base64url, nothing else. */
const TICKET_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** The KV holds only a hash of the ticket, so a dump of the store (or of Redis) opens no link. */
function linkKey(ticket: string): string {
  return `oauth:link:${createHash('sha256').update(ticket).digest('base64url')}`;
}

function parseTicket(raw: string | null): BrowserLinkTicket | null {
  if (raw === null) return null;
  try {
    const value = JSON.parse(raw) as Partial<Record<keyof BrowserLinkTicket, unknown>>;
    const { flowId, userId, serverName } = value;
    if (typeof flowId !== 'string' || typeof userId !== 'string' || typeof serverName !== 'string') {
      return null;
    }
    return { flowId, userId, serverName };
  } catch {
    return null;
  }
}

/** Creates the starter over the OAuth service. */
export function createAuthorizationStarter(deps: {
  oauth: OAuthService;
  upstreams: UpstreamService;
  kv: Kv;
  random: Random;
  /** PUBLIC_URL, without a trailing slash: where browser links point. */
  publicUrl: string;
}): AuthorizationStarter {
  /** Whose flow the caller acts on for this server: their own, or the shared one (admins only). */
  function flowOwner(caller: Identity, server: RegisteredServer): string {
    const owner = deps.upstreams.tokenOwner(server, caller);
    if (!mayActFor(owner, caller)) {
      throw new HubError('HUB_ERR_FORBIDDEN', {
        message: `MCP server '${server.name}' is authorized once for everyone: ask an administrator to connect it`,
      });
    }
    return owner;
  }

  const pendingUrl = (flowId: string): Promise<string | null> => deps.kv.get(`oauth:url:${flowId}`);

  return {
    async start(caller, server) {
      const owner = flowOwner(caller, server);
      const serverUrl = await deps.upstreams.serverUrlFor(caller, server);
      const flow = await deps.oauth.initiate({
        userId: owner,
        serverName: server.name,
        serverUrl,
        config: server.config,
        // Start from what the server itself said in its 401/403 (resource metadata, scope), if it spoke.
        challenge: deps.upstreams.lastChallenge(caller, server),
      });
      await deps.kv.set(`oauth:url:${flow.flowId}`, flow.authorizationUrl, { ttlMs: URL_TTL_MS });
      return { flowId: flow.flowId, oauthUrl: flow.authorizationUrl, oauthTimeout: URL_TTL_MS };
    },

    pendingUrl,

    async browserLink(caller, server, flowId) {
      // A link to someone else's flow would let this caller's browser complete it (OA-03).
      if (
        flowId !== flowIdFor(flowOwner(caller, server), server.name) ||
        (await pendingUrl(flowId)) === null
      ) {
        throw new HubError('HUB_ERR_OAUTH_FLOW_NOT_FOUND', { message: 'Flow not found' });
      }
      const ticket = deps.random.bytes(TICKET_BYTES).toString('base64url');
      const value: BrowserLinkTicket = { flowId, userId: caller.userId, serverName: server.name };
      await deps.kv.set(linkKey(ticket), JSON.stringify(value), { ttlMs: URL_TTL_MS });
      return `${deps.publicUrl}/api/mcp/oauth/link/${ticket}`;
    },

    async peekBrowserLink(ticket) {
      if (!TICKET_SHAPE.test(ticket)) return null;
      return parseTicket(await deps.kv.get(linkKey(ticket)));
    },

    async redeemBrowserLink(ticket, signedInUserId) {
      if (!TICKET_SHAPE.test(ticket)) return { ok: false, reason: 'unknown' };
      // The route redeems only for the link's own user (it peeks first, so a wrong account keeps the
      // link for a sign-out and back); taken before the user is compared all the same, so a race
      // between peek and redeem spends the link rather than binding it to anyone else (OA-04).
      const link = parseTicket(await deps.kv.getAndDelete(linkKey(ticket)));
      if (link === null) return { ok: false, reason: 'unknown' };
      if (link.userId !== signedInUserId) return { ok: false, reason: 'other_user' };
      const [status, authorizationUrl] = await Promise.all([
        deps.oauth.flowStatus(link.flowId),
        pendingUrl(link.flowId),
      ]);
      if (status?.status !== 'PENDING' || authorizationUrl === null)
        return { ok: false, reason: 'flow_gone' };
      return { ok: true, ...link, authorizationUrl };
    },
  };
}
