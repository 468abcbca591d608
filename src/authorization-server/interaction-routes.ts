import formbody from '@fastify/formbody';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { errors, type InteractionResults } from 'oidc-provider';
import type Provider from 'oidc-provider';
import { escapeHtml, page } from '../http/index.js';
import type { OAuthServerRepository } from '../store/index.js';
import { approve, approvedGrantId, missingConsent } from './consent.js';
import { consentBody } from './consent-page.js';
import { INTERACTION_PATH } from './provider.js';

/** A signed-in browser as the interaction pages need it. */
export interface InteractionSession {
  userId: string;
  email: string;
  csrfToken: string;
}

/** The hub's browser sessions, as far as these pages use them. */
export interface SessionLookup<S extends InteractionSession = InteractionSession> {
  current(request: FastifyRequest): Promise<S | null>;
  csrfOk(session: S, token: string | undefined): boolean;
}

/** What {@link interactionRoutes} needs. */
export interface InteractionRouteOptions {
  provider: Provider;
  repo: OAuthServerRepository;
  sessions: SessionLookup;
  /** The hub's sign-in page, coming back to `returnTo` (a path as the browser sees it) once signed in. */
  signInUrl(returnTo: string): string;
  publicUrl: string;
}

/** Consent forms are a token and nothing else. */
const FORM_BODY_LIMIT = 4 * 1024;
const UID = /^[A-Za-z0-9_-]{1,64}$/;

function failed(reply: FastifyReply, status: number, message: string): FastifyReply {
  return page(
    reply.status(status),
    'Authorization failed',
    `<p>${escapeHtml(message)}</p><p>Nothing was sent to the application. You can close this window and start again from it.</p>`,
  );
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The https client id of a metadata document (its URL is the id), or undefined for a registered client. */
function documentUrlOf(clientId: string): string | undefined {
  return /^https:\/\//i.test(clientId) ? clientId : undefined;
}

/**
 * The hub's own interaction pages (the authorization server never shows a login form of its
 * own): `GET /oauth2/interaction/:uid` sends a browser without a hub session to the sign-in page
 * and back, finishes the login prompt with the session's user, and shows the consent page, or
 * goes on without a click when this user already approved this client for the same resource
 * and scope. `POST …/approve` and `…/deny` answer it, each with the session's CSRF token.
 */
export const interactionRoutes: FastifyPluginAsync<InteractionRouteOptions> = async (app, options) => {
  const { provider, sessions } = options;
  const prefix = new URL(options.publicUrl).pathname.replace(/\/+$/, '');
  await app.register(formbody, { bodyLimit: FORM_BODY_LIMIT });

  /** The interaction this browser is in, if its cookie names the one in the URL. */
  const interactionOf = async (request: FastifyRequest, reply: FastifyReply) => {
    const uid = (request.params as { uid: string }).uid; // set by the route pattern
    if (!UID.test(uid)) return null;
    try {
      const details = await provider.interactionDetails(request.raw, reply.raw);
      return details.uid === uid ? details : null;
    } catch (err) {
      // No interaction cookie, an expired interaction, or another browser's: nothing to resume.
      if (err instanceof errors.SessionNotFound) return null;
      throw err;
    }
  };

  const finish = async (
    request: FastifyRequest,
    reply: FastifyReply,
    result: InteractionResults,
    merge: boolean,
  ): Promise<FastifyReply> => {
    const returnTo = await provider.interactionResult(request.raw, reply.raw, result, {
      mergeWithLastSubmission: merge,
    });
    return reply.status(303).header('location', returnTo).header('cache-control', 'no-store').send();
  };

  app.get(`${INTERACTION_PATH}/:uid`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await interactionOf(request, reply);
    if (interaction === null)
      return failed(reply, 400, 'This authorization request is unknown or has expired.');
    const session = await sessions.current(request);
    if (session === null) {
      return reply
        .status(303)
        .header('location', options.signInUrl(`${prefix}${INTERACTION_PATH}/${interaction.uid}`))
        .header('cache-control', 'no-store')
        .send();
    }
    if (interaction.prompt.name === 'login') {
      // The hub session is the only source of login (see the login policy in provider.ts).
      return finish(request, reply, { login: { accountId: session.userId } }, false);
    }
    if (interaction.prompt.name !== 'consent') {
      return finish(
        request,
        reply,
        { error: 'access_denied', error_description: 'unsupported prompt' },
        false,
      );
    }
    if (interaction.session?.accountId !== session.userId) {
      // Someone else signed in to the hub in this browser mid-way: this authorization was not theirs.
      return finish(
        request,
        reply,
        { error: 'access_denied', error_description: 'the signed-in user changed' },
        false,
      );
    }
    const clientId = text(interaction.params.client_id) ?? '';
    const missing = missingConsent(interaction.prompt.details);
    const nothingMissing =
      missing.oidcScopes.length === 0 &&
      missing.oidcClaims.length === 0 &&
      Object.keys(missing.resourceScopes).length === 0;
    // RFC 8252 §8.6: a native client's identity cannot be assured (any local app can claim its
    // id and listen on a loopback port), so it is asked every time, as oidc-provider's policy says.
    const native = interaction.prompt.reasons.includes('native_client_prompt');
    const approved = native
      ? null
      : nothingMissing && interaction.grantId !== undefined
        ? interaction.grantId
        : await approvedGrantId(options.repo, session.userId, clientId, missing);
    if (approved !== null) return finish(request, reply, { consent: { grantId: approved } }, true);

    const client = await provider.Client.find(clientId);
    const redirectUri = text(interaction.params.redirect_uri);
    if (client === undefined || redirectUri === undefined) {
      return failed(reply, 400, 'The application of this request is unknown.');
    }
    const resource = interaction.params.resource;
    const resources = Object.keys(missing.resourceScopes);
    if (resources.length === 0 && typeof resource === 'string') resources.push(resource);
    return page(
      reply,
      'Allow access?',
      consentBody({
        clientName: client.clientName,
        documentUrl: documentUrlOf(clientId),
        redirectHost: new URL(redirectUri).host,
        resources,
        asksIdentity: missing.oidcScopes.includes('openid'),
        userEmail: session.email,
        actionBase: `${prefix}${INTERACTION_PATH}/${interaction.uid}`,
        csrfToken: session.csrfToken,
        publicUrl: options.publicUrl,
      }),
    );
  });

  /** The answer to a consent page: a live session, its CSRF token, and the interaction it was shown for. */
  const answer = (decide: 'approve' | 'deny') => async (request: FastifyRequest, reply: FastifyReply) => {
    const session = await sessions.current(request);
    const token = text((request.body as Record<string, unknown> | undefined)?._csrf);
    if (session === null || !sessions.csrfOk(session, token)) {
      return failed(reply, 403, 'This answer did not come from your consent page, so it was refused.');
    }
    const interaction = await interactionOf(request, reply);
    if (interaction === null || interaction.prompt.name !== 'consent') {
      return failed(reply, 400, 'This authorization request is unknown or has expired.');
    }
    if (interaction.session?.accountId !== session.userId) {
      return failed(reply, 403, 'This authorization was started by another user.');
    }
    if (decide === 'deny') {
      // RFC 6749 §4.1.2.1: the client hears access_denied and nothing else.
      return finish(
        request,
        reply,
        { error: 'access_denied', error_description: 'The user denied access' },
        false,
      );
    }
    const clientId = text(interaction.params.client_id) ?? '';
    const result = await approve(
      provider,
      interaction,
      session.userId,
      clientId,
      missingConsent(interaction.prompt.details),
    );
    return finish(request, reply, result, true);
  };

  app.post(`${INTERACTION_PATH}/:uid/approve`, { schema: { hide: true } }, answer('approve'));
  app.post(`${INTERACTION_PATH}/:uid/deny`, { schema: { hide: true } }, answer('deny'));
};
