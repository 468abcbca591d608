import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';

/** The lists a downstream client can be told changed. */
export type ListKind = 'tools' | 'resources' | 'prompts';

/** The list requests of each kind: answering one makes the client's view current again. */
export const LIST_METHODS: Readonly<Record<string, ListKind>> = {
  'tools/list': 'tools',
  'resources/list': 'resources',
  'resources/templates/list': 'resources',
  'prompts/list': 'prompts',
};

/** How long changes are gathered before one notification goes out (its trailing edge). */
export const LIST_CHANGED_WINDOW_MS = 250;

interface KindState {
  /** The notification waiting for the window's end. */
  timer: NodeJS.Timeout | undefined;
  /** The client was told and has not listed since: its view is already known stale. */
  told: boolean;
}

/**
 * One downstream session's `notifications/{tools,resources,prompts}/list_changed`, coalesced: the
 * changes of a short window become one notification at its end, and once told, the client is not
 * told again until it lists that kind again (a list it fetches then is the current one, so telling
 * it twice adds nothing). An upstream that announces a change with every answer, or many
 * connections reopening at once, would otherwise flood every session of its users.
 */
export class ListChangedGate {
  private readonly kinds = new Map<ListKind, KindState>();
  private closed = false;

  constructor(
    private readonly send: (kind: ListKind) => Promise<void>,
    private readonly windowMs = LIST_CHANGED_WINDOW_MS,
  ) {}

  /** A list of `kind` may have changed. */
  changed(kind: ListKind): void {
    const state = this.stateOf(kind);
    if (this.closed || state.told || state.timer !== undefined) return;
    state.timer = setTimeout(() => {
      state.timer = undefined;
      if (this.closed) return;
      state.told = true;
      this.send(kind).catch(() => undefined); // a client that already left
    }, this.windowMs);
    state.timer.unref();
  }

  /** The client asked for a list of `kind`: the next change is worth telling. */
  listed(kind: ListKind): void {
    this.stateOf(kind).told = false;
  }

  /** The session ended: nothing more is sent. */
  close(): void {
    this.closed = true;
    for (const state of this.kinds.values()) clearTimeout(state.timer);
  }

  private stateOf(kind: ListKind): KindState {
    let state = this.kinds.get(kind);
    if (state === undefined) {
      state = { timer: undefined, told: false };
      this.kinds.set(kind, state);
    }
    return state;
  }
}

/**
 * Puts a session's list_changed notifications through a {@link ListChangedGate}, whoever sends
 * them (catalog announcements, upstream notifications, a server connected in a call), and lets the
 * list requests arriving on its transport reopen it. Call after `server.connect(transport)`, which
 * installs the handlers wrapped here.
 */
export function gateListChanged(server: Server, transport: Transport): ListChangedGate {
  const senders: Record<ListKind, () => Promise<void>> = {
    tools: server.sendToolListChanged.bind(server),
    resources: server.sendResourceListChanged.bind(server),
    prompts: server.sendPromptListChanged.bind(server),
  };
  const gate = new ListChangedGate((kind) => senders[kind]());
  server.sendToolListChanged = async () => gate.changed('tools');
  server.sendResourceListChanged = async () => gate.changed('resources');
  server.sendPromptListChanged = async () => gate.changed('prompts');
  const onmessage = transport.onmessage;
  transport.onmessage = (message, extra) => {
    const kind = 'method' in message ? LIST_METHODS[message.method] : undefined;
    if (kind !== undefined) gate.listed(kind);
    onmessage?.(message, extra);
  };
  const onclose = transport.onclose;
  transport.onclose = () => {
    gate.close();
    onclose?.();
  };
  return gate;
}
