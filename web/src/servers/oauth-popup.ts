import { useCallback, useEffect, useRef, useState } from 'react';
import { messageOf } from '../api.ts';
import { useSession } from '../session.ts';
import { cancelFlow, getFlowStatus, reinitialize, type FlowStatus } from './servers-api.ts';
import { useRefreshServers } from './use-servers.ts';

/** The popup's window name: a second Connect reuses the same window instead of opening another. */
const POPUP_NAME = 'switchboard-oauth';
const POPUP_FEATURES = 'popup,width=520,height=720';
/** The channel the hub's OAuth result pages also announce on (for a flow opened in a plain tab). */
const CHANNEL_NAME = 'switchboard-oauth';
/** How often the flow's status is asked for while the sign-in is under way (the fallback to the message). */
const FLOW_POLL_MS = 1500;
/** How long to wait when the hub gives no timeout of its own. */
const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/** What the hub's `/oauth/success` and `/oauth/error` pages post to the page that opened them. */
export interface OAuthResultMessage {
  type: 'switchboard:oauth';
  ok: boolean;
  serverName: string | null;
  error: string | null;
}

/** True for a message of exactly that shape (anything else on the channel is ignored). */
export function isOAuthResultMessage(data: unknown): data is OAuthResultMessage {
  if (typeof data !== 'object' || data === null) return false;
  const record = data as Record<string, unknown>;
  return (
    record.type === 'switchboard:oauth' &&
    typeof record.ok === 'boolean' &&
    (record.serverName === null || typeof record.serverName === 'string') &&
    (record.error === null || typeof record.error === 'string')
  );
}

/** Plain words for the error words an OAuth sign-in can end with. */
const FLOW_ERRORS: Record<string, string> = {
  access_denied: 'You declined access at the sign-in page, or it refused the sign-in. Nothing was connected.',
  cancelled: 'The sign-in was cancelled. Nothing was connected.',
  csrf_validation_failed:
    'The sign-in finished in another browser or for another account, so the hub refused it. Try again here.',
  invalid_state: 'This sign-in had expired or was already used. Try again.',
  missing_state: 'The sign-in page sent the hub back an incomplete answer. Try again.',
  missing_code: 'The sign-in page sent the hub back an incomplete answer. Try again.',
  callback_failed: 'The sign-in could not be completed. Try again, or ask an administrator.',
  tokens_not_saved:
    'You signed in, but the hub could not save the sign-in yet. Press Try again in the sign-in window; you will not have to sign in again.',
  sign_in_interrupted: 'The hub restarted in the middle of this sign-in. Connect again to start a new one.',
  server_error: 'The sign-in page had a problem of its own. Try again later.',
  temporarily_unavailable: 'The sign-in page is busy. Try again later.',
  invalid_scope: 'The sign-in page refused the access this server asks for. Ask an administrator.',
  unauthorized_client: 'The sign-in page does not accept the hub for this server. Ask an administrator.',
};

/** A person's sentence for an OAuth error word (unknown words read as a generic failure). */
export function flowErrorText(code: string | null | undefined): string {
  if (code !== null && code !== undefined && Object.hasOwn(FLOW_ERRORS, code)) return FLOW_ERRORS[code] ?? '';
  return 'The sign-in failed. Try again.';
}

/** Where a Connect stands. */
export type ConnectPhase =
  | { kind: 'idle' }
  | { kind: 'starting' }
  /** Waiting for the sign-in; `fallbackUrl` is set when no popup could be opened (a link to click). */
  | { kind: 'waiting'; fallbackUrl: string | null }
  | { kind: 'connected'; message: string }
  | { kind: 'failed'; message: string }
  | { kind: 'closed' };

interface Waiting {
  flowId: string;
  popup: Window | null;
  deadline: number;
}

/** Writes a line into the still-blank popup, so the person sees something while the hub answers. */
function sayInPopup(popup: Window, text: string): void {
  try {
    popup.document.title = 'Signing in…';
    popup.document.body.textContent = text;
  } catch {
    // Not ours to write (it already went elsewhere): nothing to say.
  }
}

/**
 * Connects a server, signing in with OAuth in a popup when it needs it. `start` must run in the
 * click handler: the popup is opened there, blank, so no blocker stops it, and sent to the
 * authorization server once the hub has started the flow (and set the flow's binding cookie in this
 * browser). The outcome comes from the result page's message (same origin, right shape), else from
 * the flow's status, polled; a popup closed with the flow still pending says so.
 */
export function useOAuthConnect(serverName: string, serverTitle: string) {
  const { csrfToken, user } = useSession();
  const refresh = useRefreshServers();
  const [phase, setPhase] = useState<ConnectPhase>({ kind: 'idle' });
  const waiting = useRef<Waiting | null>(null);

  const settle = useCallback(
    (outcome: { ok: true } | { ok: false; error: string | null | undefined } | { closed: true }) => {
      const current = waiting.current;
      if (current === null) return;
      waiting.current = null;
      if (current.popup !== null && !current.popup.closed) current.popup.close();
      if ('closed' in outcome) setPhase({ kind: 'closed' });
      else if (outcome.ok)
        setPhase({ kind: 'connected', message: `Signed in. ${serverTitle} is authorized.` });
      else setPhase({ kind: 'failed', message: flowErrorText(outcome.error) });
      void refresh();
    },
    [refresh, serverTitle],
  );

  const starting = useRef(false);

  const start = useCallback(async () => {
    // A second click while signing in brings the sign-in window forward instead of starting again.
    if (waiting.current !== null) {
      waiting.current.popup?.focus();
      return;
    }
    if (starting.current) return;
    starting.current = true;
    const popup = window.open('', POPUP_NAME, POPUP_FEATURES);
    if (popup !== null) sayInPopup(popup, `Opening the sign-in page of ${serverTitle}…`);
    setPhase({ kind: 'starting' });
    try {
      const answer = await reinitialize(serverName, csrfToken);
      if (answer.oauthUrl === null) {
        popup?.close();
        setPhase(
          answer.success
            ? { kind: 'connected', message: `${serverTitle} is connected.` }
            : { kind: 'failed', message: answer.message },
        );
        void refresh();
        return;
      }
      const usable = popup !== null && !popup.closed ? popup : null;
      if (usable !== null) usable.location.href = answer.oauthUrl;
      waiting.current = {
        flowId: answer.flowId ?? `${user.id}:${serverName}`,
        popup: usable,
        deadline: Date.now() + (answer.oauthTimeout ?? DEFAULT_TIMEOUT_MS),
      };
      setPhase({ kind: 'waiting', fallbackUrl: usable === null ? answer.oauthUrl : null });
    } catch (error) {
      popup?.close();
      setPhase({ kind: 'failed', message: messageOf(error) });
    } finally {
      starting.current = false;
    }
  }, [csrfToken, refresh, serverName, serverTitle, user.id]);

  const cancel = useCallback(async () => {
    const current = waiting.current;
    if (current === null) return;
    try {
      await cancelFlow(serverName, csrfToken);
      settle({ ok: false, error: 'cancelled' });
    } catch (error) {
      setPhase({ kind: 'failed', message: messageOf(error) });
    }
  }, [csrfToken, serverName, settle]);

  const isWaiting = phase.kind === 'waiting';
  useEffect(() => {
    if (!isWaiting) return;
    const accept = (data: unknown) => {
      if (!isOAuthResultMessage(data)) return;
      if (data.serverName !== null && data.serverName !== serverName) return;
      settle(data.ok ? { ok: true } : { ok: false, error: data.error });
    };
    const onMessage = (event: MessageEvent) => {
      if (event.origin !== window.location.origin) return;
      const popup = waiting.current?.popup ?? null;
      if (popup !== null && event.source !== popup) return;
      accept(event.data);
    };
    window.addEventListener('message', onMessage);
    const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(CHANNEL_NAME) : null;
    channel?.addEventListener('message', (event: MessageEvent) => accept(event.data));

    let stopped = false;
    const fromStatus = (status: FlowStatus | null) => {
      if (status?.status === 'COMPLETED') settle({ ok: true });
      else if (status?.status === 'FAILED') settle({ ok: false, error: status.error });
    };
    const poll = async () => {
      const current = waiting.current;
      if (current === null || stopped) return;
      const closed = current.popup?.closed ?? false;
      const status = await getFlowStatus(current.flowId).catch(() => null);
      if (stopped) return;
      fromStatus(status);
      if (waiting.current === null) return;
      if (closed) settle({ closed: true });
      else if (Date.now() > current.deadline) settle({ ok: false, error: 'invalid_state' });
    };
    const timer = window.setInterval(() => void poll(), FLOW_POLL_MS);
    return () => {
      stopped = true;
      window.clearInterval(timer);
      window.removeEventListener('message', onMessage);
      channel?.close();
    };
  }, [isWaiting, serverName, settle]);

  return { phase, start, cancel };
}
