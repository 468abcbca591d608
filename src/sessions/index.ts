// Browser sessions: the public face other folders import from.
export {
  SessionService,
  SESSION_IDLE_TIMEOUT_MS,
  SESSION_LIFETIME_MS,
  type BrowserSessions,
  type SessionServiceOptions,
  type SessionUser,
  type SignInMethod,
} from './session-service.js';
export { sessionCookieSettings, type SessionCookieSettings } from './session-cookie.js';
export { isCrossSite, safeReturnTo, signInPath } from './return-to.js';
